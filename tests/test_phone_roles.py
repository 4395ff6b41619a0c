"""Roles by action from a phone (node/phone_inbox.py): a member creates a venue and stewards it; a
steward opens it, makes it invite-only, invites a participant and hides an event; an organiser
invites members.  Group operations a phone signs go through the same guard as sync; every
refusal is one line in the festival's language and changes nothing.  HTTP on 127.0.0.1 only."""
import json

import pytest


import test_phone_publish as tp
from test_phone_publish import GUEST, INVITE_ONLY, LOG, OPEN_VENUE, ORGANISER, STEWARD, STRANGER, Key, as_json, post
from pandascreen.core import auth, schema
from pandascreen.core.crypto import public_key
from pandascreen.core.util import hexlify, unhexlify
from pandascreen.node.phone_inbox import PhoneInbox
from pandascreen.node.program_page import ProgramPage, ProgramSource, store_schedule

stage = tp.stage  # the open stage of test_phone_publish: organiser, steward, guest; Tent (open), Cellar
TENT = unhexlify(OPEN_VENUE)
CELLAR = unhexlify(INVITE_ONLY)
NEW_VENUE = unhexlify(hexlify(public_key(b"\x73" * 32)))


def heads(a, gid):
    return a.heads(gid)


def state(page, key):
    return json.loads(tp.urlopen_text(page, "/publish/state?key=" + key.hex))


def refused(page, store, op):
    status, line = tp.refused(page, store, as_json(op))
    op_key = next(k for k in (ORGANISER, STEWARD, GUEST, STRANGER, NEWCOMER) if k.key == op.public_key)
    op_key.ops.pop()  # not stored: the key's next operation takes this seq_num again
    return status, line


NEWCOMER = Key(5)


def test_a_member_creates_a_venue_from_the_phone_and_stewards_it(stage):
    page, store, a = stage
    create = GUEST.group(NEW_VENUE, auth.create([]))
    assert post(page, as_json(create)) == (200, json.dumps({"hash": hexlify(create.hash)}))
    doc = GUEST.sign(schema.make_body("venue", "create", hexlify(NEW_VENUE), {"name": "Garden", "order": 3}))
    assert post(page, as_json(doc))[0] == 200
    mine = [v for v in state(page, GUEST)["venues"] if v["name"] == "Garden"]
    assert mine and mine[0]["steward"] is True and mine[0]["open"] is False and mine[0]["may_book"] is True
    assert mine[0]["heads"] == [hexlify(create.hash)]
    # the steward opens it to every member, then makes it invite-only again
    opened = GUEST.group(NEW_VENUE, auth.add(ORGANISER.key, auth.WRITE, group=True), [create])
    assert post(page, as_json(opened))[0] == 200
    assert [v["open"] for v in state(page, STEWARD)["venues"] if v["name"] == "Garden"] == [True]
    assert post(page, as_json(STEWARD.event(hexlify(NEW_VENUE), "set", "Open set")))[0] == 200
    closed = GUEST.group(NEW_VENUE, auth.remove(ORGANISER.key, group=True), [opened])
    assert post(page, as_json(closed))[0] == 200
    assert [v["open"] for v in state(page, STEWARD)["venues"] if v["name"] == "Garden"] == [False]
    assert refused(page, store, STEWARD.event(hexlify(NEW_VENUE), "late")) == (
        403, "this venue is invite-only; ask its steward")


