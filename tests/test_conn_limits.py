"""Strangers' connections to a screen's feed server and plain-TCP sync server hold bounded
resources (node/conn_limits.py): idle floods, slow-loris clients and oversize requests neither
exhaust the file handles the store and sync need nor keep a board out.  Loopback only."""
import os
import select
import socket
import subprocess
import sys
import time

import pytest

from pandascreen.board.board import RETRY_OFFLINE
from pandascreen.core import feed, feed_http, sync
from pandascreen.core.crypto import public_key
from pandascreen.core.errors import SyncError
from pandascreen.core.store import MemoryStore
from pandascreen.node import conn_limits, tcp
from pandascreen.node.conn_limits import TCP_SYNC
from pandascreen.node.feed_server import FeedServer, FeedSource
from pandascreen.node.poll import until
from test_feed import FID, ORGANISER, SERVE, demo_store

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def fetch(port, source="127.0.0.250", timeout=10.0):
    """One board's fetch of the demo feed from ``source``, checked, within ``timeout`` seconds."""
    return fetch_feed(port, FID, [public_key(ORGANISER)], source, timeout)


def fetch_feed(port, festival_id, organisers, source="127.0.0.250", timeout=10.0):
    """One board's feed fetch from ``source``; the feed bytes (checked), within ``timeout`` seconds."""
    s = socket.socket()
    s.bind((source, 0))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    try:
        s.sendall(feed_http.http_request(festival_id))
        buf = bytearray(feed.MAX_FEED_BYTES)
        n = feed_http.read_http(_Reader(s), buf)
    finally:
        s.close()
    feed.Checker(festival_id, organisers).check(buf, n)
    return bytes(buf[:n])


