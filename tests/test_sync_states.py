"""The sync protocols as state machines: each state is named in its module's docstring, a session
walks the states the docstrings draw, and a refusal in live mode is caught by name on both
runtimes (on MicroPython ``IngestError`` is no ``ValueError``)."""
import contextlib
import io

import pytest

from pandascreen.core import live, log_sync, operation, postcard, sync, topic_handshake
from pandascreen.core.store import MemoryStore
from pandascreen.core.sync import ACCEPTOR, INITIATOR, SyncError, SyncSession

LOG = operation.log_id_for_festival("statesfest")
SEED = bytes([3] * 32)

STATES = {
    sync: ("NEW", "HANDSHAKE", "LOG_SYNC", "COMPLETE", "LIVE"),
    log_sync: ("AWAIT_REMOTE_HAVE", "SENDING", "SENT_DONE", "AWAIT_HAVE", "AWAIT_PRESYNC", "RECEIVING",
               "RECEIVED_DONE"),
    live: ("OPEN", "CLOSE_SENT", "REMOTE_CLOSED", "ENDED"),
    topic_handshake: ("NEW", "AWAIT_DONE", "AWAIT_TOPIC", "AWAIT_FINAL_DONE", "DONE"),
}


@pytest.mark.parametrize("module", list(STATES), ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_every_state_is_distinct_and_drawn_in_the_module_doc(module):
    values = [getattr(module, name) for name in STATES[module]]
    assert len(set(values)) == len(values)
    for name in STATES[module]:
        assert name in module.__doc__, name


def _pump(a, b, watch, rounds=50):
    seen = [(a.state, b.state)]
    for _ in range(rounds):
        out_a, out_b = a.outgoing(), b.outgoing()
        if out_a:
            b.feed(out_a)
        if out_b:
            a.feed(out_b)
        if seen[-1] != (a.state, b.state):
            seen.append((a.state, b.state))
        if watch():
            break
    return seen


def test_a_session_without_live_mode_walks_handshake_log_sync_complete():
    store_a = MemoryStore()
    for i in range(3):
        store_a.publish(SEED, b"op%d" % i, LOG, 1000 + i)
    a = SyncSession(store_a, LOG, INITIATOR)
    b = SyncSession(MemoryStore(), LOG, ACCEPTOR)
    assert (a.state, b.state) == (sync.NEW, sync.NEW)
    walked = _pump(a, b, lambda: a.finished and b.finished)
    for side in (0, 1):
        states = [pair[side] for pair in walked]
        assert [x for i, x in enumerate(states) if i == 0 or states[i - 1] != x] == [
            sync.NEW, sync.HANDSHAKE, sync.LOG_SYNC, sync.COMPLETE]
    assert a.log_sync.sending == log_sync.SENT_DONE and b.log_sync.receiving == log_sync.RECEIVED_DONE
    assert b.log_sync.remote_total_ops == 3 and b.ops_new == 3 and a.confirmed


def test_live_mode_states_close_sent_then_ended():
    store_a, store_b = MemoryStore(), MemoryStore()
    a = SyncSession(store_a, LOG, INITIATOR, handshake=False, live=True)
    b = SyncSession(store_b, LOG, ACCEPTOR, handshake=False, live=True)
    _pump(a, b, lambda: a.in_live_mode and b.in_live_mode)
    assert (a.state, b.state) == (sync.LIVE, sync.LIVE)
    assert a.live_mode.state == b.live_mode.state == live.OPEN
    op = store_a.publish(SEED, b"later", LOG, 2000)
    assert a.push([op]) == 1 and a.push([op]) == 0  # each operation crosses once
    b.feed(a.outgoing())
    assert store_b.has(op.hash) and b.live_received == 1 and b.ops_new == 1
    a.close()
    assert a.live_mode.state == live.CLOSE_SENT and a.done_sending and a.push([op]) == 0
    b.feed(a.outgoing())
    assert b.live_mode.state == live.REMOTE_CLOSED and b.finished and not b.done_sending
    b.close()  # the remote closed first: nothing more to send
    assert b.outgoing() == b""
    a.feed(postcard.frame_message(("close",)))
    assert a.live_mode.state == live.ENDED and a.finished


def test_a_log_sync_message_in_live_mode_fails_and_says_so():
    a = SyncSession(MemoryStore(), LOG, INITIATOR, handshake=False, live=True)
    a.feed(postcard.frame_message(("have", {})) + postcard.frame_message(("done",)))
    a.outgoing()
    assert a.in_live_mode
    with pytest.raises(SyncError, match="peer sent have in live mode"):
        a.feed(postcard.frame_message(("have", {})))
    assert "in live mode" in a.error
    with pytest.raises(SyncError):
        a.outgoing()  # a failed session stays failed


REFUSED_LIVE_SCRIPT = """
from pandascreen.core import live, operation, postcard
from pandascreen.core.errors import IngestError
from pandascreen.core.store import MemoryStore
from pandascreen.core.sync import SyncSession, SyncError, INITIATOR
LOG = operation.log_id_for_festival("statesfest")

class Refusing(MemoryStore):
    def ingest_op(self, op):
        raise IngestError("refused")

op = MemoryStore().publish(bytes([3] * 32), b"x", LOG, 1)
s = SyncSession(Refusing(), LOG, INITIATOR, handshake=False, live=True)
s.feed(postcard.frame_message(("have", {})) + postcard.frame_message(("done",)))
s.outgoing()
try:
    s.feed(postcard.frame_message(live.live_message(op)))
    print("ended", "quietly")
except SyncError as e:
    print("ended", "SyncError", "not stored" in str(e))
except Exception as e:
    print("escaped", type(e).__name__)
"""


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_a_live_operation_the_store_refuses_ends_the_session_with_a_sync_error(runtime):
    if runtime == "micropython":
        from pandascreen.testing.micropython import run_micropython
        out = run_micropython(REFUSED_LIVE_SCRIPT)
    else:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(REFUSED_LIVE_SCRIPT, {})
        out = buf.getvalue()
    assert out.split() == ["ended", "SyncError", "True"], out
