"""A screen's loop paces what a sync's batches would make it do each time.

The schedule snapshot is written once the store is quiet, not after every batch a sync ingests:
each write reads the whole festival log again (node/snapshot.py, ``Pacer``).  A program arriving
in batches is drawn a few times a second, not at every batch (each frame renders, and on an OLED
goes over I2C); a lone change after a quiet spell is drawn at once (node/app.py ``Device._pace``)."""

import threading
import time

from pandascreen.core import config, operation
from pandascreen.core.crypto import public_key
from pandascreen.core.store import MemoryStore
from pandascreen.node import app, snapshot
from pandascreen.node.poll import until
from pandascreen.node.sqlite_store import SqliteStore
from pandascreen.testing import festival as demofest
from pandascreen.testing.screen import RecordingScreen

SEED = bytes(range(100, 132))
BATCH = 2  # operations per batch, as a sync session ingests them (in pages)


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def _device(tmp_path, clock):
    org = MemoryStore()
    log = operation.log_id_for_festival(demofest.FESTIVAL_ID)
    demofest.publish(org, SEED, log)
    cfg = config.validate({"festival_id": demofest.FESTIVAL_ID, "display": "ssd1306_128x64",
                           "organisers": [public_key(SEED).hex()]})
    store = SqliteStore(str(tmp_path / "screen.db"))
    dev = app.Device(cfg, store, RecordingScreen(), clock=lambda: demofest.DAY_START + 3600)
    dev.snapshot_to = str(tmp_path / "screen.db")
    dev._snapshots = snapshot.Pacer(clock=clock)
    return dev, store, list(org.all_operations(log))


def _count_reads(monkeypatch, store):
    writes, reads = [], []
    save_for = snapshot.save_for
    pages = store.pages
    monkeypatch.setattr(snapshot, "save_for", lambda *a: writes.append(1) or save_for(*a))
    store.pages = lambda *a, **k: reads.append(1) or pages(*a, **k)
    return writes, reads


def test_a_cold_start_in_batches_writes_the_snapshot_once_the_store_is_quiet(tmp_path, monkeypatch):
    clock = Clock()
    dev, store, ops = _device(tmp_path, clock)
    writes, reads = _count_reads(monkeypatch, store)
    batches = [ops[i:i + BATCH] for i in range(0, len(ops), BATCH)]
    assert len(batches) > 5
    for batch in batches:  # the loop looks after each batch, as the sync node wakes it
        store.ingest_many(batch)
        dev._snapshot()
        clock.t += 0.1
    assert writes == [] and reads == []  # still arriving: not written, the store not read
    assert 0 < dev.idle_wait() <= snapshot.QUIET  # the loop wakes when it is due
    clock.t += snapshot.QUIET
    dev._snapshot()
    assert len(writes) == 1 and len(reads) >= 1
    reads_of_one_write = len(reads)
    dev._snapshot()
    clock.t += 60
    dev._snapshot()
    assert len(writes) == 1 and len(reads) == reads_of_one_write  # quiet: nothing more
    assert len(snapshot.load(snapshot.snapshot_path(dev.snapshot_to))) == len(ops)


def test_a_store_that_keeps_changing_is_still_written_every_few_seconds(tmp_path, monkeypatch):
    clock = Clock()
    dev, store, ops = _device(tmp_path, clock)
    pacer = dev._snapshots = snapshot.Pacer(quiet=1.0, most_delay=3.0, clock=clock)
    writes, _ = _count_reads(monkeypatch, store)
    step = pacer.quiet / 2  # never quiet for long enough
    for op in ops:
        store.ingest_op(op)
        dev._snapshot()
        clock.t += step
    span = len(ops) * step
    assert span > 2 * pacer.most_delay
    assert 2 <= len(writes) <= span / pacer.most_delay + 1


def test_the_last_change_is_written_when_the_loop_stops(tmp_path, monkeypatch):
    clock = Clock()
    dev, store, ops = _device(tmp_path, clock)
    writes, _ = _count_reads(monkeypatch, store)
    store.ingest_many(ops)
    stop = threading.Event()
    dev.run(stop, once=True)  # stopped at once: no quiet moment
    assert len(writes) == 1
    assert len(snapshot.load(snapshot.snapshot_path(dev.snapshot_to))) == len(ops)