def free_port():
    """A TCP port nothing listens on just now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class _Reader:
    def __init__(self, sock):
        self.sock = sock

    def readinto(self, mv):
        return self.sock.recv_into(mv)


def idle_connections(port, count, addresses):
    """``count`` connections spread over ``addresses`` loopback sources; each sends one byte,
    then nothing.  Opened a few at a time: beyond the listen backlog a connection would sit in
    the kernel unseen by the server until TCP retransmits, and the flood would take minutes."""
    socks = []
    for first in range(0, count, 4):
        batch = []
        for i in range(first, min(count, first + 4)):
            s = socket.socket()
            s.bind(("127.0.%d.%d" % (1 + i % addresses // 250, 2 + i % addresses % 250), 0))
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            batch.append(s)
        _, done, _ = select.select([], batch, [], 1.0)
        for s in done:
            try:
                s.send(b"G")
            except OSError:
                pass
        socks += batch
        time.sleep(0.02)  # the server accepts them
    return socks


def closed_by_server(sock, within):
    """True when the server closes ``sock`` within ``within`` seconds (a reply may come first)."""
    end = time.monotonic() + within
    while time.monotonic() < end:
        r, _, _ = select.select([sock], [], [], min(0.2, max(0.0, end - time.monotonic())))
        if r:
            try:
                if sock.recv(4096) == b"":
                    return True
            except (ConnectionResetError, BrokenPipeError):
                return True
            except BlockingIOError:
                pass
    return False


@pytest.fixture
def feed_server():
    servers = []

    def start(**limits):
        src = FeedSource(demo_store(), FID, SERVE, [public_key(ORGANISER)])
        server = FeedServer(src, "127.0.0.1", 0, limits=conn_limits.FEED._replace(**limits)).start()
        servers.append(server)
        return server
    yield start
    for s in servers:
        s.stop()


# ------------------------------------------------------------------------- the admission rule

class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _slots(in_use=lambda: 10, limit=lambda: 1024, **limits):
    clock = _Clock()
    bounds = conn_limits.Limits(connections=4, per_address=2, idle=None, deadline=5, evict_after=10,
                                request_bytes=None, reply_deadline=None)._replace(**limits)
    return conn_limits.Slots(bounds, clock=clock, in_use=in_use, limit=limit), clock


def test_admission_per_address_total_and_fair_eviction():
    slots, clock = _slots()
    ended = []
    held = [slots.admit("10.0.0.1", lambda i=i: ended.append(i)) for i in range(2)]
    with pytest.raises(conn_limits.Refused, match="from this address"):
        slots.admit("10.0.0.1", None)
    clock.now = 1
    slots.admit("10.0.0.2", lambda: ended.append("b"))
    slots.admit("10.0.0.3", lambda: ended.append("c"))
    assert len(slots) == 4 and not ended
    # full: a newcomer evicts the oldest of the address holding two more than it would
    slots.admit("10.0.0.4", lambda: ended.append("d"))
    assert ended == [0] and held[0].evicted and len(slots) == 4
    # now every address holds one: young sessions are kept, a newcomer is refused
    with pytest.raises(conn_limits.Refused, match="all 4 connections busy"):
        slots.admit("10.0.0.5", None)
    clock.now = 10.5  # the oldest (10.0.0.1's second, since 0) is past evict_after
    slots.admit("10.0.0.5", None)
    assert ended == [0, 1]
    slots.release(held[1])  # already gone: releasing twice changes nothing
    assert len(slots) == 4 and slots.counts == {"admitted": 6, "refused": 2, "evicted": 2}


def test_a_working_connection_is_never_evicted():
    slots, clock = _slots(connections=2, evict_after=0)
    ended = []
    first = slots.admit("10.0.0.1", lambda: ended.append("first"))
    first.working = True  # being answered
    slots.admit("10.0.0.2", lambda: ended.append("second"))
    slots.admit("10.0.0.3", None)  # takes the waiting one's place, not the working one's
    assert ended == ["second"]
    with pytest.raises(conn_limits.Refused, match="busy"):  # the newest is this address's only one
        slots.admit("10.0.0.3", None)


def test_admission_keeps_file_handles_for_sync():
    used = [100]
    slots, clock = _slots(in_use=lambda: used[0], limit=lambda: 128)  # reserve: 64 of 128
    assert conn_limits.fd_reserve(128) == 64 and conn_limits.fd_reserve(1024) == 256
    assert conn_limits.fd_reserve(64) == 32
    with pytest.raises(conn_limits.Refused, match="file handles are kept for sync"):
        slots.admit("10.0.0.1", None)
    used[0] = 60
    ended = []
    for i in range(2):
        slots.admit("10.0.0.1", lambda i=i: ended.append(i))
    used[0] = 100  # short again: a newcomer may only take the place of one held too many times
    slots.admit("10.0.0.2", None)
    assert ended == [0] and len(slots) == 2
    with pytest.raises(conn_limits.Refused, match="file handles are kept for sync"):
        slots.admit("10.0.0.3", None)


# ------------------------------------------------------------------------------ the feed server

def test_a_slow_loris_is_cut_off_at_the_request_deadline_and_boards_still_fetch(feed_server):
    server = feed_server(deadline=1.0)
    loris = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    loris.setblocking(False)
    request = feed_http.http_request(FID)
    cut = False
    t0 = time.monotonic()
    for i in range(len(request) - 1):  # one byte every 0.2 s, never the end of the head
        try:
            loris.send(request[i:i + 1])
        except OSError:
            cut = True
            break
        if closed_by_server(loris, 0.2):
            cut = True
            break
        if i == 2:
            assert fetch(server.port)  # a board is served meanwhile
    held = time.monotonic() - t0
    loris.close()
    assert cut, "a client trickling its request was never cut off"
    assert held < 1.0 + 5.0  # the deadline, with room for a busy machine (the whole trickle takes 12 s)


class _BigSource:
    """A feed far larger than any socket buffer, so a client that does not read stalls the reply."""
    festival_id = FID

    def get(self):
        return b"x" * (8 << 20)


def test_a_client_that_does_not_read_is_cut_off_at_the_reply_deadline():
    server = FeedServer(_BigSource(), "127.0.0.1", 0, limits=conn_limits.FEED._replace(reply_deadline=1.0)).start()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        s.connect(("127.0.0.1", server.port))
        s.sendall(feed_http.http_request(FID))
        assert until(lambda: server.slots.counts["admitted"] == 1 and len(server.slots) == 0, timeout=10)
    finally:
        s.close()
        server.stop()


def test_an_oversize_request_head_is_refused(feed_server):
    server = feed_server()
    s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        s.sendall(b"GET /pandascreen/feed/" + FID.encode() + b" HTTP/1.0\r\n" + b"X-Pad: " + b"a" * 8000 + b"\r\n")
        answer = s.recv(200)
    finally:
        s.close()
    assert answer.startswith(b"HTTP/1.0 431 "), answer


def test_wrong_requests_get_one_status_line(feed_server):
    server = feed_server()
    for request, status in ((b"GET /elsewhere HTTP/1.0\r\n\r\n", b"404"), (b"POST /pandascreen/feed/x HTTP/1.0\r\n\r\n",
                                                                         b"405"), (b"\x00\xff\r\n\r\n", b"400")):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        try:
            s.sendall(request)
            answer = s.recv(200)
        finally:
            s.close()
        assert answer.split(b" ")[:2] == [b"HTTP/1.0", status], (request, answer)


def test_idle_connections_from_one_address_leave_room_for_a_board(feed_server):
    server = feed_server()
    idle = idle_connections(server.port, 40, addresses=1)
    try:
        assert fetch(server.port)
        assert server.slots.counts["refused"] >= 40 - conn_limits.FEED.per_address
    finally:
        for s in idle:
            s.close()


def test_a_board_evicts_the_oldest_connection_of_the_fullest_address(feed_server):
    server = feed_server()
    per = conn_limits.FEED.per_address
    idle = idle_connections(server.port, conn_limits.FEED.connections, addresses=conn_limits.FEED.connections // per)
    try:
        assert until(lambda: len(server.slots) == conn_limits.FEED.connections, timeout=5)
        assert fetch(server.port)
        assert server.slots.counts["evicted"] >= 1
    finally:
        for s in idle:
            s.close()


def test_a_board_gets_the_feed_while_many_addresses_keep_every_slot_fresh(feed_server):
    """One connection per address from 100 addresses, new ones all the time: a board's GET is
    answered, since a connection still waiting for its request is the first to go."""
    server = feed_server()
    flood = idle_connections(server.port, 100, addresses=100)
    try:
        assert until(lambda: len(server.slots) == conn_limits.FEED.connections, timeout=5)
        assert fetch(server.port)
    finally:
        for s in flood:
            s.close()


# ---------------------------------------------------------------------- plain-TCP sync slots

def test_tcp_sync_a_board_gets_in_while_an_attacker_holds_every_slot():
    from test_hostile import LOG, festival_store
    with tcp.SyncServer(festival_store(), LOG, timeout=5) as srv:
        per = conn_limits.TCP_SYNC.per_address
        attack = idle_connections(srv.port, conn_limits.TCP_SYNC.connections, conn_limits.TCP_SYNC.connections // per)
        try:
            assert until(lambda: len(srv.slots) == conn_limits.TCP_SYNC.connections, timeout=5)
            board = MemoryStore()
            stats = _sync_from(board, srv.port, "127.0.0.200")
            assert stats["ops_received"] == board.count() == 4
            # the evicted session's own thread records it, as its socket is shut: maybe after the board's sync
            until(lambda: any("evicted" in e for e in srv.errors), timeout=5)
            assert any("evicted" in e for e in srv.errors), srv.errors
        finally:
            for s in attack:
                s.close()


def test_tcp_sync_one_slot_per_attacker_address_is_evicted_once_it_is_old():
    from test_hostile import LOG, festival_store
    with tcp.SyncServer(festival_store(), LOG, timeout=5, evict_after=0.5) as srv:
        attack = idle_connections(srv.port, conn_limits.TCP_SYNC.connections, conn_limits.TCP_SYNC.connections)
        try:
            assert until(lambda: len(srv.slots) == conn_limits.TCP_SYNC.connections, timeout=5)
            time.sleep(0.6)
            board = MemoryStore()
            assert _sync_from(board, srv.port, "127.0.0.200")["ops_received"] == 4
        finally:
            for s in attack:
                s.close()


def _sync_from(store, port, source):
    from test_hostile import LOG
    s = socket.socket()
    s.bind((source, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    try:
        return tcp.pump(s, sync.SyncSession(store, LOG, sync.INITIATOR), timeout=5, deadline=20)
    finally:
        s.close()


def _sync_as_a_board(store, port, source):
    """A board's sync, tried again every RETRY_OFFLINE seconds as a board does while refused.
    With every slot held by one idle connection each from more addresses than slots, the
    server refuses until one of them times out or is ``evict_after`` old (whichever comes
    first); a board gets in by the try after."""
    give_up = time.monotonic() + TCP_SYNC.evict_after + 2 * RETRY_OFFLINE
    while True:
        try:
            return _sync_from(store, port, source)
        except SyncError:
            if time.monotonic() > give_up:
                raise
        time.sleep(RETRY_OFFLINE)


def test_tcp_sync_counts_an_ipv6_64_as_one_address():
    key = conn_limits.address_key
    assert key("fd00::1") == key("fd00::ffff:1:2:3") != key("fd00:0:0:1::1")
    assert key("::ffff:10.0.0.7") == key("10.0.0.7") == "10.0.0.7"


# ------------------------------------------------------- both under a lowered RLIMIT_NOFILE

SIEGED = r"""
import os, resource, sys
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[1]), hard))
sys.path[:0] = sys.argv[2:]
from test_feed import FID, ORGANISER, SERVE, demo_store
from test_hostile import LOG, festival_store
from pandascreen.core.crypto import public_key
from pandascreen.node.feed_server import FeedServer, FeedSource
from pandascreen.node.tcp import SyncServer
feed = FeedServer(FeedSource(demo_store(), FID, SERVE, [public_key(ORGANISER)]), "127.0.0.1", 0).start()
sync = SyncServer(festival_store(), LOG, timeout=5).start()
print(feed.port, sync.port, flush=True)
for line in sys.stdin:
    held = []
    try:  # what the store and sync open while the listeners are under siege
        for _ in range(24):
            held.append(open(os.devnull, "rb"))
        rss = [l.split()[1] for l in open("/proc/self/status") if l.startswith("VmRSS:")][0]
        print("ok", rss, flush=True)
    except OSError as e:
        print("failed after %d: %s" % (len(held), e), flush=True)
    for fh in held:
        fh.close()
