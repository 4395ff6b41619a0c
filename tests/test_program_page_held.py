"""What a program page holds between requests: its program once, gzipped (the form nearly every
phone asks for), not the page and its main part as plain HTML besides (at 20,000 events that is
3.8 MB of an idle screen's memory for a page no phone may ever load).  A phone that does not
accept gzip still gets the plain page (tests/test_program_page.py)."""
import gc
import gzip
import urllib.request

from pandascreen.node.program_page import ProgramPage, ProgramSource, store_schedule
from pandascreen.testing.clock import Clock
from test_program_page import LOG, NOW, festival

PROGRAM = b'id="program"'  # in the whole page and in its main part, never in a static file


def held_bytes(root):
    """Every bytes object reachable from ``root`` through the page's own objects (its attributes,
    tuples, lists and dicts), not through the schedule, the server or its threads."""
    seen, todo, out = set(), [root], []
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, bytes):
            out.append(obj)
        elif isinstance(obj, (tuple, list, dict)) or type(obj) in (ProgramPage, ProgramSource):
            todo.extend(gc.get_referents(obj))
    return out


def test_a_program_page_holds_its_program_once_and_gzipped():
    page = ProgramPage(ProgramSource(store_schedule(festival(), LOG), clock=Clock(NOW)), "127.0.0.1", 0).start()
    try:
        req = urllib.request.Request(page.url, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert PROGRAM in gzip.decompress(r.read())
        with urllib.request.urlopen(page.url, timeout=10) as r:  # and plain, to a phone without gzip
            assert PROGRAM in r.read()
        held = held_bytes(page)
        assert [b for b in held if PROGRAM in b] == []
        packed = [b for b in held if b[:2] == b"\x1f\x8b" and PROGRAM in gzip.decompress(b)]
        assert len(packed) == 2  # the whole page and its main part (what page.js fetches)
    finally:
        page.stop()