def test_a_steward_invites_a_participant_by_key_and_hides_another_event(stage):
    page, store, a = stage
    assert refused(page, store, GUEST.event(INVITE_ONLY, "gig")) == (403, "this venue is invite-only; ask its steward")
    invite = STEWARD.group(CELLAR, auth.add(GUEST.key, auth.WRITE), heads(a, CELLAR))
    assert post(page, as_json(invite))[0] == 200
    assert [v["may_book"] for v in state(page, GUEST)["venues"] if v["name"] == "Cellar"] == [True]
    assert post(page, as_json(GUEST.event(INVITE_ONLY, "gig", "Cellar gig")))[0] == 200
    assert post(page, as_json(GUEST.event(INVITE_ONLY, "other", "Other gig")))[0] == 200
    hideable = state(page, STEWARD)["hideable"]
    assert sorted(e["title"] for e in hideable) == ["Cellar gig", "Other gig"]
    hide = STEWARD.sign(schema.make_body("event", "delete", "%s/%s/other" % (INVITE_ONLY, GUEST.hex)))
    assert post(page, as_json(hide))[0] == 200 and tp.titles(store, a) == ["Cellar gig"]
    # the guest cannot hide the steward's event, nor invite to the steward's venue
    assert post(page, as_json(STEWARD.event(OPEN_VENUE, "mine", "Steward's own")))[0] == 200
    status, line = refused(page, store, GUEST.sign(schema.make_body("event", "delete", "%s/%s/mine"
                                                                     % (OPEN_VENUE, STEWARD.hex))))
    assert status == 403 and "someone else's" in line
    assert refused(page, store, GUEST.group(CELLAR, auth.add(NEWCOMER.key, auth.WRITE), heads(a, CELLAR))) == (
        403, "only this venue's steward invites to it, opens it or makes it invite-only")


def test_an_organiser_invites_a_member_from_the_phone_and_a_member_may_not(stage):
    page, store, a = stage
    assert state(page, NEWCOMER)["member"] is False and state(page, ORGANISER)["organiser"] is True
    assert refused(page, store, GUEST.group(ORGANISER.key, auth.add(NEWCOMER.key, auth.WRITE),
                                            heads(a, ORGANISER.key))) == (
        403, "only the festival's organisers invite to the festival")
    assert refused(page, store, NEWCOMER.group(NEW_VENUE, auth.create([]))) == (
        403, "you are not invited to this festival: ask an organiser for an invite")
    invite = ORGANISER.group(ORGANISER.key, auth.add(NEWCOMER.key, auth.WRITE), heads(a, ORGANISER.key))
    assert post(page, as_json(invite))[0] == 200 and state(page, NEWCOMER)["member"] is True
    assert post(page, as_json(NEWCOMER.group(NEW_VENUE, auth.create([]))))[0] == 200


def test_group_operations_a_phone_may_not_make_are_one_line_and_change_nothing(stage):
    page, store, a = stage
    assert refused(page, store, GUEST.group(TENT, auth.create([]))) == (403, "this venue exists already")
    assert refused(page, store, GUEST.group(NEW_VENUE, auth.create([(GUEST.key, auth.MANAGE)]))) == (
        403, "a new venue starts open (the festival as its member) or invite-only (no members)")
    assert refused(page, store, STEWARD.group(TENT, auth.promote(ORGANISER.key, auth.MANAGE, group=True),
                                              heads(a, TENT))) == (
        403, "from a phone: create a venue, invite to it or open it, or take an invite back")
    assert refused(page, store, STEWARD.group(CELLAR, auth.add(GUEST.key, auth.MANAGE), heads(a, CELLAR))) == (
        403, "an invite names one participant's key (or the festival, to open a venue) with Write")
    assert refused(page, store, STEWARD.group(TENT, auth.add(ORGANISER.key, auth.WRITE, group=True),
                                              heads(a, TENT))) == (
        409, "already done: this key is invited (or the venue is open) already")
    assert refused(page, store, STEWARD.group(CELLAR, auth.remove(GUEST.key), heads(a, CELLAR))) == (
        409, "nothing to take back: this key is not invited (or the venue is not open)")
    assert refused(page, store, STEWARD.group(CELLAR, auth.add(GUEST.key, auth.WRITE), [b"\x01" * 32])) == (
        409, "someone changed this group meanwhile: reload the page and try again")
    assert refused(page, store, STEWARD.group(NEW_VENUE, auth.add(GUEST.key, auth.WRITE))) == (
        403, "there is no such venue (yet): reload the page")
    # a group body that does not parse: one line, 400
    bad = GUEST.sign(auth.group_body(NEW_VENUE, auth.create([]))[:-1] + b"\x81")
    status, line = tp.refused(page, store, as_json(bad))
    GUEST.ops.pop()
    assert status == 400 and line.startswith("refused group operation")
    assert tp.titles(store, a) == []


