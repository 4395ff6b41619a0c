"""The store contract (``pandascreen.core.store.BaseStore``): every store passes every check.

Modelled on p2panda-store's ``operations/tests.rs``: one set of checks, run against each
implementation.  The checks are plain functions with plain asserts so that the same file
also runs under MicroPython (``test_contract_under_micropython``) for the core's MemoryStore;
pytest parametrises them over MemoryStore and SqliteStore.
"""

try:
    import pytest
except ImportError:  # MicroPython: only the checks below are used
    pytest = None

from pandascreen.core import operation, schema
from pandascreen.core.crypto import public_key
from pandascreen.core.errors import IngestError
from pandascreen.core.store import MemoryStore

SEED_A = bytes(range(32))
SEED_B = bytes(range(1, 33))
LOG = operation.log_id_for_festival("contract")
OTHER_LOG = operation.log_id_for_festival("other")


def body(i):
    return schema.make_body("venue", "create", "v%d" % i, {"name": "Venue %d" % i, "order": i})


def chain(n, seed=SEED_A, log=LOG, t0=1000):
    """n operations of one log, made in a scratch store (not the one under test)."""
    return MemoryStore().publish_many(seed, [body(i) for i in range(n)], log, t0)


def raises(fn, *words):
    """Call fn(); it must raise IngestError whose message contains every word."""
    try:
        fn()
    except IngestError as e:
        msg = str(e)
        for w in words:
            assert w in msg, "%r not in %r" % (w, msg)
        return msg
    raise AssertionError("no IngestError raised")


def hashes(ops):
    return [op.hash for op in ops]


def agree(s):
    """has, count, all_operations, heights and operations tell the same story."""
    everything = list(s.all_operations())
    assert s.count() == len(everything)
    per_log = 0
    for pk, logs in s.heights().items():
        for log, height in logs.items():
            ops = s.operations(pk, log)
            assert ops[-1].seq_num == height
            assert s.latest(pk, log).hash == ops[-1].hash
            per_log += len(ops)
    assert per_log == len(everything)
    for op in everything:
        assert s.has(op.hash)


# ------------------------------------------------------------------------------ the checks
def check_insert_has_duplicate(f):
    s = f.new()
    ops = chain(3)
    assert not s.has(ops[0].hash) and s.count() == 0
    assert s.ingest(ops[0].header_bytes, ops[0].body)[1] is True
    assert s.ingest(ops[0].header_bytes, ops[0].body)[1] is False  # re-inserting is a no-op
    assert s.ingest_op(ops[1])[1] is True                          # already decoded
    assert s.ingest_op(ops[1])[1] is False
    assert s.has(ops[1].hash) and not s.has(ops[2].hash)
    assert s.position(ops[1].hash) == (public_key(SEED_A), 1) and s.position(ops[2].hash) is None
    assert s.count() == 2
    agree(s)


def check_forks_gaps_backlinks_rejected(f):
    s = f.new()
    ops = chain(4)
    raises(lambda: s.ingest_op(ops[2]), "arrived before")
    s.ingest_op(ops[0])
    raises(lambda: s.ingest(ops[2].header_bytes, ops[2].body), "gap")
    s.ingest_op(ops[1])
    fork = operation.create(SEED_A, body(99), 1, ops[0].hash, operation.Extensions(LOG, 7))
    raises(lambda: s.ingest_op(fork), "fork")
    bad = operation.create(SEED_A, body(98), 2, ops[0].hash, operation.Extensions(LOG, 8))
    raises(lambda: s.ingest_op(bad), "backlink")
    forged = bytearray(ops[2].header_bytes)
    forged[40] ^= 0xFF
    raises(lambda: s.ingest(bytes(forged), ops[2].body), "signature")
    assert s.count() == 2 and s.heights(LOG) == {public_key(SEED_A): {LOG: 1}}
    agree(s)


def check_ingest_many_keeps_prefix(f):
    s = f.new()
    ops = chain(5)
    items = [(o.header_bytes, o.body) for o in ops[:3]] + [ops[4]]
    msg = raises(lambda: s.ingest_many(items), "#4 of batch", "gap")
    assert "the 3 before it were stored" in msg
    assert s.count() == 3
    assert s.ingest_many([ops[3], (ops[4].header_bytes, ops[4].body), ops[0]]) == 2
    agree(s)


def check_timestamp_range(f):
    s = f.new()
    ok = operation.create(SEED_A, body(1), 0, None, operation.Extensions(LOG, (1 << 63) - 1))
    too_big = operation.create(SEED_B, body(2), 0, None, operation.Extensions(LOG, 1 << 63))
    u64_max = operation.create(SEED_B, body(3), 0, None, operation.Extensions(LOG, (1 << 64) - 1))
    assert s.ingest(ok.header_bytes, ok.body)[1] is True
    raises(lambda: s.ingest(too_big.header_bytes, too_big.body), "timestamp")
    raises(lambda: s.ingest_op(u64_max), "timestamp")
    raises(lambda: s.ingest_many([too_big]), "#1 of batch", "timestamp")
    raises(lambda: s.publish(SEED_B, body(4), LOG, 1 << 63), "timestamp")
    # our own log cannot be pushed past the range by the +1 rule either
    raises(lambda: s.publish(SEED_A, body(5), LOG, 0), "timestamp")
    assert s.count() == 1
    agree(s)