def test_a_program_arriving_in_batches_is_drawn_a_few_times_not_at_every_batch(tmp_path):
    dev, store, ops = _device(tmp_path, Clock())
    screen = dev.screen
    # the frame a screen that starts with the whole program draws: the last frame, once every batch is in
    whole_store = MemoryStore()
    whole_store.ingest_many(ops)
    whole = app.Device(dev.cfg, whole_store, RecordingScreen(), clock=dev.clock)
    whole.run(threading.Event(), once=True)
    final = whole.screen.last().tobytes()
    stop = threading.Event()
    loop = threading.Thread(target=dev.run, args=(stop,), daemon=True)
    loop.start()
    try:
        until(lambda: screen.shown, 10)  # the first frame: "no schedule yet"
        first = len(screen.shown)
        started = time.monotonic()
        for op in ops:  # one operation a batch, as fast as a sync hands them over
            store.ingest_many([op])
            dev.wake.set()
            time.sleep(0.02)
        took = time.monotonic() - started
        until(lambda: screen.last().tobytes() == final, 10)  # the last batch is drawn after at most one gap
        drawn = len(screen.shown) - first
    finally:
        stop.set()
        dev.wake.set()
        loop.join(10)
    assert len(ops) > 10
    assert 1 <= drawn <= took / app.FRAME_GAP + 2, (drawn, len(ops), took)
    assert screen.last().tobytes() == final


class Stop:
    """The loop's stop event: records the pacing's waits (and returns at once); set once the
    loop has taken ``turns`` turns (``turns`` counted by the test's wake), never when None."""

    def __init__(self, turns=None):
        self.turns, self.last, self.waited = 0, turns, []

    def is_set(self):
        return self.last is not None and self.turns >= self.last

    def wait(self, seconds):
        self.waited.append(seconds)
        return False


def test_a_lone_change_after_a_quiet_spell_is_not_held_back(tmp_path):
    dev, _, _ = _device(tmp_path, Clock())
    now = [500.0]
    dev.clock = lambda: now[0]
    stop = Stop()
    dev._stepped_at = now[0] - 60.0
    dev._pace(stop)
    assert stop.waited == []
    dev._stepped_at = now[0] - 0.05  # right after a turn that drew: taken in with the next
    dev._pace(stop)
    assert len(stop.waited) == 1 and abs(stop.waited[0] - (app.FRAME_GAP - 0.05)) < 1e-9
    dev._stepped_at = now[0] + 3600.0  # the clock was set back an hour: nothing is held
    dev._pace(stop)
    assert len(stop.waited) == 1


def test_a_turn_that_drew_nothing_holds_back_no_change(tmp_path):
    # the loop also wakes for the fleet status, a peer that came or went, the minute: a change
    # that comes right after such a turn is drawn at once, only a turn that drew paces the next
    dev, _, _ = _device(tmp_path, Clock())
    now = [1000.0]
    dev.clock = lambda: now[0]  # the device's: the controller keeps its own, so no minute turns

    loop = Stop(turns=3)

    class Wake:
        def wait(self, timeout):
            loop.turns += 1
            now[0] += (0.3, 0.1, 0.1)[loop.turns - 1]  # after the first frame; after a turn that drew nothing

        def clear(self):
            pass
    dev.wake = Wake()
    dev.run(loop)
    assert dev.screen.shown and loop.waited == []


class ClockedStop(Stop):
    """A stop event whose waits pass on the device's clock ``now``."""

    def __init__(self, now):
        super().__init__()
        self.now = now

    def wait(self, seconds):
        super().wait(seconds)
        self.now[0] += seconds
        return False


