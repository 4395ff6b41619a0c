"""serve's watch of the organiser's schedule file (pandascreen_host/serve.py ``Watcher``): an edit
made while serve starts (after its first import, before its loop watches) is imported, not lost."""

import argparse
import io
import os

from pandascreen_host import serve

CAMP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "frab_json_camp.json")


def test_an_edit_while_serve_starts_is_seen_by_the_watch(tmp_path):
    sched = tmp_path / "camp.json"
    text = open(CAMP, encoding="utf-8").read()
    sched.write_text(text)
    args = argparse.Namespace(watch=str(sched), key=str(tmp_path / "org.key"), store=str(tmp_path / "f.db"),
                              festival_id=None, timezone=None, span_from=None, span_until=None,
                              new_festival=False, keep_edits=False)
    serve._organiser_seed(args, io.StringIO(), io.StringIO())
    sched.write_text(text.replace('"title": "', '"title": "Edited ', 1))  # listeners start meanwhile
    seen = []
    now = [0.0]
    watcher = serve.Watcher(args.watch, lambda: seen.append(1), since=getattr(args, "watched_as", None),
                            clock=lambda: now[0])
    assert not watcher.check()  # seen; imported once it stays the same for SETTLE
    now[0] += serve.SETTLE
    assert watcher.check() and seen == [1]


def test_a_file_still_being_written_is_imported_once_it_stays_the_same(tmp_path):
    """scp, a browser's download or an editor's save write a file in pieces: the watch imported
    the first piece 50 ms after it saw it change (a CSV cut short deleted most of the program on
    every screen, the rest came back with the next piece).  It imports once the file has stayed
    the same for ``SETTLE`` seconds."""
    sched = tmp_path / "camp.json"
    text = open(CAMP, encoding="utf-8").read()
    sched.write_text(text)
    now = [100.0]
    seen = []
    watcher = serve.Watcher(str(sched), lambda: seen.append(sched.read_text()), clock=lambda: now[0])
    sched.write_text(text[:len(text) // 2])  # the first piece
    assert not watcher.check()
    now[0] += serve.SETTLE / 2
    os.utime(sched, ns=(1, 1))  # the next piece: another modification time
    sched.write_text(text.replace('"title": "', '"title": "Edited ', 1))
    assert not watcher.check()
    now[0] += serve.SETTLE * 0.9  # quiet, but not for SETTLE yet since the last piece
    assert not watcher.check() and seen == []
    now[0] += serve.SETTLE * 0.2
    assert watcher.check() and len(seen) == 1 and "Edited" in seen[0]
    now[0] += serve.SETTLE * 2
    assert not watcher.check() and len(seen) == 1  # imported once