def check_prune_drops_earlier_everywhere(f):
    s = f.new()
    old = chain(3)
    for op in old:
        s.ingest_op(op)
    other = s.publish(SEED_B, body(7), LOG, 5)
    v = s.version
    pruning = s.publish(SEED_A, body(9), LOG, 5000, prune=True)
    assert pruning.seq_num == 3 and pruning.prune
    for reopen in (False, True):
        if reopen:
            s = f.reopen(s)
        for op in old:
            assert not s.has(op.hash) and s.position(op.hash) is None
        assert s.has(pruning.hash) and s.has(other.hash)
        assert s.count() == 2
        assert hashes(s.operations(public_key(SEED_A), LOG)) == [pruning.hash]
        assert sorted(hashes(s.all_operations(LOG))) == sorted([pruning.hash, other.hash])
        assert s.heights(LOG) == {public_key(SEED_A): {LOG: 3}, public_key(SEED_B): {LOG: 0}}
        assert s.operations_since(v) is None  # removed since v: rebuild
        assert s.operations_since(s.version) == []
        agree(s)
    # a pruned operation sent again is an old one, not a new start
    raises(lambda: s.ingest_op(old[0]), "fork or replay")
    assert s.count() == 2


def check_prune_without_past(f):
    s = f.new()
    src = MemoryStore()
    for i in range(3):
        src.publish(SEED_A, body(i), LOG, i)
    pruning = src.publish(SEED_A, body(7), LOG, 10, prune=True)
    v = s.version
    assert s.ingest(pruning.header_bytes, pruning.body)[1] is True
    assert s.heights(LOG) == {public_key(SEED_A): {LOG: 3}}
    # nothing was removed, so the change list still works
    assert hashes(s.operations_since(v)) == [pruning.hash]
    agree(s)


def check_body_fill_in(f):
    s = f.new()
    ops = chain(2)
    s.ingest(ops[0].header_bytes, None)  # header only (a peer stripped the body)
    s.ingest(ops[1].header_bytes, None)
    assert s.operations(public_key(SEED_A), LOG)[0].body is None
    v = s.version
    # a body that does not match the header's payload hash is refused
    forged = operation.Operation(ops[0].header, ops[0].header_bytes, ops[1].body)
    raises(lambda: s.ingest_op(forged), "payload")
    raises(lambda: s.ingest(ops[0].header_bytes, ops[1].body), "payload")
    assert s.version == v
    op, changed = s.ingest(ops[0].header_bytes, ops[0].body)
    assert changed is True and s.version > v
    assert s.ingest(ops[0].header_bytes, ops[0].body)[1] is False  # now a duplicate
    assert s.ingest(ops[0].header_bytes, None)[1] is False         # and stays filled
    for reopen in (False, True):
        if reopen:
            s = f.reopen(s)
        assert s.count() == 2
        assert [o.body for o in s.operations(public_key(SEED_A), LOG)] == [ops[0].body, None]
        since = s.operations_since(v)
        assert hashes(since) == [ops[0].hash] and since[0].body == ops[0].body
        agree(s)
    # filling the latest operation's body keeps the log going
    s.ingest_op(ops[1])
    assert s.latest(public_key(SEED_A), LOG).body == ops[1].body
    assert s.publish(SEED_A, body(5), LOG, 0).seq_num == 2


def check_version_and_operations_since(f):
    s = f.new()
    assert s.version == 0
    assert s.operations_since(0) == []
    a = chain(2)
    b = chain(1, SEED_B)
    c = chain(1, SEED_A, OTHER_LOG)
    s.ingest_op(a[0])
    v1 = s.version
    assert v1 > 0
    s.ingest_op(b[0])
    s.ingest_op(c[0])
    s.ingest_op(a[1])
    v2 = s.version
    assert v2 > v1
    assert hashes(s.operations_since(0)) == hashes([a[0], b[0], c[0], a[1]])  # insertion order
    assert hashes(s.operations_since(v1)) == hashes([b[0], c[0], a[1]])
    assert hashes(s.operations_since(v1, LOG)) == hashes([b[0], a[1]])
    assert hashes(s.operations_since(0, OTHER_LOG)) == hashes([c[0]])
    assert s.operations_since(v2) == []
    # neither a duplicate nor a rejected op changes the version
    s.ingest_op(a[1])
    raises(lambda: s.ingest_op(chain(3, SEED_B)[2]), "gap")
    assert s.version == v2
    assert s.count() == 4
    agree(s)


