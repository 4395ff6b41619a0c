"""What a review of this round's screen changes found, each pinned: an organiser's name kept
through a flood of names and its retry never lost (nor the discovery worker with it), a bounded
check of every answer for an organiser's name, a snapshot of another festival not taken into an
empty store, QR codes budgeted per phone's address, the program's end by its longest event, and
"not in the program" said only once a sync has brought the program."""
import random

from pandascreen.core.crypto import public_key, signing_key
from pandascreen.node import discovery, mdns_answers
from pandascreen.node.discovery import SERVICE_TYPE, Discovery, user_data, z32_encode


class _Rec:
    def __init__(self, **kw):
        self.__dict__.update(kw)


class _Cache:
    """The part of zeroconf's cache the discovery reads."""

    def __init__(self):
        self.d = {}

    def add(self, name, kind, rec):
        self.d.setdefault((name.lower(), kind), []).append(rec)

    def get_all_by_details(self, name, kind, _class):
        return list(self.d.get((name.lower(), kind), []))


class _Zeroconf:
    def __init__(self):
        self.cache = _Cache()

    def send(self, out):
        pass


def _name(seed):
    return "%s.%s" % (z32_encode(signing_key(seed).public_key), SERVICE_TYPE)


def _heard_in_full(zc, name, port=2026):
    from zeroconf.const import _TYPE_PTR, _TYPE_SRV
    zc.cache.add(SERVICE_TYPE, _TYPE_PTR, _Rec(alias=name))
    zc.cache.add(name, _TYPE_SRV, _Rec(server=name, port=port))


def test_a_flood_of_names_heard_in_full_never_takes_an_organisers_place_in_the_queue():
    from zeroconf import ServiceStateChange
    organiser = bytes([91] * 32)
    d = Discovery(bytes(32), 2026, lambda n, a: True, advertise=False, max_peers=2,
                  always=[signing_key(organiser).public_key])
    d._zc = _Zeroconf()
    d._queue = [_name(organiser)] + [_name(bytes([50 + i] * 32)) for i in range(4 * d.max_peers - 1)]  # all bare
    for i in range(4 * d.max_peers + 1):
        stranger = _name(bytes([120 + i] * 32))
        _heard_in_full(d._zc, stranger)
        d._on_change(d._zc, SERVICE_TYPE, stranger, ServiceStateChange.Added)
    assert _name(organiser) in d._queue


def test_a_retry_queued_keeps_a_due_time_and_the_worker_never_waits_for_ever():
    organiser = bytes([92] * 32)
    d = Discovery(bytes(32), 2026, lambda n, a: True, advertise=False, max_peers=2,
                  always=[signing_key(organiser).public_key])
    name = _name(organiser)
    d._retry_later(name)
    d._retry[name] = (0.0, d._retry[name][1])  # due now
    with d._cv:
        d._retries_due()
    assert name in d._queue
    d._queue.remove(name)  # a full queue's place went to another name meanwhile
    due, _wait = d._retry[name]
    assert due != float("inf")
    d.peers = {bytes([1] * 32): [], bytes([2] * 32): []}  # a full table: no rescan due
    wake = d._next_wake()
    assert wake is not None and wake <= discovery.RETRY_MAX


def _answers(org, strangers_txt):
    """A cache holding the organiser's answer for its name and a stranger's: six address records
    that sort before the organiser's (the four kept never held it) and ``strangers_txt`` TXT
    records that do not check."""
    from zeroconf.const import _TYPE_A, _TYPE_SRV, _TYPE_TXT
    import socket
    name = _name(org)
    zc = _Zeroconf()
    zc.cache.add(name, _TYPE_SRV, _Rec(server=name, port=2026))
    for ip in ["10.0.0.%d" % i for i in range(1, 7)] + ["192.168.1.10"]:
        zc.cache.add(name, _TYPE_A, _Rec(address=socket.inet_aton(ip)))
    honest = user_data(org, [("192.168.1.10", 2026)], (1_700_000_000_000_000, 0)).encode()
    for i in range(strangers_txt):
        bogus = user_data(bytes([i % 250 + 1] * 32), [("10.0.0.1", 2026)], (1_700_000_000_000_000, i)).encode()
        zc.cache.add(name, _TYPE_TXT, _Rec(text=bytes([len(b"user-data=" + bogus)]) + b"user-data=" + bogus))
    zc.cache.add(name, _TYPE_TXT, _Rec(text=bytes([len(b"user-data=" + honest)]) + b"user-data=" + honest))
    return zc, name


