"""What a peer on the Wi-Fi can make an iroh node hold, and who gives way when it is full.

Why a module of its own: every bound a stranger meets is written here once (docs/AUTH.md's threat
table quotes these numbers), beside the two decisions that need care: which streams a peer may
open, and which session leaves when the node is full.

Streams.  p2panda-net 0.7's initiator opens exactly two bidirectional streams (topic handshake,
then log sync); the acceptor opens none; nobody opens a unidirectional stream.  iroh's Python API
has no endpoint transport config, so the first grant of the QUIC handshake stands (quinn's
defaults: 100 streams each way, 1.25 MB unread data per stream, no connection-wide cap): a
stream nobody accepts would hold its 1.25 MB until the connection ends.  So ``StreamGuard``
accepts every stream a peer opens as soon as it opens, hands the expected ones on, and closes
the connection at the first one p2panda never opens; the per-connection setters then take away
any further stream credit.  Both expected streams are read as soon as they open: the handshake
in frames of at most 1 KB, the sync stream into at most ``EARLY_SYNC_BYTES`` until the handshake
ends, then by the session (frames bounded by core/sync.py).

Sessions.  Incoming sessions are bounded per IP address and topic and in total; the sync before
live mode has a deadline; a live session the peer keeps silent is closed after ``LIVE_IDLE`` when
the node holds at least half of ``MAX_LINKS`` (a festival is quiet for hours at night: honest
live sessions carry no byte then, and must not be redialled every ten minutes), any incoming live
session after ``LIVE_LIFETIME`` (an honest peer redials and resyncs: a Have exchange).  When the node is full, ``choose_eviction`` makes room for a newcomer by ending the
idlest session of the address holding the most slots, so a screen from an address that holds
few always gets in.
"""

import asyncio
import time

from pandascreen.core.errors import SyncError

# ---- the bounds (docs/AUTH.md's threat table quotes them; tests/iroh_limits_cases.py checks that it does)
PEER_BI_STREAMS = {"acceptor": 2, "initiator": 0}  # bidirectional streams the remote may open, by our role
HANDSHAKE_READ = 1024         # bytes read (and framed) at a time on the topic handshake stream
EARLY_SYNC_BYTES = 65536      # sync stream bytes held before the topic handshake ended (a Have of ~900 authors)
MAX_LINKS = 128               # sessions in total (dialled and incoming, all topics)
MAX_PER_ADDRESS = 8           # incoming sessions per IP address and topic
SESSION_DEADLINE = 120.0      # seconds for the sync before live mode
LIVE_IDLE = 600.0             # ... is closed when silent this long while at least half of MAX_LINKS run
LIVE_LIFETIME = 4 * 3600.0    # an incoming live session is closed after this long (a link reconnects 1 in 4 h)
CLOSE_GRACE = 2.0             # seconds a closed live session gets to exchange Close before it is cut


FULL_REASON = b"pandascreen: full"  # QUIC close reason of a node that links no more peers (an organiser)


class PeerFull(SyncError):
    """The peer links as many peers as it keeps (an organiser at its bound, node/liveness.py):
    sync with the others; it is not gone, and not of another festival."""


class TopicRefused(SyncError):
    """The peer does not sync the topic we asked for: it dropped us right after the topic
    handshake, as p2panda-net does with a topic it does not sync.  Discovery takes it for a node
    of another festival.  Another ALPN is not this: a node that stops refuses every ALPN first."""


class StreamRefused(Exception):
    """The peer opened a stream p2panda-net never opens (the connection is closed)."""


def limit_stream_credit(conn, role):
    """Give the peer no stream credit beyond what p2panda needs (takes effect after the QUIC
    handshake's own grant, which ``StreamGuard`` polices)."""
    try:
        conn.set_max_concurrent_bi_streams(PEER_BI_STREAMS[role])
        conn.set_max_concurrent_uni_streams(0)
    except Exception:  # a binding without the setters: the guard alone still holds
        pass


