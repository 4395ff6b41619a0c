"""A node's error lines that say one thing again and again (every peer's session ending on a full
disk, a stranger redialling each second) are said once a minute with how many were left unsaid,
not once each: the journal of a screen on an SD card stays readable and small."""
from pandascreen.node.log_repeats import Repeats


def test_the_same_reason_from_many_peers_is_said_once_a_window_then_with_its_count():
    said, t = [], [1000.0]
    gate = Repeats(said.append, window=60.0, clock=lambda: t[0])
    for i in range(61):
        gate("peer %016x: unexpected OperationalError: database or disk is full" % (0xab00 + i))
        t[0] += 40.0 / 61
    assert said == ["peer 000000000000ab00: unexpected OperationalError: database or disk is full"]
    t[0] += 30
    gate("peer 000000000000ffff: unexpected OperationalError: database or disk is full")
    assert len(said) == 2 and said[1].endswith("(60 more like it in the last 70 s)"), said


def test_addresses_and_ports_do_not_make_a_line_new_but_another_reason_does():
    said = []
    gate = Repeats(said.append, window=60.0, clock=lambda: 5.0)
    gate("incoming connection from 10.0.0.7:53297 refused: UnknownIssuer")
    gate("incoming connection from 10.0.0.7:53298 refused: UnknownIssuer")
    gate("incoming connection from [fe80::1]:4000 refused: UnknownIssuer")
    gate("incoming connection from 10.0.0.7:53299 refused: handshake timed out")
    assert said == ["incoming connection from 10.0.0.7:53297 refused: UnknownIssuer",
                    "incoming connection from 10.0.0.7:53299 refused: handshake timed out"]


def test_a_node_says_its_repeated_errors_through_the_gate(tmp_path):
    from pandascreen.core import operation
    from pandascreen.node.iroh_transport import IrohNode
    from pandascreen.node.sqlite_store import SqliteStore
    said = []
    store = SqliteStore(str(tmp_path / "s.db"))
    node = IrohNode(store, operation.festival_topic("f"), bytes(32), say=said.append)
    for i in range(30):
        node._record_error("peer %016x: unexpected OperationalError: database or disk is full" % i)
    assert len(said) == 1 and len(node.errors) == 20  # every one still in the node's recent errors
    store.close()
