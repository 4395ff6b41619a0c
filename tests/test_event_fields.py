"""core/event_fields.py, the one list of event fields: schema, schedule, importers, layout, the
refresh key, preview and the console read it, and the satellite feed's fixed shape is held.

A new event field is one entry in that list (plus the importer of each format that has it and,
to draw it, core/layout.py's drawing); the first test adds one the way an edit would, before
anything else is imported, and follows it through every reader.
"""
import subprocess
import sys

from pandascreen.core import event_fields as ef
from pandascreen.core import feed, schema

NEW_FIELD = r'''
from pandascreen.core import event_fields as ef
ef.EVENT_FIELDS = ef.EVENT_FIELDS + (("room_note", ef.TEXT, 40, ("import", "view", "key", "console")),)

from pandascreen.core import layout, refresh, schema
from pandascreen.core.schedule import Schedule
from pandascreen_host import importers, preview
from pandascreen_host.console import state
from pandascreen_host.importers.common import Builder

body = schema.cbor.loads(schema.make_body("event", "create", "e1", {
    "venue": "v", "title": "Talk", "start": 0, "end": 3600, "room_note": "bring earplugs"}))
s = Schedule()
s.apply({"v": 1, "kind": "venue", "action": "create", "id": "v", "fields": {"name": "Hall"}}, 1, b"\x01")
s.apply(body, 2, b"\x02")
s.apply({"v": 1, "kind": "event", "action": "create", "id": "e2", "fields": {
    "venue": "v", "title": "Later", "start": 7200, "end": 9000}}, 3, b"\x03")
e1, e2 = s.all_events()
print("schedule", e1.room_note, "|", e2.room_note, "|")
view = layout.build_view(s, 0, 60)
print("view", view["now"]["room_note"], "|", view["next"]["room_note"], "|")
other = dict(view, now=dict(view["now"], room_note="quiet"))
print("key differs", refresh.content_key(view) != refresh.content_key(other))
print("import", "room_note" in importers.EVENT_FIELDS)
old = importers.from_schedule(s)
print("neutral", old["events"][0]["room_note"])
new = {"festival": None, "venues": old["venues"],
       "events": [dict(old["events"][0], room_note="no earplugs needed"), old["events"][1]]}
print("diff", importers.diff(old, new))
print("preview", preview.schedule_from_neutral(new).all_events()[0].room_note)
print("console", state.program_event(e1, 0)["room_note"])
b = Builder("x.xml")
b.event("e9", "Hall", "Talk", 0, 60, more={"room_note": "  " + "n" * 60 + " "})
print("cut", len(b.events[0]["room_note"]))
'''


def test_a_new_field_is_one_entry_in_the_list():
    out = subprocess.run([sys.executable, "-c", NEW_FIELD], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines == [
        "schedule bring earplugs |  |",
        "view bring earplugs |  |",
        "key differs True",
        "import True",
        "neutral bring earplugs",
        "diff [('event', 'update', 'e1', {'room_note': 'no earplugs needed'})]",
        "preview no earplugs needed",
        "console bring earplugs",
        "cut 40",
    ], out.stdout


def test_every_entry_is_complete():
    places = ("import", "view", "key", "console", "feed")
    names = [f[0] for f in ef.EVENT_FIELDS]
    assert len(names) == len(set(names))
    for name, kind_of, limit, where in ef.EVENT_FIELDS:
        assert kind_of in ef.EMPTY, name
        assert isinstance(limit, int) and limit >= 0, name
        assert limit > 0 or kind_of == ef.NUMBER, "%s: a text or list needs its limit" % name
        assert isinstance(where, tuple) and set(where) <= set(places), name
    assert schema.FIELDS["event"] == dict((f[0], f[1]) for f in ef.EVENT_FIELDS)


def test_the_feed_carries_exactly_its_fixed_four_items():
    """Deployed boards check a feed event item by item ([start, end, title, speakers]); a field
    marked "feed" without a new feed format would break every one of them."""
    derived = {"status", "_moved"}  # read from the title's CANCELLED:/MOVED: marker, not items of their own
    assert set(ef.event_fields("feed")) == set(feed.FeedEvent.__slots__) - derived == {"start", "end", "title",
                                                                                        "speakers"}


def test_the_view_and_the_refresh_key_read_the_list():
    from pandascreen.core import layout, refresh

    assert layout._VIEW_FIELDS == ef.event_fields("view")
    assert refresh.KEY_FIELDS == ef.event_fields("key")