class StreamGuard:
    """Accept every stream the peer opens the moment it opens, hand the expected bidirectional
    ones on in order (``streams``), and raise ``StreamRefused`` at the first one p2panda-net never
    opens: a third bidirectional stream, any unidirectional one, the sync stream before our
    handshake answer is out.  The initiator opens the sync stream right after its final Done, so
    that stream may carry data before our handshake has ended: the guard reads it into ``early``
    (at most ``EARLY_SYNC_BYTES``) instead of leaving it in QUIC's 1.25 MB window."""

    def __init__(self, conn, role):
        self.conn = conn
        self.expected = PEER_BI_STREAMS[role]
        self.streams = asyncio.Queue()
        self.answered = False  # our handshake answer is queued: the peer may open the sync stream
        self.handshake_over = asyncio.Event()
        self.early = bytearray()
        self.early_read = None  # a read of the sync stream still under way when the handshake ended

    async def next_stream(self):
        """The peer's next expected stream; raises the connection's error once it ended."""
        stream = await self.streams.get()
        if isinstance(stream, Exception):
            self.streams.put_nowait(stream)  # for any later caller too
            raise stream
        return stream

    def take_early(self):
        """What the guard read of the sync stream so far, and its read under way (or None)."""
        data, pending = bytes(self.early), self.early_read
        self.early, self.early_read = bytearray(), None
        return data, pending

    def drop(self):
        """Let go of every iroh handle (iroh frees a UDP socket only when nothing holds it)."""
        self.conn = None
        self.streams = asyncio.Queue()
        if self.early_read is not None:
            discard(self.early_read)
            self.early_read = None

    async def run(self):
        """Returns when the connection ends; raises ``StreamRefused``."""
        accepted = 0
        bi = asyncio.ensure_future(self.conn.accept_bi())
        uni = asyncio.ensure_future(self.conn.accept_uni())
        over = asyncio.ensure_future(self.handshake_over.wait())
        sync_recv = None
        try:
            while True:
                waits = {bi, uni}
                if sync_recv is not None and not self.handshake_over.is_set():
                    if self.early_read is None:
                        self.early_read = asyncio.ensure_future(
                            sync_recv.read(EARLY_SYNC_BYTES + 1 - len(self.early)))
                    waits |= {self.early_read, over}
                done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                if uni in done:
                    if uni.exception() is not None:
                        return self.streams.put_nowait(uni.exception())  # the connection ended
                    raise StreamRefused("opened a unidirectional stream (p2panda log sync uses none)")
                if self.early_read is not None and self.early_read in done:
                    read, self.early_read = self.early_read, None
                    if read.exception() is not None:
                        return  # the stream or connection ended: the session says how
                    data = read.result()
                    self.early += data
                    if len(self.early) > EARLY_SYNC_BYTES:
                        raise StreamRefused("sent more than %d bytes on the sync stream before the topic "
                                            "handshake ended" % EARLY_SYNC_BYTES)
                    if not data:
                        sync_recv = None  # the stream ended; the session sees the end next
                if bi not in done:
                    continue
                if bi.exception() is not None:
                    return self.streams.put_nowait(bi.exception())
                stream = bi.result()
                accepted += 1
                if accepted > self.expected:
                    raise StreamRefused("opened bidirectional stream %d (p2panda log sync opens %d)"
                                        % (accepted, self.expected))
                if accepted == 2:
                    if not self.answered:
                        raise StreamRefused("opened the sync stream before the topic handshake was answered")
                    sync_recv = stream.recv()
                self.streams.put_nowait(stream)
                bi = asyncio.ensure_future(self.conn.accept_bi())
        finally:
            for fut in (bi, uni, over):
                discard(fut)
            if self.early_read is not None and not self.handshake_over.is_set():
                discard(self.early_read)
                self.early_read = None


def discard(fut):
    """Cancel ``fut`` and retrieve whatever it ends with, so no task error goes unretrieved."""
    fut.cancel()
    fut.add_done_callback(retrieve)


def retrieve(fut):
    """A done callback: take ``fut``'s error, if any, so asyncio never reports it unretrieved."""
    if not fut.cancelled():
        fut.exception()


def choose_eviction(incoming, host_of, newcomer_host, now=None):
    """The incoming session to end so that a newcomer from ``newcomer_host`` gets in, or None.

    The address holding the most slots gives way, and only when it holds more than the
    newcomer's address will after admission (so equals do not evict each other in turn); of its
    sessions the idlest (longest without a byte from the peer) goes, the oldest on a tie.
    ``incoming``: links with ``last_heard`` and ``started`` (monotonic seconds).
    """
    now = time.monotonic() if now is None else now
    held = {}
    for link in incoming:
        held.setdefault(host_of(link), []).append(link)
    if not held:
        return None
    mine = len(held.get(newcomer_host, ()))

    def idlest(links):
        return max(links, key=lambda l: (now - l.last_heard, now - l.started))

    heaviest = max(held, key=lambda h: (len(held[h]), now - idlest(held[h]).last_heard))
    if len(held[heaviest]) <= mine + 1:
        return None
    return idlest(held[heaviest])