def test_refusals_are_in_the_festivals_language():
    store, a = tp.open_stage()
    fest = ORGANISER.sign(schema.make_body("festival", "update", tp.demofest.FESTIVAL_ID, {"language": "de"}))
    assert store.ingest_op(fest)[1]
    sched = store_schedule(store, LOG, authorizer=a)
    inbox = PhoneInbox(store, LOG, a, schedule=sched)
    page = ProgramPage(ProgramSource(sched, clock=lambda: tp.NOW), "127.0.0.1", 0, inbox=inbox).start()
    try:
        assert refused(page, store, GUEST.event(INVITE_ONLY, "x")) == (
            403, "Diese Bühne ist nur mit Einladung offen; frag, wer sie betreut")
        words = state(page, GUEST)["words"]
        assert words["book"] == "Diesen Slot buchen" and words["refused_invite_only"].startswith("Diese Bühne")
    finally:
        page.stop()


def test_a_curated_festivals_page_refuses_a_write_in_one_line_and_offers_no_form():
    store, a = tp.open_stage()
    curated = auth.for_authors([ORGANISER.key])
    page = ProgramPage(ProgramSource(store_schedule(store, LOG, authorizer=curated), clock=lambda: tp.NOW),
                       "127.0.0.1", 0).start()
    try:
        before = (store.version, store.count())
        status, text = post(page, as_json(GUEST.event(OPEN_VENUE, "x")))
        GUEST.ops.pop()
        assert (status, text) == (403, "this festival's program is curated: ask an organiser to publish it\n")
        assert (store.version, store.count()) == before
        html = tp.urlopen_text(page, "/")
        assert 'id="stage"' not in html and "stage.js" not in html
    finally:
        page.stop()


def test_a_screen_wakes_its_display_and_its_sync_node_when_a_phone_publishes():
    import threading
    from types import SimpleNamespace
    from pandascreen.node.program_page import inbox_for_screen
    store, a = tp.open_stage()
    notified = []
    device = tp.fake_screen(store, a, wake=threading.Event(), node=SimpleNamespace(notify=lambda: notified.append(1)))
    inbox = inbox_for_screen(device)
    assert inbox.submit(as_json(GUEST.event(OPEN_VENUE, "x")).encode())
    assert device.wake.is_set() and notified == [1]  # redraw now, relay now (not at the next poll)
    device.wake.clear()
    with pytest.raises(Exception):
        inbox.submit(as_json(GUEST.event(INVITE_ONLY, "y")).encode())
    assert not device.wake.is_set() and notified == [1]


def test_a_group_change_alone_changes_the_page_key_so_phones_look_at_their_rights_again(stage):
    page, store, a = stage
    key = page.built[0]
    assert 'data-key="%s"' % key in tp.urlopen_text(page, "/")
    invite = STEWARD.group(CELLAR, auth.add(GUEST.key, auth.WRITE), heads(a, CELLAR))
    assert post(page, as_json(invite))[0] == 200  # no document changed: the schedule's version stays
    deadline = tp.time.monotonic() + 10
    while page.built[0] == key and tp.time.monotonic() < deadline:
        tp.time.sleep(0.02)
    assert page.built[0] != key and 'data-key="%s"' % page.built[0] in tp.urlopen_text(page, "/")


