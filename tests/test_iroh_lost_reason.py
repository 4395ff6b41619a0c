"""Why a session was lost, in words that are true (node/iroh_session.py ``_lost``): a peer that
ends a session it does not take up during the topic handshake closes the connection with its
own reason; that is not a p2panda 0.6 node, which is what the hint for an unexplained loss says."""
from types import SimpleNamespace

import pytest

from pandascreen.core.sync import ACCEPTOR, INITIATOR
from pandascreen.node.iroh_session import SessionRunner


class Lost(Exception):
    def __init__(self, text):
        super().__init__(text)
        self.text = text

    def message(self):
        return self.text


def _lost(text):
    link = SimpleNamespace(handshake_done=False, role=ACCEPTOR, session=None, sub=SimpleNamespace(label=None))
    return SessionRunner._lost(None, link, Lost(text))


def test_a_peer_that_closes_with_its_reason_during_the_handshake_is_said_so():
    why = _lost('ConnectionLost(ApplicationClosed(ApplicationClose { error_code: 0, reason: '
                'b"sync protocol initiate completed" }))')
    assert why.startswith("the peer ended the session during the topic handshake (") and "0.6" not in why, why
    assert "sync protocol initiate completed" in why


def test_a_loss_without_a_reason_during_the_handshake_keeps_the_hint():
    why = _lost('ApplicationClosed(ApplicationClose { error_code: 0, reason: b"" })')
    assert why.startswith("connection lost during the topic handshake") and "p2panda 0.6" in why, why


def test_an_organiser_that_says_it_is_full_is_said_so_and_marked():
    link = SimpleNamespace(handshake_done=False, role=ACCEPTOR, session=None, sub=SimpleNamespace(label=None),
                           full=False)
    why = SessionRunner._lost(None, link, Lost('ConnectionLost(ApplicationClosed(ApplicationClose { error_code: 0, '
                                                'reason: b"pandascreen: full" }))'))
    assert link.full and why.startswith("the peer is full") and "topic handshake" not in why, why


def _lost_after_handshake(text):
    """A dial of ours whose connection is lost after the topic handshake, before the peer's Have."""
    session = SimpleNamespace(remote_heights=None, where=lambda: "before the peer said what it holds")
    link = SimpleNamespace(handshake_done=True, role=INITIATOR, session=session,
                           sub=SimpleNamespace(label="fleet"), full=False, unsubscribed=False)
    return link, SessionRunner._lost(None, link, Lost(text))


def test_a_peer_that_closes_right_after_the_handshake_does_not_sync_the_topic():
    link, why = _lost_after_handshake('ConnectionLost(ApplicationClosed(ApplicationClose { error_code: 0, '
                                      'reason: b"sync protocol accept completed" }))')
    assert link.unsubscribed and "does not sync the fleet topic" in why, why


@pytest.mark.parametrize("text", ["ConnectionLost(TimedOut)", "ConnectionLost(Reset)"])
def test_a_connection_that_times_out_or_resets_there_is_a_loss_not_a_refusal(text):
    """A cut or a loaded peer: the topic is asked for again at the next dial, not dropped for good."""
    link, why = _lost_after_handshake(text)
    assert not link.unsubscribed and "does not sync" not in why and text in why, why


def test_a_sync_asked_of_a_node_that_stopped_is_refused_without_an_unawaited_coroutine(tmp_path):
    """Discovery's thread may dial as the node stops: one SyncError, no "never awaited" warning."""
    import gc
    import warnings
    from pandascreen.core import operation
    from pandascreen.core.errors import SyncError
    from pandascreen.core.store import MemoryStore
    from pandascreen.node.iroh_transport import IrohNode
    node = IrohNode(MemoryStore(), operation.festival_topic("stoppedfest"), bytes([3] * 32))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises(SyncError, match="not running"):
            node.sync("%s@127.0.0.1:9" % ("ab" * 32))
        gc.collect()
    assert not [w for w in seen if "never awaited" in str(w.message)], [str(w.message) for w in seen]
