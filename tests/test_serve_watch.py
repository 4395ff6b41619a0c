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
    watcher = serve.Watcher(args.watch, lambda: seen.append(1), since=getattr(args, "watched_as", None))
    assert watcher.check() and seen == [1]
