"""How much one participant may book through a screen's page (node/phone_inbox.py
``PHONE_BOOKINGS``): a member of an open stage had the quota of a program signing key (2,500
event creates), and one phone flooded every screen's page with 1,409 bookings in 4.6 s."""
import json
from types import SimpleNamespace

import pytest

from test_phone_publish import GUEST, LOG, NOW, OPEN_VENUE, ORGANISER, as_json, open_stage, post, refused, titles
from pandascreen.core import schema
from pandascreen.node.phone_inbox import PHONE_BOOKINGS, PhoneInbox, Refusal
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
    assert status == 403 and line == ("you have %d sessions still to come or begun within a day: "
                                      "an organiser can book more" % PHONE_BOOKINGS), line
    assert len(titles(store, a)) == PHONE_BOOKINGS
    # an update of an id not on the program makes an event as a create does: counted alike
    sideways = schema.make_body("event", "update", "%s/%s/sideways" % (OPEN_VENUE, GUEST.hex),
                                {"venue": OPEN_VENUE, "title": "Sideways", "start": NOW + 3600, "end": NOW + 7200})
    status, line = refused(page, store, as_json(GUEST.sign(sideways)))
    GUEST.ops.pop()
    assert status == 403 and line.startswith("you have %d sessions still to come" % PHONE_BOOKINGS), line
    # its own bookings may still change; one cancelled as the page cancels (its status) stays on the
    # program, marked so, and still counts; one deleted makes room
    assert post(page, as_json(GUEST.event(OPEN_VENUE, "s0", action="update", title="Renamed")))[0] == 200
    cancel = schema.make_body("event", "update", "%s/%s/s2" % (OPEN_VENUE, GUEST.hex), {"status": "cancelled"})
    assert post(page, as_json(GUEST.sign(cancel)))[0] == 200
    assert refused(page, store, as_json(GUEST.event(OPEN_VENUE, "after-a-cancel")))[0] == 403
    GUEST.ops.pop()
    assert post(page, as_json(GUEST.event(OPEN_VENUE, "s1", action="delete")))[0] == 200
    _book(page, GUEST, "after-a-delete")
    assert "Session after-a-delete" in titles(store, a)


def test_sessions_over_for_a_day_leave_room_and_the_organiser_is_never_limited(clocked_stage):
    page, store, a = clocked_stage
    for i in range(PHONE_BOOKINGS):
        _book(page, GUEST, "s%d" % i, start=NOW + 60, end=NOW + 120)
    page.inbox.clock = lambda: (NOW + 60 + 86400, False)  # over, and a day after they began
    _book(page, GUEST, "tomorrow", start=NOW + 90000, end=NOW + 93600)  # those do not count
    for i in range(PHONE_BOOKINGS + 1):
        _book(page, ORGANISER, "org%d" % i)
    assert len(titles(store, a)) == 2 * PHONE_BOOKINGS + 2


def test_a_booking_or_a_move_into_the_past_is_refused_so_ended_sessions_cannot_flood_the_page(clocked_stage):
    """Ended sessions do not count, and the page lists the whole program: bookings dated an hour
    ago (100 of them) and bookings moved to a second ago (then 20 more, and again) all landed."""
    page, store, a = clocked_stage
    status, line = refused(page, store, as_json(GUEST.event(OPEN_VENUE, "old", start=NOW - 7200, end=NOW - 60)))
    GUEST.ops.pop()
    assert (status, line) == (400, "this time is over: choose a time still to come")
    _book(page, GUEST, "s")
    for fields in ({"start": NOW - 2, "end": NOW - 1}, {"start": NOW - 7200, "end": NOW}):
        status, line = refused(page, store, as_json(GUEST.event(OPEN_VENUE, "s", action="update", title="Session s",
                                                                **fields)))
        GUEST.ops.pop()
        assert (status, line) == (400, "this time is over: choose a time still to come"), fields
    # running now and ending later, or a retitle of one that ended: taken
    assert post(page, as_json(GUEST.event(OPEN_VENUE, "s", action="update", title="Now", start=NOW - 60)))[0] == 200


