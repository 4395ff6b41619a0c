"""p2panda-sync's topic handshake (protocols/topic_handshake.rs) as a step machine.

Why a machine of its own: p2panda-net runs it on its own QUIC bi-stream before the log sync
(sync/actors/session.rs opens one stream for it, a second for the sync), while the plain TCP
transport of the MicroPython boards runs it at the start of its one stream.  Both reuse this.

    initiator: NEW --send Topic(t)--> AWAIT_DONE --Done; send Done--> DONE
    acceptor:  NEW --> AWAIT_TOPIC --Topic(t); send Done--> AWAIT_FINAL_DONE --Done--> DONE (.topic = t)

``accepts`` (acceptor only) is None to accept any topic, as the Rust acceptor does (the manager
drops the connection afterwards when it is not subscribed), or the one topic this peer syncs:
then another topic fails at once with a readable error.
"""

from pandascreen.core import postcard
from pandascreen.core.errors import SyncError
from pandascreen.core.util import hexlify

INITIATOR = "initiator"
ACCEPTOR = "acceptor"

# states
NEW = "new"
AWAIT_DONE = "await done"              # initiator: our Topic is out
AWAIT_TOPIC = "await topic"            # acceptor: the initiator speaks first
AWAIT_FINAL_DONE = "await final done"  # acceptor: our Done is out, the initiator's closes it
DONE = "done"


def short(b):
    """The first 16 hex digits of a key, topic or log id (for messages)."""
    return hexlify(b)[:16]


class TopicHandshake:
    def __init__(self, role, topic=None, accepts=None):
        if role == INITIATOR and topic is None:
            raise ValueError("the initiator needs a topic")
        self.role = role
        self.topic = None if topic is None else bytes(topic)
        self.accepts = None if accepts is None else bytes(accepts)
        self.state = NEW
        self._out = []

    def start(self):
        """Queue the opening message (initiator); idempotent."""
        if self.state != NEW:
            return
        if self.role == INITIATOR:
            self.state = AWAIT_DONE
            self._out.append(postcard.frame_handshake(("topic", self.topic)))
        else:
            self.state = AWAIT_TOPIC

    def take(self):
        """Framed bytes to send now (may be b"")."""
        out = b"".join(self._out)
        self._out = []
        return out

    def handle(self, payload):
        """Process one frame payload; raises ``SyncError`` on anything unexpected."""
        self.start()
        try:
            msg = postcard.decode_handshake(payload)
        except postcard.PostcardError as e:
            raise SyncError("peer sent a malformed handshake message: %s" % e)
        state = self.state
        if state == AWAIT_DONE:
            if msg[0] != "done":
                raise SyncError("handshake error: expected Done from the acceptor, got %s" % msg[0])
            self._out.append(postcard.frame_handshake(("done",)))
            self.state = DONE
        elif state == AWAIT_TOPIC:
            if msg[0] != "topic":
                raise SyncError("handshake error: expected a Topic from the initiator, got %s" % msg[0])
            if self.accepts is not None and msg[1] != self.accepts:
                raise SyncError("peer wants topic %s but this peer syncs topic %s"
                                % (short(msg[1]), short(self.accepts)))
            self.topic = msg[1]
            self._out.append(postcard.frame_handshake(("done",)))
            self.state = AWAIT_FINAL_DONE
        elif state == AWAIT_FINAL_DONE:
            if msg[0] != "done":
                raise SyncError("handshake error: expected Done from the initiator, got %s" % msg[0])
            self.state = DONE
        else:
            raise SyncError("handshake error: peer sent %s after the handshake ended" % msg[0])

    @property
    def done(self):
        return self.state == DONE
