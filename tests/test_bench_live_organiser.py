"""The live bench's organiser writes its key into a folder that later organisers share: each
must get a file of its own, however Python reuses object ids (CPython hands a freed object's id
to the next one, so a name made from ``id(self)`` repeats)."""
import os
import stat

from pandascreen.bench import live
from pandascreen.node.sqlite_store import SqliteStore


def test_organisers_one_after_another_in_one_folder_each_get_their_own_key(tmp_path):
    keys = set()
    for n in range(20):
        store = SqliteStore(str(tmp_path / ("org-%d.db" % n)))
        store.path = str(tmp_path / ("org-%d.db" % n))
        try:
            writer = live._Organiser(str(tmp_path), store, 1_700_000_000)
            keys.add(writer.key)
            assert stat.S_IMODE(os.stat(writer.key).st_mode) == 0o600
            del writer  # freed: the next organiser may get its id
        finally:
            store.close()
    assert len(keys) == 20