"""


def _line(proc, within=20):
    r, _, _ = select.select([proc.stdout], [], [], within)
    assert r, "the sieged process said nothing within %ds" % within
    return proc.stdout.readline().decode()


def test_idle_floods_leave_file_handles_for_sync_under_a_low_rlimit():
    """200 idle connections against a screen whose RLIMIT_NOFILE is 64: the store can still open
    files, a board still fetches the feed within 2 s and syncs by its second or third try, and
    the process stays small."""
    paths = [os.path.join(ROOT, "firmware"), os.path.join(ROOT, "host_tools"), HERE]
    proc = subprocess.Popen([sys.executable, "-c", SIEGED, "64"] + paths, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, cwd=HERE)
    flood = []
    try:
        feed_port, sync_port = map(int, _line(proc).split())
        # sync first: its eight slots end up held one each by eight of the 25 addresses
        flood = idle_connections(sync_port, 100, addresses=25) + idle_connections(feed_port, 100, addresses=25)
        time.sleep(0.5)  # let the listeners take (or refuse) them
        proc.stdin.write(b"probe\n")
        proc.stdin.flush()
        answer = _line(proc).split()
        assert answer[0] == "ok", answer
        assert int(answer[1]) < 100 * 1024  # kB
        assert fetch(feed_port)
        board = MemoryStore()
        assert _sync_as_a_board(board, sync_port, "127.0.0.200")["ops_received"] == 4
        assert proc.poll() is None
    finally:
        for s in flood:
            s.close()
        proc.stdin.close()
        proc.wait(10)
        proc.stdout.close()
