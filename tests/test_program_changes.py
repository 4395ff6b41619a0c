"""What an entrance screen says when the program changes or is not on: cancelled events stay in
their slot marked cancelled, moved ones are marked moved, "Starts Fri 16:00" before the festival,
"See you next time!" after it, "Break until 15:15" in a gap; and bodies from a newer schema
(a field this firmware does not know) are still shown."""

import pytest

from pandascreen.core import layout, schema
from pandascreen.core.errors import SchemaError
from pandascreen.core.schedule import Schedule
from pandascreen.node import display, i18n

DAY = 1784376000  # 2026-07-18 12:00 UTC, a Saturday; the festival runs on UTC+2 (14:00 local)
OFFSET = 120


def _h(n):
    return bytes([n]) + bytes(31)


BODIES = [
    {"kind": "festival", "action": "create", "id": "pf", "fields": {"name": "Pandafest", "utc_offset": OFFSET}},
    {"kind": "venue", "action": "create", "id": "main", "fields": {"name": "Main Stage", "order": 0}},
    {"kind": "venue", "action": "create", "id": "lab", "fields": {"name": "Hack Lab", "order": 1}},
    {"kind": "event", "action": "create", "id": "e1", "fields": {
        "venue": "main", "title": "Opening", "start": DAY, "end": DAY + 3600}},
    {"kind": "event", "action": "create", "id": "e2", "fields": {
        "venue": "main", "title": "Peer-to-peer schedules", "start": DAY + 4500, "end": DAY + 7200,
        "speakers": ["Sam Panda"]}},
    {"kind": "event", "action": "create", "id": "e3", "fields": {
        "venue": "lab", "title": "Solder a badge", "start": DAY + 1800, "end": DAY + 5400}},
]


def program(*extra):
    """A small festival (two venues, three talks on Saturday afternoon), then ``extra`` bodies,
    each applied one second later than the one before."""
    s = Schedule()
    for i, body in enumerate(BODIES + list(extra)):
        body = dict(body, v=1)
        schema.validate(body)
        assert s.apply(body, 1000 + i, _h(i))
    return s


def update(doc_id, **fields):
    return {"kind": "event", "action": "update", "id": doc_id, "fields": fields}


# -- cancelled and moved -------------------------------------------------------------------------

def test_a_cancelled_event_stays_in_its_slot_and_says_so():
    s = program(update("e1", status=schema.CANCELLED))
    ev = [e for e in s.events("main") if e.id == "e1"][0]
    assert ev.status == schema.CANCELLED and not ev.moved()
    v = layout.build_view(s, 0, DAY + 600)
    assert v["now"]["title"] == "Opening" and v["now"]["status"] == layout.CANCELLED
    assert v["now"]["left"] == "cancelled"
    v = layout.build_view(s, 0, DAY - 600)
    assert v["next"]["title"] == "Opening" and v["next"]["in"] == "cancelled"
    # an update back to "" restores it (last writer wins, like every field)
    s2 = program(update("e1", status=schema.CANCELLED), update("e1", status=""))
    assert layout.build_view(s2, 0, DAY + 600)["now"]["left"] == "50m left"


def test_a_moved_event_is_marked_moved_in_any_delivery_order():
    moved = update("e2", start=DAY + 5400, end=DAY + 8100)
    s = program(moved)
    v = layout.build_view(s, 0, DAY + 4000)
    assert v["next"]["start"] == "15:30" and v["next"]["in"] == "moved" and v["next"]["status"] == layout.MOVED
    # the move applied before the creates (sync delivers in any order): still moved, same view
    late = Schedule()
    late.apply(dict(moved, v=1), 2000, _h(99))
    for i, body in enumerate(BODIES):
        late.apply(dict(body, v=1), 1000 + i, _h(i))
    assert [e.id for e in late.all_events() if e.moved()] == ["e2"]
    assert layout.build_view(late, 0, DAY + 4000)["next"] == v["next"]
    # a retitle is no move; neither is an event created once and never touched
    assert not [e for e in program(update("e2", title="New title")).all_events() if e.moved()]


def test_a_talk_moved_back_or_restored_in_its_slot_is_not_marked_moved():
    """Where a talk is is what the printed program says: moved by mistake and moved back, or deleted
    and created again in its slot, the screen draws it as if nothing happened."""
    e2 = BODIES[4]
    delete = {"kind": "event", "action": "delete", "id": "e2"}
    plain = layout.build_view(program(), 0, DAY + 4000)
    back = [update("e2", start=DAY + 5400, end=DAY + 8100), update("e2", start=DAY + 4500, end=DAY + 7200)]
    for extra in (back, [update("e2", venue="lab"), update("e2", venue="main")], [delete, e2]):
        s = program(*extra)
        assert not [e.id for e in s.all_events() if e.moved()], extra
        assert layout.build_view(s, 0, DAY + 4000) == plain
    # created again at another time, it moved: the program said otherwise
    again = dict(e2, fields=dict(e2["fields"], start=DAY + 5400, end=DAY + 8100))
    assert layout.build_view(program(delete, again), 0, DAY + 4000)["next"]["in"] == "moved"


def test_a_moved_talk_days_away_keeps_its_day():
    s = program(update("e2", start=DAY + 2 * 86400, end=DAY + 2 * 86400 + 1800))
    v = layout.build_view(s, 0, DAY + 4000)
    assert v["next"]["in"] == "Mon"  # not "moved": the day matters more, the time is the new one


