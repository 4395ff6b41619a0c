"""`pandascreen-host serve --program-page` as a real process (run by test_program_page.py inside
a loopback-only namespace, since serve starts an iroh endpoint): the phones' page answers with
the imported festival, and a re-import of the watched file reaches it."""
import contextlib
import signal
import time
import urllib.request

from iroh_serve_cases import CAMP, _serve, _until


def _page(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode("utf-8")


@contextlib.contextmanager
def _serving(tmp_path, bind, text=None):
    """serve watching camp.json (``text``, else the Sloth Camp file) with its program page at
    ``bind``; yields (the file, the page's address as serve says it, serve's output lines)."""
    sched = tmp_path / "camp.json"
    sched.write_text(text if text is not None else open(CAMP, encoding="utf-8").read())
    p, lines = _serve(tmp_path, "--watch", str(sched), "--no-mdns", "--program-page", bind)
    try:
        line, _ = _until(lines, lambda l: l.startswith("listening: program page for phones at "))
        yield sched, line.rsplit(" ", 1)[1], lines
    finally:
        p.send_signal(signal.SIGINT)
        assert p.wait(10) == 0


def test_serve_program_page_shows_the_festival_and_a_reimport(tmp_path):
    text = open(CAMP, encoding="utf-8").read()
    with _serving(tmp_path, "127.0.0.1:0", text) as (sched, url, lines):
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


def test_serve_program_page_of_a_curated_festival_is_read_only_and_says_so_in_one_line(tmp_path):
    import http.client
    with _serving(tmp_path, "127.0.0.1:0") as (_, url, _):
        page = _page(url)
        assert 'id="stage"' not in page and "stage.js" not in page  # no publishing form
        host, port = url.split("//", 1)[1].rstrip("/").rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            conn.request("POST", "/publish", body=b'{"header": "00"}', headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            got = (r.status, r.read().decode("utf-8"))
        finally:
            conn.close()
        assert got == (403, "this festival's program is curated: ask an organiser to publish it\n")


def test_serve_on_every_address_names_the_page_by_the_laptops_mdns_name_which_phones_can_reach(tmp_path):
    import socket
    with _serving(tmp_path, ":0") as (_, url, _):
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        assert url == "http://%s.local:%d/" % (socket.gethostname().split(".")[0], port)
        assert "<h1>Sloth Camp 2031</h1>" in _page("http://127.0.0.1:%d/" % port)  # and it listens everywhere
