"""Whether a screen's node is pulling a backlog of the festival's log (``IrohNode.catching_up``):
the screen's loop then draws every ``app.BACKLOG_FRAME_GAP`` instead of at each batch
(tests/test_snapshot_pacing.py).  A change (a PreSync of at most ``iroh_relay.LIVE_BATCH``
operations), the fleet log, a pull that stalled or ended: not a backlog."""
import time
import types

from pandascreen.core import log_sync
from pandascreen.core.sync import LOG_SYNC
from pandascreen.node import iroh_relay
from pandascreen.node.iroh_transport import IrohNode

FESTIVAL, FLEET = object(), object()


def _node(*links):
    node = IrohNode.__new__(IrohNode)
    node.subs, node.links = [FESTIVAL, FLEET], list(links)
    return node


def _link(total, sub=FESTIVAL, receiving=log_sync.RECEIVING, quiet_for=0.0, ended=False):
    session = types.SimpleNamespace(state=LOG_SYNC, log_sync=types.SimpleNamespace(receiving=receiving),
                                    remote_total_ops=total)
    return types.SimpleNamespace(session=session, sub=sub, ended=ended, last_progress=time.monotonic() - quiet_for)


def test_a_pull_of_a_whole_program_is_catching_up():
    assert _node(_link(1080)).catching_up()
    assert _node(_link(3), _link(iroh_relay.LIVE_BATCH + 1)).catching_up()


def test_a_change_the_fleet_log_a_stalled_or_finished_pull_is_not():
    assert not _node().catching_up()
    assert not _node(_link(iroh_relay.LIVE_BATCH)).catching_up()
    assert not _node(_link(1080, sub=FLEET)).catching_up()
    assert not _node(_link(1080, quiet_for=60.0)).catching_up()
    assert not _node(_link(1080, receiving=log_sync.RECEIVED_DONE)).catching_up()
    assert not _node(_link(1080, ended=True)).catching_up()
    assert not _node(_link(None, receiving=log_sync.AWAIT_PRESYNC)).catching_up()
