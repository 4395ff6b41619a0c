"""The console's times are the festival's local day and time (console/local_time.py), both in
the program it shows and in the move form, also for a festival that crosses a daylight saving
change (Europe/Berlin, night of 24/25 October 2026: 03:00 CEST becomes 02:00 CET)."""
import datetime
import json
from zoneinfo import ZoneInfo

import pytest

from pandascreen.core import auth, operation, schema
from pandascreen.core.crypto import public_key
from pandascreen.core.store import MemoryStore
from pandascreen_host.console import local_time
from pandascreen_host.console.edits import body_for
from pandascreen_host.console.state import Console
from pandascreen_host.importers.common import zone_offsets

BERLIN = ZoneInfo("Europe/Berlin")
ORG = bytes(range(100, 132))
FEST = "dstfest"
LOG = operation.log_id_for_festival(FEST)


def at(y, mo, d, h, mi):
    return int(datetime.datetime(y, mo, d, h, mi, tzinfo=BERLIN).timestamp())


SAT_2200 = at(2026, 10, 24, 22, 0)  # CEST, UTC+2
SUN_1000 = at(2026, 10, 25, 10, 0)  # CET, UTC+1


def dst_store():
    store = MemoryStore()
    auth.guard(store, auth.for_authors([public_key(ORG)]), LOG)
    bodies = [schema.make_body("festival", "create", FEST, {
        "name": "Herbstfest", "timezone": "Europe/Berlin", "utc_offset": 120,
        "utc_offsets": zone_offsets(BERLIN, SAT_2200, SUN_1000 + 3600),
        "start": SAT_2200, "end": SUN_1000 + 3600}),
        schema.make_body("venue", "create", "hall", {"name": "Hall", "order": 0}),
        schema.make_body("event", "create", "late", {"venue": "hall", "title": "Late set",
                                                      "start": SAT_2200, "end": SAT_2200 + 3600}),
        schema.make_body("event", "create", "brunch", {"venue": "hall", "title": "Brunch",
                                                        "start": SUN_1000, "end": SUN_1000 + 3600})]
    for i, body in enumerate(bodies):
        store.publish(ORG, body, LOG, SAT_2200 * 1000000 + i)
    return store


def console(store):
    return Console(store, LOG, MemoryStore(), None, public_key(ORG), FEST, clock=lambda: SAT_2200)


def move(form):
    sched = console(dst_store()).schedule()
    return schema.parse_body(body_for(sched, dict({"action": "move", "id": "late"}, **form)))["fields"]


def test_the_program_names_each_event_by_its_local_day_and_time_on_both_sides_of_the_change():
    state = console(dst_store()).snapshot()
    events = {e["id"]: e for v in state["program"] for e in v["events"]}
    assert (events["late"]["date"], events["late"]["day"], events["late"]["time"]) == ("2026-10-24", "Sat 24 Oct", "22:00-23:00")
    assert (events["brunch"]["date"], events["brunch"]["day"], events["brunch"]["time"]) == ("2026-10-25", "Sun 25 Oct", "10:00-11:00")
    assert state["days"] == [{"date": "2026-10-24", "label": "Sat 24 Oct"},
                             {"date": "2026-10-25", "label": "Sun 25 Oct"}]
    json.dumps(state)
    # the change log says when, with the day, in the festival's time
    assert [c["when"] for c in state["changes"]][-1] == "Sat 24 Oct 22:00"
    assert local_time.when(SUN_1000, console(dst_store()).schedule().zone()) == "Sun 25 Oct 10:00"


def test_a_move_takes_the_local_day_and_time_in_the_offset_that_holds_then():
    # Sunday 11:00 is CET (UTC+1): 10:00 UTC, not the 09:00 UTC the Saturday offset would give
    assert move({"day": "2026-10-25", "start": "11:00", "end": "12:30"}) == {
        "start": at(2026, 10, 25, 11, 0), "end": at(2026, 10, 25, 12, 30)}
    assert at(2026, 10, 25, 11, 0) % 86400 == 10 * 3600
    # an end before the start is the next morning: 23:30 Saturday to 04:00 Sunday is 5.5 h with the extra hour
    f = move({"day": "2026-10-24", "start": "23:30", "end": "04:00"})
    assert (f["start"], f["end"]) == (at(2026, 10, 24, 23, 30), at(2026, 10, 25, 4, 0))
    assert f["end"] - f["start"] == 4 * 3600 + 1800 + 3600
    # only the start given: the event keeps its length
    f = move({"day": "2026-10-25", "start": "09:00"})
    assert (f["start"], f["end"] - f["start"]) == (at(2026, 10, 25, 9, 0), 3600)
    # 02:30 that night happens twice: the first (still CEST)
    assert move({"day": "2026-10-25", "start": "02:30"})["start"] == at(2026, 10, 25, 0, 30) + 2 * 3600
    assert move({"day": "2026-10-25", "start": "02:30"})["start"] % 86400 == 30 * 60


def test_the_hour_the_clocks_skip_is_refused_in_one_line():
    spring = [0, 60, at(2026, 3, 29, 3, 0), 120]
    with pytest.raises(local_time.LocalTimeError) as e:
        local_time.to_epoch(datetime.date(2026, 3, 29), 2, 30, spring, "start")
    assert str(e.value) == ("the start 02:30 on Sun 29 Mar does not exist in the festival's time zone "
                            "(the clocks jump forward then)")
    assert local_time.to_epoch(datetime.date(2026, 3, 29), 3, 0, spring) == at(2026, 3, 29, 3, 0)


@pytest.mark.parametrize("form, words", [
    ({"day": "2026-10-24", "start": "25:00"}, "the start '25:00' is not a time like 14:30"),
    ({"day": "Saturday", "start": "10:00"}, "the day 'Saturday' is not a date like 2026-07-18"),
    ({"day": "2026-10-24", "start": "10:00", "end": "1784376000"}, "the end '1784376000' is not a time"),
    ({"day": "2026-10-24", "start": "22:00"}, "the move changes nothing"),
])
def test_a_bad_local_time_is_one_clear_line(form, words):
    with pytest.raises(Exception) as e:
        move(form)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_a_new_end_is_published_with_its_start_so_two_laptops_never_merge_into_an_end_before_the_start():
    """A moves the set to Sunday 10:00-11:00 on one laptop; B shortens the old one to end at
    22:30 on another.  Published as the field that changed alone, B's end merged (per field, the
    newer wins) with A's start: an event from 10:00 to 22:30 the night before, never shown as on.
    The time is one thing: a move that changes either end publishes both."""
    assert move({"day": "2026-10-24", "start": "22:00", "end": "22:30"}) == {
        "start": SAT_2200, "end": SAT_2200 + 1800}
    from pandascreen.core.schedule import Schedule
    sched = Schedule()
    laptop_a = move({"day": "2026-10-25", "start": "10:00", "end": "11:00"})
    laptop_b = move({"day": "2026-10-24", "start": "22:00", "end": "22:30"})
    for n, body in enumerate([schema.make_body("venue", "create", "hall", {"name": "Hall"}),
                              schema.make_body("event", "create", "late", {
            "venue": "hall", "title": "Late set", "start": SAT_2200, "end": SAT_2200 + 3600}),
            schema.make_body("event", "update", "late", laptop_a), schema.make_body("event", "update", "late", laptop_b)]):
        sched.apply(schema.parse_body(body), n + 1, bytes([n + 1]) * 32)
    (event,) = sched.all_events()
    assert (event.start, event.end) == (SAT_2200, SAT_2200 + 1800)