def test_while_the_node_pulls_a_backlog_frames_are_seconds_apart_and_its_end_is_drawn_at_once(tmp_path):
    # a cold start in a swarm pulls the program over many seconds (the machine is busy): a frame
    # every FRAME_GAP drew it some twenty times; the node says when a sync brings a backlog
    dev, _, _ = _device(tmp_path, Clock())
    now = [1000.0]
    dev.clock = lambda: now[0]

    class Node:
        def catching_up(self):
            return now[0] < 1003.0  # the backlog ends three seconds on

    dev.node = Node()
    stop = ClockedStop(now)
    dev._stepped_at = now[0]  # a turn just drew
    dev._pace(stop)
    assert app.BACKLOG_FRAME_GAP <= now[0] - 1000.0 < app.BACKLOG_FRAME_GAP + app.FRAME_GAP, stop.waited
    dev._stepped_at = now[0]
    dev._pace(stop)  # the backlog ends a second later: its frame waits no longer than a gap
    assert 1003.0 <= now[0] < 1003.0 + app.FRAME_GAP, stop.waited
    dev._stepped_at = start = now[0]
    dev._pace(stop)  # caught up: the ordinary gap
    assert abs(now[0] - start - app.FRAME_GAP) < 1e-9
    now[0] = 2000.0  # a backlog that trickles in, a batch a second
    dev.node.catching_up = lambda: True
    dev._stepped_at = 1999.0
    dev._pace(stop)
    assert abs(now[0] - 1999.0 - app.BACKLOG_FRAME_GAP) < 1e-9, stop.waited
    dev._stepped_at = now[0] + 3600.0  # the clock was set back an hour: nothing is held
    waits = len(stop.waited)
    dev._pace(stop)
    assert len(stop.waited) == waits


def test_a_node_that_cannot_say_whether_it_catches_up_never_stops_the_loop(tmp_path, capsys):
    dev, _, _ = _device(tmp_path, Clock())
    now = [1000.0]
    dev.clock = lambda: now[0]

    class Node:
        def catching_up(self):
            raise RuntimeError("links changed")

    dev.node = Node()
    stop = ClockedStop(now)
    for _ in range(3):
        dev._stepped_at = start = now[0]
        dev._pace(stop)
        assert abs(now[0] - start - app.FRAME_GAP) < 1e-9  # the ordinary gap
    said = capsys.readouterr().err
    assert said.count("cannot ask the node whether it pulls a backlog: links changed") == 1, said


def test_freed_memory_and_the_stores_cache_go_back_once_the_store_is_quiet_not_after_each_batch(tmp_path, monkeypatch):
    from pandascreen.node import lean_process
    clock = Clock()
    dev, store, ops = _device(tmp_path, clock)
    given, released = [], []
    monkeypatch.setattr(lean_process, "give_back", lambda: given.append(clock.t))
    release = store.release_memory
    monkeypatch.setattr(store, "release_memory", lambda: (released.append(clock.t), release()))
    for i in range(0, len(ops), BATCH):
        store.ingest_many(ops[i:i + BATCH])
        dev._snapshot()
        clock.t += 0.1
    assert given == released == []
    clock.t += snapshot.QUIET
    dev._snapshot()
    assert given == released == [clock.t]  # after the snapshot's write, which reads the whole log
    clock.t += 60
    dev._snapshot()
    assert given == released == [clock.t - 60]


def test_the_fleet_logs_store_gives_its_cache_back_once_it_is_quiet_while_the_program_stays(tmp_path, monkeypatch):
    import types
    from pandascreen.node import lean_process
    clock = Clock()
    dev, store, ops = _device(tmp_path, clock)
    fleet = SqliteStore(str(tmp_path / "screen.fleet.db"))
    released, given = [], []
    release = fleet.release_memory
    monkeypatch.setattr(fleet, "release_memory", lambda: (released.append(clock.t), release()))
    monkeypatch.setattr(lean_process, "give_back", lambda: given.append(clock.t))
    dev.fleet_report = types.SimpleNamespace(store=fleet)
    dev._fleet_quiet = snapshot.Pacer(clock=clock)
    try:
        for minute in range(3):  # a status a minute, the festival's program unchanged
            fleet.ingest_many(ops[minute:minute + 1])
            dev._fleet_settled()
            assert len(released) == len(given) == minute  # not while it changes
            # the release waits for the loop's next turn (the minute at the latest): statuses of
            # fifty screens would otherwise wake an idle screen every few seconds
            assert dev.idle_wait() > snapshot.QUIET
            clock.t += snapshot.QUIET
            dev._fleet_settled()
            assert released[-1] == given[-1] == clock.t and len(released) == minute + 1
            assert dev.idle_wait() > snapshot.QUIET  # given back: nothing is due, the loop sleeps
            clock.t += 60 - snapshot.QUIET
        dev._fleet_settled()
        assert len(released) == 3  # quiet and given back: nothing more until the next change
    finally:
        fleet.close()