def test_cancelled_is_drawn_struck_through_without_a_progress_bar():
    plain = display.render_view_image(layout.build_view(program(), 0, DAY + 600), "inky_what_400x300")
    gone = display.render_view_image(layout.build_view(program(update("e1", status=schema.CANCELLED)), 0, DAY + 600),
                                     "inky_what_400x300")
    assert plain.tobytes() != gone.tobytes()
    small = display.render_view_image(layout.build_view(program(update("e1", status=schema.CANCELLED)), 0,
                                                        DAY + 600), "ssd1306_128x64")
    plain_small = display.render_view_image(layout.build_view(program(), 0, DAY + 600), "ssd1306_128x64")
    # the time line: "14:00-15:00 [bar] 50m" becomes "14:00-15:00   cancelled"
    assert small.tobytes() != plain_small.tobytes()


# -- before, in a gap, after -------------------------------------------------------------------------

@pytest.mark.parametrize("now,said", [
    (DAY - 3600, "Starts 14:00"),                       # later today
    (DAY - 86400, "Starts tomorrow 14:00"),
    (DAY - 3 * 86400, "Starts Sat 14:00"),              # within the week: the weekday
    (DAY - 30 * 86400, "Starts in 30 days"),            # weeks ahead: how many days
])
def test_before_the_festival_the_screen_says_when_it_starts(now, said):
    v = layout.build_view(program(), 1, now)
    assert v["message"] == said
    assert v["next"]["title"] == "Solder a badge"  # and what comes first at this venue


def test_a_gap_says_when_the_next_begins_and_after_the_festival_it_says_goodbye():
    s = program()
    v = layout.build_view(s, 0, DAY + 3900)  # between Opening and the p2panda talk
    assert v["now"] is None and v["message"] == "Break until 15:15"
    v = layout.build_view(s, 0, DAY + 7200)  # the last talk anywhere has ended
    assert v["now"] is None and v["next"] is None and v["message"] == layout.CLOSED
    # the board's venues too, and only once everything everywhere has ended
    assert layout.build_view(s, 1, DAY + 5500)["message"] == layout.NO_MORE


def test_the_new_messages_in_german_french_and_12_hour_english():
    s = program(update("e1", status=schema.CANCELLED))
    de = i18n.translate(layout.build_view(s, 0, DAY - 3 * 86400), "de")
    assert de["message"] == "Beginnt Sa 14:00" and de["next"]["in"] == "abgesagt"
    fr = i18n.translate(layout.build_view(s, 0, DAY + 3900), "fr")
    assert fr["message"] == "Pause jusqu'à 15:15"
    us = i18n.translate(layout.build_view(s, 0, DAY - 86400), "en_US")
    assert us["message"] == "Starts tomorrow 2:00pm"
    assert i18n.translate(layout.build_view(s, 0, DAY + 7200), "de")["message"] == "Bis zum nächsten Mal!"
    assert i18n.translate(layout.build_view(s, 0, DAY + 600), "fr")["now"]["left"] == "annulé"
    moved = i18n.translate(layout.build_view(program(update("e2", start=DAY + 5400, end=DAY + 8100)), 0,
                                             DAY + 4000), "de")
    assert moved["next"]["in"] == "verlegt"
    assert i18n.translate(layout.build_view(s, 0, DAY - 9 * 86400), "fr")["message"] == "Commence dans 9 jours"


# -- a newer schema -----------------------------------------------------------------------------------

def test_a_field_this_firmware_does_not_know_is_ignored_not_the_whole_edit():
    """A laptop with newer software adds an optional field: older screens must still take the edit."""
    body = {"v": 1, "kind": "event", "action": "update", "id": "e2",
            "fields": {"title": "Retitled", "room_capacity": 120, "accessibility": ["ramp", "loop"]}}
    s = program(body)
    assert [e.title for e in s.events("main")] == ["Opening", "Retitled"]
    with pytest.raises(SchemaError, match="unknown event field 'room_capacity'"):
        schema.make_body("event", "update", "e2", {"room_capacity": 120})  # the laptop publishes known fields only


@pytest.mark.parametrize("fields,error", [
    ({"title": "x", "blob": "y" * (schema.MAX_TEXT_LEN + 1)}, "must hold short plain values"),
    ({"title": "x", "nested": {"a": 1}}, "must hold short plain values"),
    ({"title": "x", "many": list(range(schema.MAX_UNKNOWN + 1))}, "must hold short plain values"),
    ({"title": "x", "n" * (schema.MAX_ID_LEN + 1): 1}, "must hold short plain values"),
    (dict([("title", "x")] + [("f%d" % i, i) for i in range(schema.MAX_UNKNOWN + 1)]), "unknown event field 'f16'"),
    ({"status": 3}, "must be text"),  # a known field stays typed
])
def test_unknown_fields_are_bounded(fields, error):
    with pytest.raises(SchemaError, match=error):
        schema.validate({"v": 1, "kind": "event", "action": "update", "id": "e", "fields": fields})


def test_goldens_cancelled_and_moved_and_closed():
    """Pictures to look at: a cancelled talk on now, a moved one next (Inky wHAT, tricolour);
    the SSD1306 before the festival and after it."""
    import goldens
    cases = {
        "inky_what_cancelled_now_moved_next": (
            program(update("e1", status=schema.CANCELLED), update("e2", start=DAY + 5400, end=DAY + 8100)),
            0, DAY + 600, "inky_what_400x300"),
        "ssd1306_before_the_festival": (program(), 1, DAY - 3 * 86400, "ssd1306_128x64"),
        "ssd1306_after_the_festival": (program(), 0, DAY + 7200, "ssd1306_128x64"),
    }
    for name, (s, venue, now, kind) in sorted(cases.items()):
        goldens.check(display.render_view_image(layout.build_view(s, venue, now, "synced 13:59"), kind), name)