def check_publish_many(f):
    s = f.new()
    first = s.publish(SEED_A, body(0), LOG, 10 ** 6)
    out = s.publish_many(SEED_A, [body(i) for i in range(1, 6)], LOG, 5, batch=2)
    assert [o.seq_num for o in out] == [1, 2, 3, 4, 5]
    assert out[0].backlink == first.hash and out[3].backlink == out[2].hash
    stamps = [o.timestamp for o in out]
    assert stamps == list(range(10 ** 6 + 1, 10 ** 6 + 6))  # clock behind the log: kept rising
    listed = s.publish_many(SEED_A, [body(6), body(7)], LOG, [2 * 10 ** 6, 3 * 10 ** 6])
    assert [o.timestamp for o in listed] == [2 * 10 ** 6, 3 * 10 ** 6]
    # the same operations as publishing one by one, byte for byte
    one = MemoryStore()
    one.publish(SEED_A, body(0), LOG, 10 ** 6)
    for i in range(1, 6):
        one.publish(SEED_A, body(i), LOG, 5 + i - 1)
    assert [o.header_bytes for o in one.operations(public_key(SEED_A), LOG)] == \
        [o.header_bytes for o in s.operations(public_key(SEED_A), LOG, until_seq=5)]
    assert s.count() == 8
    agree(s)


CONTRACT = [
    check_insert_has_duplicate,
    check_forks_gaps_backlinks_rejected,
    check_ingest_many_keeps_prefix,
    check_timestamp_range,
    check_prune_drops_earlier_everywhere,
    check_prune_without_past,
    check_body_fill_in,
    check_version_and_operations_since,
    check_publish_many,
]


# ------------------------------------------------------------------------------ the stores
class MemoryFactory:
    name = "memory"

    def new(self):
        return MemoryStore()

    def reopen(self, s):
        return s

    def close(self):
        pass


class _PathFactory:
    def __init__(self, directory):
        self.directory = directory
        self.opened = []
        self.n = 0

    def new(self):
        self.n += 1
        return self._open("%s/store%d%s" % (self.directory, self.n, self.suffix))

    def _open(self, path):
        s = self.cls(path)
        self.opened.append(s)
        return s

    def reopen(self, s):
        s.close()
        self.opened.remove(s)
        return self._open(s.path)

    def close(self):
        for s in self.opened:
            s.close()
        self.opened = []


def run_contract(factories):
    """Run every check against every factory; returns ["store check: error", ...]."""
    failures = []
    for fac in factories:
        for check in CONTRACT:
            try:
                check(fac)
            except Exception as e:
                failures.append("%s %s: %s %s" % (fac.name, check.__name__, type(e).__name__, e))
            finally:
                fac.close()
    return failures


if pytest is not None:
    import os

    from pandascreen.node.sqlite_store import SqliteStore

    class SqliteFactory(_PathFactory):
        name = "sqlite"
        cls = SqliteStore
        suffix = ".db"

    @pytest.fixture(params=["memory", "sqlite"])
    def factory(request, tmp_path):
        if request.param == "memory":
            fac = MemoryFactory()
        else:
            fac = SqliteFactory(str(tmp_path))
        yield fac
        fac.close()

    @pytest.mark.parametrize("check", CONTRACT, ids=[c.__name__[6:] for c in CONTRACT])
    def test_contract(factory, check):
        check(factory)

    def test_base_store_names_its_primitives():
        import inspect

        from pandascreen.core.store import BaseStore
        doc = inspect.getsource(BaseStore).split("def _lookup")[0]  # the contract comments
        for name in ("_lookup", "latest", "_insert", "_fill_body", "position", "operations_since", "_write"):
            assert name in doc
        s = BaseStore()
        for call in (lambda: s._lookup(b"x"), lambda: s.latest(b"x", None), lambda: s.version,
                     lambda: s.position(b"x")):
            with pytest.raises(NotImplementedError):
                call()

    CONTRACT_SCRIPT = ("import sys\n"
                       "import store_contract as c\n"
                       "print(sys.implementation.name)\n"
                       "bad = c.run_contract([c.MemoryFactory()])\n"
                       "print('checks', len(c.CONTRACT), 'failures', len(bad))\n"
                       "for b in bad:\n"
                       "    print(b)\n")

    def _contract_lib(tmp_path):
        import shutil
        lib = tmp_path / "lib"
        lib.mkdir()
        shutil.copy(os.path.abspath(__file__), str(lib / "store_contract.py"))
        return str(lib)

    def test_contract_under_micropython(tmp_path):
        from pandascreen.testing.micropython import FIRMWARE, run_micropython
        out = run_micropython(CONTRACT_SCRIPT, libs=[FIRMWARE, _contract_lib(tmp_path)])
        assert "micropython" in out
        assert "checks %d failures 0" % len(CONTRACT) in out, out

    def test_contract_under_micropython_in_a_pico_heap(tmp_path):
        """The contract within the Pico W's live-heap budget (a hard 180 KB heap where a 32-bit unix
        build is named)."""
        from pandascreen.testing.micropython import FIRMWARE, run_scenario
        code = "# live: start\n" + CONTRACT_SCRIPT + "# live: end\n"
        for _runtime, out in run_scenario("store contract", code, libs=[FIRMWARE, _contract_lib(tmp_path)]):
            assert "micropython" in out
            assert "checks %d failures 0" % len(CONTRACT) in out, out