def test_a_burst_faster_than_the_screens_loop_is_counted():
    """On a screen the inbox counts in the controller's schedule, which takes a stored operation in
    at the loop's next turn: 60 bookings sent before it were all taken."""
    from pandascreen.node.program_page import inbox_for_screen
    store, a = open_stage()
    device = _screen(store)
    inbox = inbox_for_screen(device)
    for i in range(PHONE_BOOKINGS):
        inbox.submit(as_json(GUEST.event(OPEN_VENUE, "burst%d" % i)).encode())
    with pytest.raises(Refusal):
        inbox.submit(as_json(GUEST.event(OPEN_VENUE, "one-more")).encode())
    GUEST.ops.pop()
    device.controller.refresh()  # the loop's turn: the schedule holds them now, and counts them alike
    with pytest.raises(Refusal):
        inbox.submit(as_json(GUEST.event(OPEN_VENUE, "one-more")).encode())
    assert len(titles(store, a)) == PHONE_BOOKINGS


def test_a_steward_is_limited_in_its_own_venue_too():
    """Any member may make a venue and steward it: were stewards unlimited there, one phone could
    flood every screen's page through a venue of its own.  An organiser books a bigger program."""
    from test_phone_publish import STEWARD
    store, a = open_stage()
    inbox = PhoneInbox(store, LOG, a, schedule=store_schedule(store, LOG, authorizer=a), clock=lambda: (NOW, False))
    for i in range(PHONE_BOOKINGS):
        inbox.submit(as_json(STEWARD.event(OPEN_VENUE, "talk%d" % i)).encode())
    with pytest.raises(Refusal):
        inbox.submit(as_json(STEWARD.event(OPEN_VENUE, "talk-last")).encode())


def test_the_limit_reads_in_german_too():
    store, a = open_stage()
    sched = store_schedule(store, LOG, authorizer=a)
    inbox = PhoneInbox(store, LOG, a, schedule=sched, language="de")
    for i in range(PHONE_BOOKINGS):
        inbox.submit(as_json(GUEST.event(OPEN_VENUE, "s%d" % i)).encode())
    with pytest.raises(Refusal) as e:
        inbox.submit(as_json(GUEST.event(OPEN_VENUE, "more")).encode())
    assert str(e.value) == ("Du hast %d Veranstaltungen, die noch kommen oder vor weniger als einem Tag begonnen "
                            "haben: das Orga-Team kann mehr eintragen" % PHONE_BOOKINGS)


def test_a_phone_over_its_quota_or_the_size_limit_is_told_in_the_festivals_language():
    """The quota and the size limit reached phones in English ("body of 4233 bytes is over the 4096
    byte limit", "author 1a2b... is over its operations quota") on a German festival's page."""
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


def test_a_new_booking_without_a_time_is_refused(clocked_stage):
    """An update of an id not on the program makes an event; one carrying a title alone made a
    session in 1970 (no start), which neither counted as booked nor was over."""
    page, store, a = clocked_stage
    body = schema.make_body("event", "update", "%s/%s/timeless" % (OPEN_VENUE, GUEST.hex),
                            {"venue": OPEN_VENUE, "title": "Timeless"})
    status, line = refused(page, store, as_json(GUEST.sign(body)))
    assert (status, line) == (400, "a booking needs its start and end")


def _screen(store, raw=NOW, saved=None):
    """What ``program_page.inbox_for_screen`` reads of a screen: its controller, lock and clocks
    (``shown_time`` as node/app.py ``Device``'s)."""
    import threading
    from pandascreen.core.controller import Controller
    from pandascreen.testing import festival as demofest
    device = SimpleNamespace(_lock=threading.RLock(), clock=lambda: raw, clock_synced=lambda: False)
    device.controller = Controller({"festival_id": demofest.FESTIVAL_ID, "organiser_keys": [ORGANISER.key],
                                    "festival_mode": "self-organised"}, store, clock=lambda: raw,
                                   load_time=None if saved is None else (lambda: saved))
    device.shown_time = lambda: device.controller.screen_time(device.clock())
    return device