def test_every_answer_for_an_organisers_name_is_checked_within_a_bound_and_found_in_a_few_looks():
    """A stranger's address and TXT records each cost a signature check: one look checks at most
    ``MOST_CHECKS`` (4.9 s of CPU here for 60,000 before), picked at random, and the organiser's
    answer is found within a few looks."""
    org = bytes([60] * 32)
    zc, name = _answers(org, 300)
    assert len(mdns_answers.candidates(zc.cache, name, random.Random(1))) == mdns_answers.MOST_CHECKS
    zc, name = _answers(org, 30)
    rng = random.Random(7)
    instance = z32_encode(public_key(org))
    looks = 0
    while not any(_checks(instance, addrs, txt) for addrs, txt in mdns_answers.candidates(zc.cache, name, rng)):
        looks += 1
        assert looks < 30, "the organiser's answer was never looked at"


def _checks(instance, addrs, txt):
    try:
        discovery.check_announcement(instance, addrs, txt)
        return True
    except discovery.DiscoveryError:
        return False


def test_an_empty_store_is_not_refilled_from_a_snapshot_of_another_festival(tmp_path):
    """A Pi provisioned again for another festival, the old store removed, the old snapshot still
    beside it (every store is festival.db): the old festival's operations went into the new one,
    and the screen said "store reset: resync" (keeping an OLED lit)."""
    from pandascreen.core import operation
    from pandascreen.core.store import MemoryStore
    from pandascreen.node import snapshot
    from pandascreen.node.sqlite_store import SqliteStore
    from pandascreen.testing import festival as demofest
    db = str(tmp_path / "festival.db")
    org = MemoryStore()
    old_log = operation.log_id_for_festival(demofest.FESTIVAL_ID)
    demofest.publish(org, bytes(range(100, 132)), old_log)
    s = SqliteStore(db)
    for op in org.all_operations(old_log):
        s.ingest(op.header_bytes, op.body)
    snapshot.save_for(s, old_log, db)
    s.close()
    import os
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    store, notice = snapshot.open_store(db, log_id=operation.log_id_for_festival("another-fest"))
    try:
        assert store.count() == 0 and notice is None
    finally:
        store.close()
    store, notice = snapshot.open_store(db, log_id=old_log)  # its own festival's: refilled
    try:
        assert store.count() == org.count() and notice == snapshot.NOTICE
    finally:
        store.close()


def test_qr_codes_are_budgeted_per_phone_so_one_address_locks_no_phone_out():
    from pandascreen.node import program_page_stage as ps
    now = [100.0]
    stage = ps.Stage(object(), lambda: {}, clock=lambda: now[0])

    def ask(key, address):
        reply = stage.route("/publish/key.svg", "key=" + key, {"host": "10.0.0.5:8027", ":address": address}, False)
        return reply.fn(*reply.args)[:12]

    for i in range(40):  # a stranger asking for made-up keys, faster than the budget
        ask("%064x" % i, "10.0.0.66")
        now[0] += 0.1
    assert ask("%064x" % 999, "10.0.0.7") == b"HTTP/1.1 200"  # a phone's own code


def test_clock_rule_5_measures_against_the_program_s_longest_event_not_each_venue_s_last_start():
    from pandascreen.core.controller import Controller
    from pandascreen.core.store import MemoryStore
    from pandascreen.testing import festival as fest
    jun1, dec31 = 1780272000, 1798675200
    sched = fest.schedule({"name": "Summer of Art", "utc_offset": 0, "start": jun1, "end": dec31},
                          [fest.venue("gallery", "Gallery")],
                          [fest.event("show", "gallery", "Installation", jun1, dec31),
                           fest.event("talk", "gallery", "Opening talk", jun1 + 86400, jun1 + 90000)])
    c = Controller({"festival_id": "x", "display": "ssd1306_128x64"}, MemoryStore())
    c.schedule = sched
    assert c._program_end() == dec31


def test_not_in_the_program_is_said_only_once_a_sync_brought_the_program():
    """A first sync that has brought the festival document but not yet the venues' said the
    config's venues were not in the program, for that step."""
    from pandascreen.core import layout, operation
    from pandascreen.core.controller import Controller
    from pandascreen.core.store import MemoryStore
    from pandascreen.testing import festival as demofest
    store = MemoryStore()
    seed = bytes(range(100, 132))
    demofest.publish(store, seed, operation.log_id_for_festival(demofest.FESTIVAL_ID))
    cfg = {"festival_id": demofest.FESTIVAL_ID, "organiser_keys": [public_key(seed)], "venues": ["nope"]}
    now = demofest.DAY_START + 3600
    c = Controller(cfg, store, transport=lambda peer: {}, clock=lambda: now)
    c.redraw(now)
    assert c.view(now)["message"] == layout.NO_SCHEDULE  # nothing synced yet: it may still come
    c.sync_state = "synced"
    assert c.view(now)["message"] == layout.NOT_IN_PROGRAM
