"""Benchmark section: ingest rate against the raw PyNaCl signature-verify rate, in one run.

Ed25519 verification is the floor of what any p2panda peer must pay per operation, so the
interesting number is how close full ingest (decode, canonical check, signature, payload
hash, backlink, store) gets to it.
"""

import argparse
import json
import os
import sys
import tempfile
import time

from pandascreen.core import operation, schema
from pandascreen.node.sqlite_store import SqliteStore
from pandascreen.core.store import MemoryStore

SEED = bytes(range(7, 39))


def make_ops(n):
    log = operation.log_id_for_festival("bench")
    src = MemoryStore()
    ops = []
    for i in range(n):
        body = schema.make_body("event", "create", "e%d" % i, {
            "venue": "v%d" % (i % 7), "title": "Talk number %d about sloths" % i,
            "start": 1784376000 + i * 60, "end": 1784376000 + i * 60 + 1800, "speakers": ["Ada", "Kim"]})
        ops.append(src.publish(SEED, body, log, i))
    return ops


def _rate(n, seconds):
    return n / seconds if seconds > 0 else float("inf")


def run(quick=False, n=None, sqlite_single=300):
    n = n or (200 if quick else 3000)
    from nacl.signing import VerifyKey

    ops = make_ops(n)
    results = {"operations": n}

    vk = VerifyKey(ops[0].public_key)
    msgs = [(op.header.unsigned_bytes(), op.header.signature) for op in ops]
    t = time.perf_counter()
    for m, sig in msgs:
        vk.verify(m, sig)
    results["pynacl_verify_per_s"] = _rate(n, time.perf_counter() - t)

    t = time.perf_counter()
    for op in ops:
        VerifyKey(op.public_key).verify(op.header.unsigned_bytes(), op.header.signature)
    results["pynacl_verify_with_encode_per_s"] = _rate(n, time.perf_counter() - t)

    mem = MemoryStore()
    t = time.perf_counter()
    for op in ops:
        mem.ingest(op.header_bytes, op.body)
    results["ingest_memory_per_s"] = _rate(n, time.perf_counter() - t)

    with tempfile.TemporaryDirectory() as d:
        db = SqliteStore(os.path.join(d, "batch.db"))
        t = time.perf_counter()
        db.ingest_many((op.header_bytes, op.body) for op in ops)
        results["ingest_sqlite_batch_per_s"] = _rate(n, time.perf_counter() - t)
        db.close()
        k = min(sqlite_single, n)
        db = SqliteStore(os.path.join(d, "single.db"))
        t = time.perf_counter()
        for op in ops[:k]:
            db.ingest(op.header_bytes, op.body)
        results["ingest_sqlite_fsync_each_per_s"] = _rate(k, time.perf_counter() - t)
        db.close()

    base = results["pynacl_verify_per_s"]
    for key in ("ingest_memory_per_s", "ingest_sqlite_batch_per_s", "ingest_sqlite_fsync_each_per_s"):
        results[key.replace("_per_s", "_vs_verify")] = results[key] / base
    return results


def report(r):
    lines = ["pandascreen ingest benchmark (%d signed festival operations)" % r["operations"], ""]
    rows = [
        ("raw PyNaCl Ed25519 verify", r["pynacl_verify_per_s"], None),
        ("PyNaCl verify + header encode", r["pynacl_verify_with_encode_per_s"], None),
        ("ingest -> MemoryStore", r["ingest_memory_per_s"], r["ingest_memory_vs_verify"]),
        ("ingest -> SQLite, one transaction", r["ingest_sqlite_batch_per_s"], r["ingest_sqlite_batch_vs_verify"]),
        ("ingest -> SQLite, fsync per op", r["ingest_sqlite_fsync_each_per_s"], r["ingest_sqlite_fsync_each_vs_verify"]),
    ]
    lines.append("%-36s %12s %10s" % ("", "ops/s", "vs verify"))
    for name, rate, ratio in rows:
        lines.append("%-36s %12.0f %10s" % (name, rate, "" if ratio is None else "%.0f%%" % (ratio * 100)))
    return "\n".join(lines)
