"""Publishing from the phone: the program page's signing code (browser/publish.js, bundled to
node/program_page_static/publish.js) run in Debian's headless Chromium against a page server on
127.0.0.1: the same bytes as the Python core for the golden vectors, and what it signs verifies
and ingests in Python."""
import json
import os

import pytest

import vectors
from pandascreen import demofest
from pandascreen.core import cbor, operation, schema
from pandascreen.core.crypto import blake3
from pandascreen.core.store import MemoryStore
from pandascreen.core.util import hexlify, unhexlify
from pandascreen.node.program_page import ProgramPage, ProgramSource, store_schedule

LOG = operation.log_id_for_festival(demofest.FESTIVAL_ID)
ORG = bytes(range(100, 132))
HERE = os.path.dirname(os.path.abspath(__file__))

LOAD = ("new Promise((ok, bad) => { if (window.pandascreenPublish) return ok(true);"
        " const s = document.createElement('script'); s.src = '/publish.js';"
        " s.onload = () => ok(true); s.onerror = bad; document.head.appendChild(s); })")


def _festival():
    store = MemoryStore()
    for i, body in enumerate(demofest.bodies()):
        store.publish(ORG, body, LOG, demofest.DAY_START * 1000000 + i)
    return store


@pytest.fixture
def browser(tmp_path):
    """(page server, store, run(steps)) with a headless Chromium on the page."""
    from test_console import _chromium, _stop, cdp
    store = _festival()
    page = ProgramPage(ProgramSource(store_schedule(store, LOG)), "127.0.0.1", 0, watch_every=0.05).start()
    proc, port = _chromium("http://127.0.0.1:%d/" % page.port, str(tmp_path / "profile"), ["--window-size=360,800"])
    try:
        cdp(port, [{"wait": "document.readyState === 'complete'"}, {"eval": LOAD}])
        yield page, store, lambda steps: cdp(port, steps)
    finally:
        _stop(proc)
        page.stop()


def test_the_page_serves_the_bundle_from_itself_and_it_names_its_npm_sources():
    path = os.path.join(HERE, "..", "firmware", "pandascreen", "node", "program_page_static", "publish.js")
    text = open(path, encoding="utf-8").read()
    lock = json.load(open(os.path.join(HERE, "..", "browser", "package-lock.json")))
    assert "node_modules/@noble/ed25519/index.js" in text and "node_modules/@noble/hashes/blake3.js" in text
    assert "fetch(" not in text and "import(" not in text  # it loads nothing at run time
    for name in ("@noble/ed25519", "@noble/hashes"):
        assert lock["packages"]["node_modules/" + name]["version"]


def test_in_chromium_the_phone_signs_the_vectors_byte_for_byte(browser):
    page, store, run = browser
    p = "pandascreenPublish"
    seed = "%s.unhex('%s')" % (p, vectors.SEED)
    ext = ("%s.extensions(%s.logIdForTopic(%s.blake3(new TextEncoder().encode('shirokuma-cafe'))), %d)"
           % (p, p, p, vectors.NEF_TIMESTAMP))
    got = run([{"eval": "(() => { const p = %s, seed = %s, h = p.hex;"
                        " const a = p.createOperation(seed);"
                        " const b = p.createOperation(seed, new TextEncoder().encode('Hello, Sloth!'));"
                        " const c = p.createOperation(seed, null, 1, b.hash);"
                        " const d = p.createOperation(seed, p.cbor('Hello, Panda!'), 0, null, %s);"
                        " const e = p.createOperation(seed, null, 1, d.hash, %s);"
                        " return [h(p.publicKey(seed)), h(a.unsigned), h(a.header), h(a.hash), h(b.unsigned),"
                        " h(b.header), h(b.hash), h(c.header), h(c.hash), h(d.header), h(d.hash), h(e.header),"
                        " h(e.hash), h(p.festivalLogId('%s'))]; })()" % (p, seed, ext, ext, demofest.FESTIVAL_ID)}])[0]
    assert got == [vectors.PUBLIC_KEY, vectors.A_UNSIGNED, vectors.A_HEADER, vectors.A_ID, vectors.B_UNSIGNED,
                   vectors.B_HEADER, vectors.B_ID, vectors.C_HEADER, vectors.C_ID, vectors.D_HEADER, vectors.D_ID,
                   vectors.E_HEADER, vectors.E_ID, hexlify(LOG)]