def test_sessions_started_in_the_past_or_ending_a_second_on_cannot_flood_the_page():
    """A booking that began a year ago and ends a second from now counted for a second, and stayed
    on the program (listed on a week of days): 200 from one phone in ten seconds.  A start set
    through the page lies at most five minutes back, and a session counts until a day after it
    began, ended or not."""
    store, a = open_stage()
    t = [NOW]
    inbox = PhoneInbox(store, LOG, a, schedule=store_schedule(store, LOG, authorizer=a), clock=lambda: (t[0], False))
    with pytest.raises(Refusal, match="this time is over"):
        inbox.submit(as_json(GUEST.event(OPEN_VENUE, "year", start=NOW - 365 * 86400, end=NOW + 1)).encode())
    GUEST.ops.pop()
    taken = 0
    for n in range(3 * PHONE_BOOKINGS):
        try:
            inbox.submit(as_json(GUEST.event(OPEN_VENUE, "f%d" % n, start=t[0], end=t[0] + 1)).encode())
            taken += 1
        except Refusal:
            GUEST.ops.pop()
        t[0] += 1
    assert taken == PHONE_BOOKINGS
    t[0] += 86400
    inbox.submit(as_json(GUEST.event(OPEN_VENUE, "next-day", start=t[0], end=t[0] + 3600)).encode())


def test_a_burst_of_deleted_ids_booked_again_is_counted():
    """The inbox forgot a booking it stored once its id was in the schedule at all, a deleted one
    too: 20 deleted, then 40 booked in one burst (those ids again and 20 new), all taken."""
    from pandascreen.node.program_page import inbox_for_screen
    store, a = open_stage()
    device = _screen(store)
    inbox = inbox_for_screen(device)
    for i in range(PHONE_BOOKINGS):
        inbox.submit(as_json(GUEST.event(OPEN_VENUE, "s%d" % i)).encode())
    for i in range(PHONE_BOOKINGS):
        inbox.submit(as_json(GUEST.event(OPEN_VENUE, "s%d" % i, action="delete")).encode())
    device.controller.refresh()  # the loop's turn: 20 deleted documents, none on the program
    taken = 0
    for name in ["s%d" % i for i in range(PHONE_BOOKINGS)] + ["n%d" % i for i in range(PHONE_BOOKINGS)]:
        try:
            inbox.submit(as_json(GUEST.event(OPEN_VENUE, name)).encode())
            taken += 1
        except Refusal:
            GUEST.ops.pop()
    assert taken == PHONE_BOOKINGS


def test_a_screen_judges_bookings_by_the_time_it_shows():
    """Offline after a power cut the system clock may be weeks behind while the screen and its page
    show the time the clock rule vouches for: the inbox took a booking that ended an hour before."""
    from pandascreen.node.program_page import inbox_for_screen
    store, a = open_stage()
    device = _screen(store, raw=NOW - 30 * 86400, saved=NOW)
    assert device.controller.screen_time(device.clock())[0] >= NOW
    with pytest.raises(Refusal, match="this time is over"):
        inbox_for_screen(device).submit(as_json(GUEST.event(OPEN_VENUE, "past", start=NOW - 7200,
                                                            end=NOW - 3600)).encode())


def test_an_organiser_mends_a_past_session_and_a_participant_ends_one_now(clocked_stage):
    page, store, a = clocked_stage
    assert post(page, as_json(ORGANISER.event(OPEN_VENUE, "old", start=NOW - 7200, end=NOW - 3600)))[0] == 200
    _book(page, GUEST, "running", start=NOW, end=NOW + 3600)
    assert post(page, as_json(GUEST.event(OPEN_VENUE, "running", action="update", title="Session running",
                                          end=NOW)))[0] == 200


def test_a_session_booked_through_the_page_lasts_at_most_a_day(clocked_stage):
    """A booking from now to a year on stayed "to come" for a year, and made every look for the
    venue's talk on now scan back a year of its events (core/schedule.py ``now_next``)."""
    page, store, a = clocked_stage
    status, line = refused(page, store, as_json(GUEST.event(OPEN_VENUE, "year", start=NOW, end=NOW + 365 * 86400)))
    GUEST.ops.pop()
    assert (status, line) == (400, "a session lasts at most 24 hours")
    _book(page, GUEST, "day", start=NOW, end=NOW + 86400)
    status, line = refused(page, store, as_json(GUEST.event(OPEN_VENUE, "day", action="update", title="Session day",
                                                            end=NOW + 86401)))
    assert (status, line) == (400, "a session lasts at most 24 hours")
    assert post(page, as_json(ORGANISER.event(OPEN_VENUE, "expo", start=NOW, end=NOW + 3 * 86400)))[0] == 200


