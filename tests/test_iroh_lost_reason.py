"""Why a session was lost, in words that are true (node/iroh_session.py ``_lost``): a peer that
ends a session it does not take up during the topic handshake closes the connection with its
own reason; that is not a p2panda 0.6 node, which is what the hint for an unexplained loss says."""
from types import SimpleNamespace

from pandascreen.core.sync import ACCEPTOR
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
