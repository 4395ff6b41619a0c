"""What `make demo`, `make test` and `make bench` build before they run, on a fresh clone."""
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("target", ["demo", "test", "bench"])
def test_each_command_builds_the_phones_signing_code_it_serves(target):
    """The phone's publish.js is a build product (browser/README.md), not committed: a screen's
    program page serves it, so every command that starts a screen builds it first.  `make bench`
    on a fresh clone stopped in its page section when it did not."""
    proc = subprocess.run(["make", "-n", "-W", "browser/publish.js", target], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "npm run build --prefix browser" in proc.stdout, proc.stdout
