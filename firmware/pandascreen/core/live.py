"""p2panda's live mode: ``TopicLogSyncMessage::Live(Header, Option<Body>)`` <-> Operation.

Why here and not in postcard.py: Live carries the header as serde *fields* (a postcard seq),
not as the signed CBOR bytes that ``Sync(Operation)`` carries, so a receiver must rebuild the
canonical CBOR header to check the signature and to compute the operation id (BLAKE3 of it).
That needs ``operation``; postcard.py stays a codec of plain tuples.
"""

from pandascreen.core import operation
from pandascreen.core.errors import OperationError


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