def test_in_chromium_bodies_are_the_same_bytes_as_make_body(browser):
    page, store, run = browser
    cases = [("event", "create", "v/k/talk", {"venue": "v", "title": "Zürich \u2603 talk", "start": 1700000000,
                                              "end": 1700003600, "speakers": ["Ada", "Bob"], "status": ""}),
             ("event", "update", "v/k/talk", {"status": "cancelled"}),
             ("event", "delete", "v/k/talk", None),
             ("venue", "create", "a" * 64, {"name": "Tent", "order": 300})]
    got = run([{"eval": "%s.map(c => pandascreenPublish.hex(pandascreenPublish.makeBody(...c)))" % json.dumps(cases)}])[0]
    assert got == [hexlify(schema.make_body(*c)) for c in cases]


def test_in_chromium_a_random_body_signed_on_the_phone_verifies_and_ingests_in_python(browser):
    page, store, run = browser
    body = schema.make_body("event", "create", "tent/x/%s" % hexlify(os.urandom(6)),
                            {"venue": "tent", "title": hexlify(os.urandom(40)), "start": 1, "end": 2})
    got = run([{"eval": "(() => { const p = pandascreenPublish, seed = p.loadSeed(localStorage);"
                        " const op = p.createOperation(seed, p.unhex('%s'), 0, null, p.extensions(p.unhex('%s'), %d));"
                        " return [p.hex(op.header), p.hex(op.hash), p.hex(op.publicKey)]; })()"
                        % (hexlify(body), hexlify(LOG), 1700000000000000)}])[0]
    fresh = MemoryStore()
    op, changed = fresh.ingest(unhexlify(got[0]), body)
    assert changed and hexlify(op.hash) == got[1] == hexlify(blake3(unhexlify(got[0])))
    assert hexlify(op.public_key) == got[2] and op.log_id == LOG and schema.parse_body(op.body)["id"].startswith("tent/")
    # a flipped bit in the signed header is refused
    bad = bytearray(unhexlify(got[0]))
    bad[-1] ^= 1
    with pytest.raises(Exception):
        MemoryStore().ingest(bytes(bad), body)
    assert cbor.loads(op.body)["fields"]["venue"] == "tent"


def test_in_chromium_the_key_survives_a_reload_and_comes_back_from_its_backup_code(browser):
    page, store, run = browser
    first = run([{"eval": "(() => { const p = pandascreenPublish, s = p.loadSeed(localStorage);"
                          " return [p.hex(p.publicKey(s)), p.backupCode(s)]; })()"}])[0]
    run([{"eval": "location.reload(), true"}, {"wait": "document.readyState === 'complete'"}, {"eval": LOAD}])
    again = run([{"eval": "(() => { const p = pandascreenPublish;"
                          " return p.hex(p.publicKey(p.loadSeed(localStorage))); })()"}])[0]
    assert again == first[0]
    # another phone (storage cleared) gets a new key, then the old one back from the code
    restored = run([{"eval": "(() => { const p = pandascreenPublish; localStorage.clear();"
                             " const other = p.hex(p.publicKey(p.loadSeed(localStorage)));"
                             " let typo = ''; try { p.restoreSeed(localStorage, '%s'.replace(/.$/, c => c === '0' ? '1' : '0')); }"
                             " catch (e) { typo = e.message; }"
                             " const back = p.hex(p.publicKey(p.restoreSeed(localStorage, '%s')));"
                             " return [other, typo, back, p.hex(p.publicKey(p.loadSeed(localStorage)))]; })()"
                             % (first[1], first[1])}])[0]
    assert restored[0] != first[0] and "typo" in restored[1]
    assert restored[2] == restored[3] == first[0]
