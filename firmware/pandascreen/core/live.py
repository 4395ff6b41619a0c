"""p2panda's live mode: ``TopicLogSyncMessage::Live(Header, Option<Body>)`` <-> Operation, and
``LiveMode``, the state machine of a session after its log sync:

    OPEN --close()--> CLOSE_SENT --remote Close--> ENDED
      \\--remote Close--> REMOTE_CLOSED

Why the codec is here and not in postcard.py: Live carries the header as serde *fields* (a postcard seq),
not as the signed CBOR bytes that ``Sync(Operation)`` carries, so a receiver must rebuild the
canonical CBOR header to check the signature and to compute the operation id (BLAKE3 of it).
That needs ``operation``; postcard.py stays a codec of plain tuples.
"""

from pandascreen.core import operation, postcard
from pandascreen.core.errors import IngestError, OperationError, SyncError
from pandascreen.core.topic_handshake import short


def header_fields(header):
    """The ``postcard.encode_header_fields`` tuple of a signed ``operation.Header``."""
    ext = header.extensions
    ext_fields = None
    if ext is not None:
        ext_fields = (1, 0, ext.log_id, ext.timestamp, ext.prune)
    return (header.version, header.public_key, header.signature, header.payload_size,
            header.payload_hash, header.seq_num, header.backlink, ext_fields)


def live_message(op):
    """The ``("live", fields, body)`` message tuple for ``op``."""
    return ("live", header_fields(op.header), op.body)


def operation_from_live(fields, body):
    """Rebuild and fully validate the operation of a received Live message.

    Raises ``OperationError`` (bad signature, body not matching the header, ...).
    """
    version, pk, sig, payload_size, payload_hash, seq_num, backlink, ext = fields
    extensions = None
    if ext is not None:
        extensions = operation.Extensions(ext[2], ext[3], ext[4])
    header = operation.Header(pk, payload_size, payload_hash, seq_num, backlink, extensions, sig, version)
    if body is not None and not body and payload_size == 0:
        body = None
    try:
        header_bytes = header.to_bytes()
    except Exception as e:  # CBOR encoder limits (out-of-range values)
        raise OperationError("header cannot be encoded: %s" % e)
    return operation.decode(header_bytes, body)


# states of live mode, which follows the log sync when both sides keep the session open
OPEN = "open"                    # both sides send Live for operations new to the other
CLOSE_SENT = "close sent"        # our Close is out; the remote's Live is still stored until it ends
REMOTE_CLOSED = "remote closed"  # the remote sent Close first: nothing more is sent or stored
ENDED = "ended"                  # the remote's Close answered ours

_CLOSE_PAYLOAD = postcard.encode_message(("close",))


def close_frame():
    """The framed ``Close`` message, which ends a session."""
    return postcard.frame(_CLOSE_PAYLOAD)


def is_close(payload):
    return payload == _CLOSE_PAYLOAD


class LiveMode:
    """Live mode of one session, as p2panda's Node always runs it after the log sync.

    ``push(ops)`` sends ``Live(header, body)`` for operations the remote has not seen from us
    nor sent us (``seen``: the ids of every operation sent or received in this session, as in
    Rust); a received Live operation is checked and stored at once.  ``close()`` sends ``Close``;
    Close is only ever sent to end a live session, as Rust does.  ``send(framed)`` queues bytes.
    """

    def __init__(self, store, log_id, send, seen, on_ingest=None):
        self.store = store
        self.log_id = log_id
        self.send = send
        self.seen = seen
        self.on_ingest = on_ingest
        self.state = OPEN
        self.live_sent = 0
        self.live_received = 0
        self.ops_new = 0

    @property
    def close_sent(self):
        return self.state in (CLOSE_SENT, ENDED)

    @property
    def remote_closed(self):
        return self.state in (REMOTE_CLOSED, ENDED)

    def push(self, ops):
        """Queue ``Live`` for each of ``ops`` of our log the remote has not seen; how many."""
        if self.state != OPEN:
            return 0
        n = 0
        for op in ops:
            if op.log_id != self.log_id or op.hash in self.seen:
                continue
            self.seen.add(op.hash)
            self.send(postcard.frame_message(live_message(op)))
            n += 1
        self.live_sent += n
        return n

    def close(self):
        """Queue ``Close`` (then the remote ends the stream, or answers with its Close)."""
        if self.state == OPEN:
            self.state = CLOSE_SENT
            self.send(close_frame())

    def handle(self, msg):
        """One decoded message in live mode: Live or Close; raises ``SyncError`` otherwise."""
        kind = msg[0]
        if kind == "close":
            self.state = ENDED if self.close_sent else REMOTE_CLOSED
            return
        if kind != "live":
            raise SyncError("protocol error: peer sent %s in live mode" % kind)
        if self.remote_closed:
            return
        try:
            op = operation_from_live(msg[1], msg[2])
        except OperationError as e:
            raise SyncError("invalid live operation from peer: %s" % e)
        if op.hash in self.seen:
            return
        self.seen.add(op.hash)
        if op.log_id != self.log_id:
            raise SyncError("invalid live operation from peer: it belongs to another log (%s), not %s"
                            % (short(op.log_id) if op.log_id is not None else "none", short(self.log_id)))
        self._store(op)

    def _store(self, op):
        try:
            _, new = self.store.ingest_op(op)
        except IngestError as e:  # a gap or fork; the next sync repairs a gap
            raise SyncError("live operation from peer not stored: %s" % e)
        self.live_received += 1
        if new:
            self.ops_new += 1
            if self.on_ingest is not None:
                self.on_ingest(1)
        else:
            # a guard may answer an operation it did not store with what it holds of that log
            # (core/fleet.FleetGuard: a screen that lost its fleet file learns where its log is)
            answer = getattr(getattr(self.store, "authorizer", None), "answer", None)
            if answer is not None:
                self.push(answer(op))
