"""What a running screen has loaded: the real ``pandascreen`` app (emulated display, its iroh node,
mDNS, the feed server and the program page), run as a process until everything it starts is up;
then its ``sys.modules`` is read in its process (``bench/idle.loaded_modules``, which the idle
bench's imports floor uses too).  Every module loaded stays in memory for the screen's life (an idle
Pi keeps it resident), so a module the screen does not need is memory spent on nothing, and a
package that is not one of the screen's own dependencies is missing on a Pi installed from its
bundle.  Run by test_screen_imports.py inside a loopback-only namespace; every wait is bounded."""
import importlib.metadata
import json
import os
import random
import re
import socket
import sys

import pytest

from pandascreen.bench import idle
from pandascreen.core import operation
from pandascreen.core.crypto import public_key
from pandascreen.node.sqlite_store import SqliteStore
from pandascreen.testing import festival

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORGANISER = bytes([41] * 32)

# Modules a screen never needs: the organiser's tools and their libraries, the installer (it runs
# before the screen, in its own process), the field test, the bench and the tests' fakes.
NOT_ON_A_SCREEN = ("pandascreen_host", "pandascreen.node.install", "pandascreen.node.fieldtest",
                   "pandascreen.node.netns", "pandascreen.bench", "pandascreen.testing", "pandascreen.demo",
                   "icalendar", "recurring_ical_events", "rich", "cbor2")

# Standard modules a screen once loaded for a call or two where a library it loads anyway does the
# same: hashlib's SHA-256 (it maps OpenSSL's digests in, about 0.6 MB) where libsodium's is loaded
# for the signatures; gzip where zlib compresses alike; html for its escape (its 2,000 entities).
DONE_BY_WHAT_IS_LOADED = ("hashlib", "_hashlib", "gzip", "html")

# TLS nobody on a screen speaks from Python (iroh's QUIC does its own, in Rust; the program page and
# the satellite feed are plain HTTP on the LAN): asyncio imports ssl only in case, and with it
# OpenSSL's libssl and libcrypto, about 4 MB (node/lean_process.py).
NO_TLS = ("ssl", "_ssl")

# distributions a development venv loads by itself (setuptools' distutils hack, from site.py)
NOT_THE_SCREENS = {"setuptools"}


def _free_ports(n):
    """``n`` distinct port numbers, each free for TCP and UDP (iroh and the plain-TCP sync share
    ``listen_port``), below the kernel's ephemeral range: a port picked from that range could be
    taken before the screen binds it, as the source port of a connection or by a bind to port 0
    (a screen's own start once took its feed port so)."""
    ephemeral = _ephemeral_from()
    rng = random.Random()
    ports = []
    for _ in range(200):
        port = rng.randrange(10000, ephemeral)
        if port not in ports and _free(port):
            ports.append(port)
            if len(ports) == n:
                return ports
    raise RuntimeError("no %d free ports below %d" % (n, ephemeral))


def _ephemeral_from():
    """The first port of the kernel's ephemeral range."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as fh:
        return int(fh.read().split()[0])


def _free(port):
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t, \
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            t.bind(("0.0.0.0", port))
            u.bind(("0.0.0.0", port))
    except OSError:
        return False
    return True


def _requirement_name(line):
    return re.split(r"[\s;<>=!~\[(]", line.strip(), maxsplit=1)[0].lower().replace("_", "-")


def runtime_distributions():
    """pandascreen's runtime dependencies (pyproject ``dependencies``, no extras) and what they
    require in turn, as installed here: the distributions a Pi's bundle holds."""
    todo = [_requirement_name(r) for r in importlib.metadata.requires("pandascreen") or () if "extra ==" not in r]
    seen = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            reqs = importlib.metadata.requires(name) or ()
        except importlib.metadata.PackageNotFoundError:
            continue
        todo += [_requirement_name(r) for r in reqs if "extra ==" not in r and _applies(r)]
    return seen


def _applies(requirement):
    marker = requirement.partition(";")[2].strip()
    if not marker:
        return True
    try:
        from packaging.markers import Marker
    except ImportError:  # without packaging: count it (a wider set only lets more pass)
        return True
    return Marker(marker).evaluate()


@pytest.fixture(scope="module")
def running_screen(tmp_path_factory):
    """``{"modules": [...], "threads": [...]}`` of a screen that started everything it runs."""
    tmp = tmp_path_factory.mktemp("screen")
    log_id = operation.log_id_for_festival(festival.FESTIVAL_ID)
    with SqliteStore(str(tmp / "festival.db")) as store:
        festival.publish(store, ORGANISER, log_id)
    key = tmp / "device.key"
    fd = os.open(str(key), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, bytes([42] * 32))
    os.close(fd)
    listen, feed, page = _free_ports(3)
    cfg = {"festival_id": festival.FESTIVAL_ID, "organisers": [public_key(ORGANISER).hex()], "peers": [],
           "display": "ssd1306_128x64", "store": "festival.db", "key": "device.key", "listen_port": listen,
           "feed_port": feed, "program_page_port": page, "oled_care": False}
    (tmp / "config.json").write_text(json.dumps(cfg))
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "firmware"))
    loaded = idle.loaded_modules(str(tmp / "config.json"), str(tmp / "screen.png"), env=env)
    assert loaded["modules"] is not None, "the screen did not come up: %s" % loaded["error"]
    assert "pandascreen-iroh" in loaded["threads"] and "pandascreen-discovery" in loaded["threads"], loaded["threads"]
    return loaded


def test_a_running_screen_loads_nothing_of_the_organisers_tools_the_installer_or_the_bench(running_screen):
    loaded = running_screen["modules"]
    wrong = sorted(m for m in loaded for name in NOT_ON_A_SCREEN if m == name or m.startswith(name + "."))
    assert wrong == [], wrong


def test_a_running_screen_does_not_load_what_a_library_it_loads_anyway_does_as_well(running_screen):
    loaded = running_screen["modules"]
    wrong = sorted(m for m in loaded for name in DONE_BY_WHAT_IS_LOADED if m == name or m.startswith(name + "."))
    assert wrong == [], wrong


def test_a_running_screen_loads_no_tls(running_screen):
    loaded = running_screen["modules"]
    assert sorted(m for m in NO_TLS if m in loaded) == []


def test_every_package_a_running_screen_loads_is_one_of_its_runtime_dependencies(running_screen):
    """A package of the dev or host extras only is missing on a Pi: the bundle carries the runtime
    dependencies only (node/install.py)."""
    owners = importlib.metadata.packages_distributions()
    allowed = runtime_distributions() | NOT_THE_SCREENS
    tops = {m.split(".")[0] for m in running_screen["modules"]}
    third = {t for t in tops if t not in sys.stdlib_module_names and not t.startswith("pandascreen")}
    wrong = sorted("%s (%s)" % (t, ", ".join(owners[t])) for t in third if t in owners
                   and not {d.lower().replace("_", "-") for d in owners[t]} & allowed)
    assert wrong == [], wrong


def test_the_ports_a_screen_is_given_are_distinct_and_below_the_ephemeral_range():
    ephemeral = _ephemeral_from()
    for _ in range(20):
        ports = _free_ports(3)
        assert len(set(ports)) == 3 and all(p < ephemeral for p in ports), ports
