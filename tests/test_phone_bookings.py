"""How much one participant may book through a screen's page (node/phone_inbox.py
``PHONE_BOOKINGS``): a member of an open stage had the quota of a program signing key (2,500
event creates), and one phone flooded every screen's page with 1,409 bookings in 4.6 s."""
import json

import pytest

from test_phone_publish import GUEST, LOG, NOW, OPEN_VENUE, ORGANISER, as_json, open_stage, post, refused, titles
from pandascreen.core import schema
from pandascreen.node.phone_inbox import PHONE_BOOKINGS, PhoneInbox
from pandascreen.node.program_page import ProgramPage, ProgramSource, store_schedule


@pytest.fixture
def clocked_stage():
    """The open stage's page with a screen clock at NOW (not NTP's: phones' stamps are not judged)."""
    store, a = open_stage()
    sched = store_schedule(store, LOG, authorizer=a)
    inbox = PhoneInbox(store, LOG, a, schedule=sched, clock=lambda: (NOW, False))
    page = ProgramPage(ProgramSource(sched, clock=lambda: NOW), "127.0.0.1", 0, inbox=inbox).start()
    try:
        yield page, store, a
    finally:
        page.stop()


def _book(page, key, name, **times):
    status, text = post(page, as_json(key.event(OPEN_VENUE, name, "Session " + name, **times)))
    assert status == 200, text
    return json.loads(text)["hash"]


def test_a_participant_books_up_to_the_limit_and_then_gets_one_line_in_the_festivals_language(clocked_stage):
    page, store, a = clocked_stage
    for i in range(PHONE_BOOKINGS):
        _book(page, GUEST, "s%d" % i)
    status, line = refused(page, store, as_json(GUEST.event(OPEN_VENUE, "one-more")))
    GUEST.ops.pop()
    assert status == 403 and line == ("you have %d sessions booked that have not ended: "
                                      "cancel one to book another" % PHONE_BOOKINGS), line
    assert len(titles(store, a)) == PHONE_BOOKINGS
    # an update of an id not on the program makes an event as a create does: counted alike
    sideways = schema.make_body("event", "update", "%s/%s/sideways" % (OPEN_VENUE, GUEST.hex),
                                {"venue": OPEN_VENUE, "title": "Sideways", "start": NOW + 3600, "end": NOW + 7200})
    status, line = refused(page, store, as_json(GUEST.sign(sideways)))
    GUEST.ops.pop()
    assert status == 403 and line.startswith("you have %d sessions booked" % PHONE_BOOKINGS), line
    # its own bookings may still change, and one cancelled (deleted) makes room
    assert post(page, as_json(GUEST.event(OPEN_VENUE, "s0", action="update", title="Renamed")))[0] == 200
    assert post(page, as_json(GUEST.event(OPEN_VENUE, "s1", action="delete")))[0] == 200
    _book(page, GUEST, "after-a-delete")
    assert "Session after-a-delete" in titles(store, a)


def test_sessions_that_have_ended_leave_room_and_the_organiser_is_never_limited(clocked_stage):
    page, store, a = clocked_stage
    for i in range(PHONE_BOOKINGS):
        _book(page, GUEST, "past%d" % i, start=NOW - 7200, end=NOW - 3600)
    _book(page, GUEST, "tonight")  # the ended ones do not count
    for i in range(PHONE_BOOKINGS + 1):
        _book(page, ORGANISER, "org%d" % i)
    assert len(titles(store, a)) == 2 * PHONE_BOOKINGS + 2


def test_the_limit_reads_in_german_too():
    store, a = open_stage()
    sched = store_schedule(store, LOG, authorizer=a)
    inbox = PhoneInbox(store, LOG, a, schedule=sched, language="de")
    for i in range(PHONE_BOOKINGS):
        inbox.submit(as_json(GUEST.event(OPEN_VENUE, "s%d" % i)).encode())
    from pandascreen.node.phone_inbox import Refusal
    with pytest.raises(Refusal) as e:
        inbox.submit(as_json(GUEST.event(OPEN_VENUE, "more")).encode())
    assert str(e.value) == "Du hast %d Veranstaltungen gebucht, die noch nicht vorbei sind: sag eine ab, um eine neue zu buchen" % PHONE_BOOKINGS


def test_a_phone_over_its_quota_or_the_size_limit_is_told_in_the_festivals_language():
    """The quota and the size limit reached phones in English ("body of 4233 bytes is over the 4096
    byte limit", "author 1a2b... is over its operations quota") on a German festival's page."""
    from pandascreen.node.phone_inbox import Refusal
    store, a = open_stage()
    inbox = PhoneInbox(store, LOG, a, schedule=store_schedule(store, LOG, authorizer=a), language="de")
    long = GUEST.event(OPEN_VENUE, "long", "\u00e9" * 1000, speakers=["\u00e9" * 1000])
    assert len(long.body) > 4096
    with pytest.raises(Refusal) as e:
        inbox.submit(as_json(long).encode())
    assert str(e.value) == "Das ist zu lang für eine Buchung (%d Bytes, höchstens 4096): kürz es" % len(long.body)
    GUEST.ops.pop()
    a.default_quota = (1 << 20, 3, 100)  # three operations for each member
    inbox.submit(as_json(GUEST.event(OPEN_VENUE, "a")).encode())
    for title in ("b", "c"):
        inbox.submit(as_json(GUEST.event(OPEN_VENUE, "a", action="update", title=title)).encode())
    with pytest.raises(Refusal) as e:
        inbox.submit(as_json(GUEST.event(OPEN_VENUE, "a", action="update", title="d")).encode())
    assert str(e.value) == "Du hast deinen Anteil am Programm aufgebraucht: bitte das Orga-Team, ihn zu erhöhen"
