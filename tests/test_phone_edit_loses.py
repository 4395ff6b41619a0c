"""An edit from a phone whose clock is behind the event's last change would lose to it (the newest
stamp wins a field: core/schedule.py), and the phone would say "Retitled." or "Cancelled." while
every screen keeps the old value.  Where NTP keeps the screen's clock the phone is measured by it
(tests/test_phone_publish.py); an offline screen cannot tell the time, but it can tell that an
edit would lose, and says so (node/phone_inbox.py)."""
import pytest

from test_phone_publish import GUEST, LOG, OPEN_VENUE, STEWARD, as_json, open_stage, post, refused, titles
from pandascreen.core import operation, schema
from pandascreen.node.program_page import ProgramPage, ProgramSource, store_schedule
from pandascreen.node.phone_inbox import PhoneInbox
from pandascreen.testing import festival as demofest


@pytest.fixture
def offline_stage():
    """The open stage's page on a screen whose clock no NTP keeps (it does not measure phones)."""
    store, a = open_stage()
    sched = store_schedule(store, LOG, authorizer=a)
    inbox = PhoneInbox(store, LOG, a, schedule=sched, clock=lambda: (demofest.DAY_START, False))
    page = ProgramPage(ProgramSource(sched, clock=lambda: demofest.DAY_START), "127.0.0.1", 0, inbox=inbox).start()
    try:
        yield page, store, a
    finally:
        page.stop()


def _signed_at(key, body, seconds):
    """``key``'s next operation, stamped ``seconds`` (its phone's clock) instead of the key's own clock."""
    prev = key.ops[-1] if key.ops else None
    op = operation.create(key.seed, body, len(key.ops), prev.hash if prev else None,
                          operation.Extensions(LOG, seconds * 1000000, False))
    key.ops.append(op)
    return op


def _event_id(name):
    return "%s/%s/%s" % (OPEN_VENUE, GUEST.hex, name)


def test_a_retitle_or_a_cancel_that_would_lose_is_refused_in_one_line_and_a_later_one_is_taken(offline_stage):
    page, store, a = offline_stage
    assert post(page, as_json(GUEST.event(OPEN_VENUE, "slot", "Juggling")))[0] == 200
    behind = demofest.DAY_START - 86400  # the same participant's other phone, a day behind
    for body in (schema.make_body("event", "update", _event_id("slot"), {"title": "Juggling, advanced"}),
                 schema.make_body("event", "delete", _event_id("slot"))):
        status, line = refused(page, store, as_json(_signed_at(GUEST, body, behind)))
        GUEST.ops.pop()
        assert (status, line) == (409, "your phone's clock is behind this event's last change: "
                                       "set it, then send again"), line
        assert titles(store, a) == ["Juggling"]
    later = schema.make_body("event", "update", _event_id("slot"), {"title": "Juggling, advanced"})
    assert post(page, as_json(_signed_at(GUEST, later, demofest.DAY_START + 600)))[0] == 200
    assert titles(store, a) == ["Juggling, advanced"]


def test_a_stewards_hide_from_a_phone_behind_still_hides(offline_stage):
    """A hide is final whatever its stamp (core/schedule.py ``HIDE_STAMP``): nothing to refuse."""
    page, store, a = offline_stage
    assert post(page, as_json(GUEST.event(OPEN_VENUE, "spam", "Spam")))[0] == 200
    hide = _signed_at(STEWARD, schema.make_body("event", "delete", _event_id("spam")), demofest.DAY_START - 86400)
    assert post(page, as_json(hide))[0] == 200 and titles(store, a) == []


def test_an_edit_of_a_field_the_last_change_left_is_taken(offline_stage):
    """Retitled from the participant's other phone, whose clock is an hour ahead; the cancel from
    the first phone a minute after the booking sets a field the retitle did not touch, so it wins
    that field on every screen: it is taken, not refused as "behind"."""
    page, store, a = offline_stage
    t0 = demofest.DAY_START
    create = schema.make_body("event", "create", _event_id("slot"),
                              {"venue": OPEN_VENUE, "title": "Juggling", "start": t0 + 7200, "end": t0 + 9000})
    assert post(page, as_json(_signed_at(GUEST, create, t0)))[0] == 200
    retitle = schema.make_body("event", "update", _event_id("slot"), {"title": "Juggling, advanced"})
    assert post(page, as_json(_signed_at(GUEST, retitle, t0 + 3600)))[0] == 200
    cancel = schema.make_body("event", "update", _event_id("slot"), {"status": "cancelled"})
    assert post(page, as_json(_signed_at(GUEST, cancel, t0 + 60)))[0] == 200
    from pandascreen.core.schedule import Schedule
    (ev,) = Schedule.from_store(store, LOG, authorizer=a).all_events()
    assert (ev.title, ev.status) == ("Juggling, advanced", "cancelled")
    # the title from that first phone would lose to the retitle: refused
    late = schema.make_body("event", "update", _event_id("slot"), {"title": "Juggling for all"})
    status, line = refused(page, store, as_json(_signed_at(GUEST, late, t0 + 120)))
    assert status == 409 and "behind this event's last change" in line