def _signed_at(key, body, seconds):
    """``key``'s next operation stamped at ``seconds`` (its phone's clock)."""
    from pandascreen.core import operation
    prev = key.ops[-1] if key.ops else None
    op = operation.create(key.seed, body, len(key.ops), prev.hash if prev else None,
                          operation.Extensions(LOG, int(seconds * 1000000), False))
    key.ops.append(op)
    return op


def test_a_delete_stamped_before_its_booking_does_not_make_room():
    """Within one turn of the screen's loop a phone booked, then deleted each booking with a delete
    stamped before it: stored, and losing (the booking stays), it made the inbox forget the
    booking: 100 sessions of one phone after the loop's turn."""
    from pandascreen.node.program_page import inbox_for_screen
    store, a = open_stage()
    device = _screen(store)
    inbox = inbox_for_screen(device)
    taken = 0
    for i in range(3 * PHONE_BOOKINGS):
        eid = "%s/%s/b%d" % (OPEN_VENUE, GUEST.hex, i)
        at = NOW + 10 * i
        try:
            inbox.submit(as_json(_signed_at(GUEST, schema.make_body("event", "create", eid, {
                "venue": OPEN_VENUE, "title": "Spam", "start": NOW + 3600, "end": NOW + 7200}), at + 1e-6)).encode())
            taken += 1
        except Refusal:
            GUEST.ops.pop()
            continue
        inbox.submit(as_json(_signed_at(GUEST, schema.make_body("event", "delete", eid), at)).encode())
    device.controller.refresh()
    assert taken == PHONE_BOOKINGS
    assert len([e for e in device.controller.schedule.all_events() if GUEST.hex in e.id]) == PHONE_BOOKINGS


def test_a_phone_a_few_minutes_slow_books_a_session_starting_now():
    """Phones within ten minutes of an NTP screen's clock are taken; one eight minutes slow booking
    from its current minute was refused as "over"."""
    store, a = open_stage()
    inbox = PhoneInbox(store, LOG, a, schedule=store_schedule(store, LOG, authorizer=a), clock=lambda: (NOW, True))
    slow = NOW - 8 * 60
    body = schema.make_body("event", "create", "%s/%s/now" % (OPEN_VENUE, GUEST.hex),
                            {"venue": OPEN_VENUE, "title": "Now", "start": slow - slow % 60, "end": slow + 1800})
    assert inbox.submit(as_json(_signed_at(GUEST, body, slow)).encode())


def test_a_members_phone_clock_ahead_moves_no_screens_time_and_refuses_no_one():
    """Offline, in a self-organised festival, a member's phone eleven hours ahead booked a session:
    the clock rule took the member's stamp as a witness, every screen showed the program eleven
    hours on, and another member's honest booking in half an hour was refused as "over".  A
    phone's stamp is no witness of the time; the organisers' are."""
    from pandascreen.node.program_page import inbox_for_screen
    from test_phone_publish import STEWARD
    store, a = open_stage()
    device = _screen(store)
    inbox = inbox_for_screen(device)
    before = device.controller.screen_time(NOW)
    ahead = NOW + 11 * 3600
    far = schema.make_body("event", "create", "%s/%s/f" % (OPEN_VENUE, GUEST.hex),
                           {"venue": OPEN_VENUE, "title": "From the future", "start": ahead + 600, "end": ahead + 4200})
    inbox.submit(as_json(_signed_at(GUEST, far, ahead)).encode())
    device.controller.refresh()
    assert device.controller.screen_time(NOW) == before
    honest = schema.make_body("event", "create", "%s/%s/j" % (OPEN_VENUE, STEWARD.hex),
                              {"venue": OPEN_VENUE, "title": "Juggling", "start": NOW + 1800, "end": NOW + 3600})
    assert inbox.submit(as_json(_signed_at(STEWARD, honest, NOW)).encode())
    organiser = schema.make_body("venue", "update", OPEN_VENUE, {"name": "Tent"})
    ORGANISER.ops[:] = list(store.operations(ORGANISER.key, LOG))
    device.controller.refresh()
    store.ingest_op(_signed_at(ORGANISER, organiser, NOW + 3600))
    device.controller.refresh()
    assert device.controller.screen_time(NOW)[0] == NOW + 3600  # an organiser's laptop still is
