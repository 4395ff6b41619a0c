"""Started iroh nodes for the iroh test cases (each in a loopback-only namespace), and the check
they share: no asyncio task error may go unretrieved in any node a test started."""
import gc
import logging

from pandascreen.node.iroh_transport import IrohNode
from pandascreen.node.sqlite_store import SqliteStore

LOST_TASK_ERRORS = ("never retrieved", "Task was destroyed", "Traceback")


def started(tmp_path, topic, caplog=None):
    """``(make, close)``: ``make(seed, name, **kw)`` starts a node on its own SQLite store and
    returns ``(node, store)`` (``node.lines``: what it said); ``close()`` stops them all and, with
    ``caplog``, fails on any task error the asyncio log reported."""
    made = []
    if caplog is not None:
        caplog.set_level(logging.WARNING, logger="asyncio")

    def make(seed, name, **kw):
        store = SqliteStore(str(tmp_path / ("%s.db" % name)))
        lines = []
        kw.setdefault("bind", "127.0.0.1:0")
        kw.setdefault("timeout", 3.0)
        kw.setdefault("connect_timeout", 2.0)
        node = IrohNode(store, topic, seed, say=lines.append, **kw).start()
        node.lines = lines
        made.append((node, store))
        return node, store

    def close():
        for node, store in made:
            node.stop()
            store.close()
        if caplog is not None:
            gc.collect()
            lost = [r.getMessage() for r in caplog.records if any(w in r.getMessage() for w in LOST_TASK_ERRORS)]
            assert not lost, lost

    return make, close


def publish(store, seed, n, log_id, start=0):
    """``n`` operations ("op <i>") of ``seed``'s log, timestamps from a fixed instant."""
    return store.publish_many(seed, [b"op %d" % i for i in range(start, start + n)], log_id,
                              1_700_000_000_000_000 + start)
