"""`pandascreen-host serve --program-page` as a real process (run by test_program_page.py inside
a loopback-only namespace, since serve starts an iroh endpoint): the phones' page answers with
the imported festival, and a re-import of the watched file reaches it."""
import signal
import time
import urllib.request

from iroh_serve_cases import CAMP, _serve, _until


def _page(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode("utf-8")


def test_serve_program_page_shows_the_festival_and_a_reimport(tmp_path):
    sched = tmp_path / "camp.json"
    text = open(CAMP, encoding="utf-8").read()
    sched.write_text(text)
    p, lines = _serve(tmp_path, "--watch", str(sched), "--no-mdns", "--program-page", "127.0.0.1:0")
    try:
        line, _ = _until(lines, lambda l: l.startswith("listening: program page for phones at "))
        url = line.rsplit(" ", 1)[1]
        page = _page(url)
        assert "<h1>Sloth Camp 2031</h1>" in page and "Program</h2>" in page
        first = text.split('"title": "', 3)[2].split('"')[0]  # the first event's title
        assert first in page
        sched.write_text(text.replace('"title": "%s"' % first, '"title": "Renamed On The Laptop"', 1))
        _until(lines, lambda l: "changed: importing" in l)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and "Renamed On The Laptop" not in page:
            time.sleep(0.2)
            page = _page(url)
        assert "Renamed On The Laptop" in page
    finally:
        p.send_signal(signal.SIGINT)
        assert p.wait(10) == 0
