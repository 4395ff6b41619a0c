"""An idle screen's loop sleeps until the next minute boundary, or until something of its own
is due sooner (node/wakeup.py, Device.idle_wait); the mDNS worker sleeps until there is work."""
import threading
import time

import pytest

from pandascreen.core import config
from pandascreen.core.crypto import public_key
from pandascreen.node import app, wakeup
from pandascreen.node.discovery import Discovery
from pandascreen.node.poll import until

from test_app import SEED, demofest, organiser


def test_the_next_wake_is_the_minute_boundary_or_an_earlier_due_time():
    assert abs(wakeup.seconds_until(120.0 + 10) - 50.05) < 1e-9
    assert wakeup.seconds_until(130.0, [145.0, None]) == 15.0
    assert wakeup.seconds_until(130.0, [200.0]) == 50.05  # later than the boundary: the boundary
    assert wakeup.seconds_until(130.0, [100.0, 130.0]) == 50.05  # past: the turn that just ran did it
    assert wakeup.seconds_until(130.0, [130.01]) == wakeup.SHORTEST  # never a busy loop
    assert abs(wakeup.seconds_until(179.99) - 0.06) < 1e-6


def _device(now, **cfg):
    store, _log = organiser()
    cfg = config.validate(dict({"festival_id": demofest.FESTIVAL_ID, "organisers": [public_key(SEED).hex()],
                                "display": "ssd1306_128x64"}, **cfg))
    return app.Device(cfg, store, type("Screen", (), {"show": lambda self, img: None})(), clock=lambda: now[0])


def _waits(dev, now, n):
    stop = threading.Event()
    waits = []

    class Wake:
        def wait(self, timeout):
            waits.append(round(timeout, 2))
            now[0] += timeout
            if len(waits) >= n:
                stop.set()

        def set(self):
            pass

        def clear(self):
            pass
    dev.wake = Wake()
    dev.run(stop)
    return waits


def test_with_no_redraw_interval_the_loop_wakes_once_a_minute():
    now = [demofest.DAY_START + 3600 + 57]
    dev = _device(now, render_interval=0)
    assert _waits(dev, now, 5) == [3.05, 60.0, 60.0, 60.0, 60.0]


def test_a_redraw_interval_and_configured_peers_wake_the_loop_when_due():
    now = [demofest.DAY_START + 3600 + 30]
    dev = _device(now, render_interval=20)
    assert _waits(dev, now, 5) == [20.0, 10.05, 20.0, 20.0, 20.0]
    now = [demofest.DAY_START + 3600 + 30]
    dev = _device(now, render_interval=0, sync_interval=15, peers=["10.9.9.9:2026"])
    dev.controller.transport = lambda peer: None
    assert _waits(dev, now, 3) == [15.0, 15.0, 15.0]


def test_a_flipped_screen_wakes_to_go_home_on_time():
    now = [demofest.DAY_START + 3600 + 10]
    dev = _device(now, render_interval=0, home_after=20)
    dev.flip(1)
    assert dev.idle_wait() == 20.0
    now[0] += 25
    assert abs(dev.idle_wait() - 25.05) < 1e-6  # home already: the minute again


@pytest.mark.parametrize("short_of_peers", [False, True], ids=["peers-kept", "short-of-peers"])
def test_the_mdns_worker_sleeps_until_there_is_work_or_it_stops(short_of_peers):
    """With all the peers it keeps it sleeps until an announcement; short of peers it looks again
    at the names it heard every minute or so (RESCAN_EVERY x 0.5-1.5), and no more often."""
    from pandascreen.node import discovery
    d = Discovery(bytes(32), 2026, lambda node_id, addrs: True, advertise=False, max_peers=1)
    if not short_of_peers:
        d.peers[bytes([1] * 32)] = [("10.0.0.1", 2026)]
    timeouts = []

    class Spy(threading.Condition):
        def wait(self, timeout=None):
            timeouts.append(timeout)
            return super().wait(0.05)  # the test itself stays bounded
    d._cv = Spy()
    worker = threading.Thread(target=d._work, daemon=True)
    worker.start()
    assert until(lambda: len(timeouts) >= 3, 10)  # it has looked a few times (the spy bounds each look)
    with d._cv:
        d._stop = True
        d._cv.notify_all()
    worker.join(10)
    assert not worker.is_alive() and timeouts
    if short_of_peers:
        assert all(t is not None and 0 <= t <= discovery.RESCAN_EVERY * 1.5 for t in timeouts), timeouts
        assert d._rescan_at - time.monotonic() >= discovery.RESCAN_EVERY * 0.5 - 11  # not sooner than its time
    else:
        assert set(timeouts) == {None}


def test_the_screens_threads_carry_their_python_names_in_the_os():
    release = threading.Event()
    t = threading.Thread(target=release.wait, args=(10,), name="pandascreen-discovery", daemon=True)
    t.start()
    try:
        app.name_threads()
        with open("/proc/self/task/%d/comm" % t.native_id) as fh:
            assert fh.read().strip() == "discovery"
    finally:
        release.set()
        t.join(10)


def test_the_plain_tcp_server_waits_in_accept_without_a_timeout_and_still_stops_at_once():
    import time

    from pandascreen.core.store import MemoryStore
    from pandascreen.node.tcp import SyncServer
    srv = SyncServer(MemoryStore(), b"\0" * 32, host="127.0.0.1", port=0).start()
    try:
        assert srv._sock.gettimeout() is None  # no polling: accept() sleeps until a peer comes
        thread = srv._thread
    finally:
        t0 = time.monotonic()
        srv.stop()
    assert not thread.is_alive() and time.monotonic() - t0 < 4  # stop wakes it, not a 5 s join timeout