def test_a_phone_that_announces_a_body_and_stalls_gets_one_line_changes_nothing_and_frees_its_connection():
    import socket
    store, a = tp.open_stage()
    sched = store_schedule(store, LOG, authorizer=a)
    page = ProgramPage(ProgramSource(sched, clock=lambda: tp.NOW), "127.0.0.1", 0, timeout=0.3,
                       inbox=PhoneInbox(store, LOG, a, schedule=sched)).start()
    try:
        before = (store.version, store.count())
        data = as_json(GUEST.event(OPEN_VENUE, "slow")).encode()
        with socket.create_connection(("127.0.0.1", page.port), timeout=10) as s:
            s.sendall(b"POST /publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(data) + data[:20])
            got = b""
            while True:  # the server gives up after its timeout, says so in one line and closes
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        head, _, body = got.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 ") and body.count(b"\n") == 1 and b"did not arrive" in body, got
        assert (store.version, store.count()) == before
        deadline = tp.time.monotonic() + 10
        while page.open_connections and tp.time.monotonic() < deadline:
            tp.time.sleep(0.02)
        assert page.open_connections == 0
    finally:
        page.stop()


def test_the_phone_shows_its_key_as_a_qr_code_of_the_page_with_the_key_to_invite(stage):
    import io
    import urllib.error
    import urllib.request
    import segno
    page, store, a = stage
    with urllib.request.urlopen("http://127.0.0.1:%d/publish/key.svg?key=%s" % (page.port, GUEST.hex), timeout=10) as r:
        svg, ctype = r.read(), r.headers["Content-Type"]
    want = io.BytesIO()
    segno.make("http://127.0.0.1:%d/#invite=%s" % (page.port, GUEST.hex), error="m").save(
        want, kind="svg", scale=4, border=2, xmldecl=False, svgns=True, title="invite " + GUEST.hex[:8])
    assert ctype == "image/svg+xml" and svg == want.getvalue()
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen("http://127.0.0.1:%d/publish/key.svg?key=<script>" % page.port, timeout=10)
    assert e.value.code == 400 and e.value.read() == b"key must be 64 lowercase hex characters\n"


def test_a_second_screen_gets_every_operation_of_the_open_stage_through_relay():
    """A venue group's Create stays relayable once applied: otherwise the steward's log stops at
    its first operation for every screen that syncs from this one, and a phone's slot shows only
    on the screen that took it."""
    from pandascreen.core import sync
    from pandascreen.core.store import MemoryStore
    store, a = tp.open_stage()
    assert all(a.may_relay(op) for op in STEWARD.ops), "a held operation the guard refuses to relay"
    second = MemoryStore()
    auth.guard(second, auth.Authorizer([ORGANISER.key], mode=auth.SELF_ORGANISED), LOG)
    sync.sync_local(store, LOG, second)
    assert second.count() == store.count()


def test_qr_codes_are_drawn_a_few_a_second_at_most_each_key_once_and_not_on_a_read_only_page(monkeypatch):
    """Each QR code is ~15 ms of pure-Python CPU here (10x on a Pi Zero 2 W) and the route took
    any key, on any page: 16 pipelined connections of one address drew 1,352 in 20 s, 92-96 % of
    a core, and slowed the screen's loop.  Drawn codes are kept (a reload costs nothing), new ones
    are drawn at most ``QR_PER_SECOND`` a second for one address (after a burst of ``QR_BURST``),
    the rest told to come back (503, Retry-After), and a page where nobody may publish draws none."""
    import segno

    from pandascreen.node import program_page_stage as ps
    drawn = []
    real = segno.make
    monkeypatch.setattr(segno, "make", lambda *a, **kw: drawn.append(a) or real(*a, **kw))
    now = [100.0]
    stage = ps.Stage(object(), lambda: {"refused_curated": "read only"}, clock=lambda: now[0])

    def ask(key):
        reply = stage.route("/publish/key.svg", "key=" + key, {"host": "10.0.0.5:8027"}, False)
        return reply.fn(*reply.args)

    keys = ["%064x" % i for i in range(40)]
    codes = [ask(k)[:12] for k in keys]  # one address (none said: one unknown address)
    assert codes.count(b"HTTP/1.1 200") == ps.QR_BURST and len(drawn) == ps.QR_BURST
    assert all(c == b"HTTP/1.1 503" for c in codes[ps.QR_BURST:])
    assert ask(keys[0]).startswith(b"HTTP/1.1 200") and len(drawn) == ps.QR_BURST  # kept: not drawn again
    now[0] += 4.0
    codes = [ask(k)[:12] for k in keys[ps.QR_BURST:]]
    assert codes.count(b"HTTP/1.1 200") == int(4 * ps.QR_PER_SECOND)
    read_only = ps.Stage(None, lambda: {"refused_curated": "this page is read only"}, clock=lambda: now[0])
    reply = read_only.route("/publish/key.svg", "key=" + keys[0], {}, False)
    assert reply.fn(*reply.args).startswith(b"HTTP/1.1 403")
