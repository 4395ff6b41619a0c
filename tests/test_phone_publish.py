"""Publishing from the phone: the program page's signing code (browser/publish.js, bundled to
node/program_page_static/publish.js) run in Debian's headless Chromium against a page server on
127.0.0.1: the same bytes as the Python core for the golden vectors, and what it signs verifies
and ingests in Python."""
import http.client
import json
import os
import time

import pytest

import vectors
from test_console import reloaded
from pandascreen.testing import festival as demofest
from pandascreen.core import auth, cbor, operation, schema
from pandascreen.core.crypto import blake3, public_key
from pandascreen.core.schedule import Schedule
from pandascreen.core.store import MemoryStore
from pandascreen.core.util import hexlify, unhexlify
from pandascreen.node.phone_inbox import MAX_REQUEST as PhoneInbox_MAX, PhoneInbox
from pandascreen.node.program_page import ProgramPage, ProgramSource, store_schedule

LOG = operation.log_id_for_festival(demofest.FESTIVAL_ID)
ORG = bytes(range(100, 132))
HERE = os.path.dirname(os.path.abspath(__file__))
SHOTS = os.path.join(HERE, "..", "docs", "program")

# Chromium starts on an empty about:blank document that is also 'complete': wait for the served page
PAGE_READY = "location.protocol === 'http:' && document.readyState === 'complete' && !!document.head"
LOAD = ("new Promise((ok, bad) => { if (window.pandascreenPublish) return ok(true);"
        " const s = document.createElement('script'); s.src = '/publish.js';"
        " s.onload = () => ok(true); s.onerror = bad; document.head.appendChild(s); })")


def _festival():
    store = MemoryStore()
    demofest.publish(store, ORG, LOG)
    return store


@pytest.fixture
def browser(tmp_path):
    """(page server, store, run(steps)) with a headless Chromium on the page."""
    from test_console import _chromium, _stop, cdp
    store = _festival()
    page = ProgramPage(ProgramSource(store_schedule(store, LOG)), "127.0.0.1", 0, watch_every=0.05).start()
    proc, port = _chromium("http://127.0.0.1:%d/" % page.port, str(tmp_path / "profile"), ["--window-size=360,800"])
    try:
        cdp(port, [{"wait": PAGE_READY}, {"eval": LOAD}])
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
    run(reloaded(PAGE_READY) + [{"eval": LOAD}])
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


# -- the screen takes what a phone signed (node/phone_inbox.py, POST /publish) -----------------------

class Key:
    """One key publishing into the festival log (seq and backlink kept)."""

    def __init__(self, n):
        self.seed = bytes([n]) * 32
        self.key = public_key(self.seed)
        self.hex = hexlify(self.key)
        self.ops = []

    def sign(self, body, log=LOG):
        prev = self.ops[-1] if self.ops else None
        op = operation.create(self.seed, body, len(self.ops), prev.hash if prev else None,
                              operation.Extensions(log, (demofest.DAY_START + len(self.ops)) * 1000000, False))
        self.ops.append(op)
        return op

    def group(self, group_id, action, deps=()):
        return self.sign(auth.group_body(group_id, action, [getattr(d, "hash", d) for d in deps]))

    def event(self, venue, name, title="Talk", action="create", **more):
        fields = None if action == "delete" else dict({"venue": venue, "title": title, "start": NOW + 3600,
                                                      "end": NOW + 7200}, **more)
        if action == "update":
            fields = dict({"title": title}, **more)
        return self.sign(schema.make_body("event", action, "%s/%s/%s" % (venue, self.hex, name), fields))


ORGANISER, STEWARD, GUEST, STRANGER = Key(1), Key(2), Key(3), Key(4)
OPEN_VENUE = hexlify(public_key(b"\x71" * 32))  # a fresh key names a venue's group
INVITE_ONLY = hexlify(public_key(b"\x72" * 32))
NOW = demofest.DAY_START + 3600


def open_stage():
    """A self-organised festival in a guarded store: the organiser invited the steward and the
    guest; the steward made an open venue (Tent) and an invite-only one (Cellar)."""
    for k in (ORGANISER, STEWARD, GUEST, STRANGER):
        k.ops = []
    store = MemoryStore()
    a = auth.guard(store, auth.Authorizer([ORGANISER.key], mode=auth.SELF_ORGANISED), LOG)
    ops = [ORGANISER.sign(schema.make_body("festival", "create", demofest.FESTIVAL_ID,
                                           {"name": "Open stage", "utc_offset": 120}))]
    ops.append(ORGANISER.group(ORGANISER.key, auth.add(STEWARD.key, auth.WRITE), ops[-1:]))
    ops.append(ORGANISER.group(ORGANISER.key, auth.add(GUEST.key, auth.WRITE), ops[-1:]))
    ops.append(STEWARD.group(unhexlify(OPEN_VENUE), auth.create([(ORGANISER.key, auth.WRITE, True)])))
    ops.append(STEWARD.group(unhexlify(INVITE_ONLY), auth.create([])))
    ops.append(STEWARD.sign(schema.make_body("venue", "create", OPEN_VENUE, {"name": "Tent", "order": 1})))
    ops.append(STEWARD.sign(schema.make_body("venue", "create", INVITE_ONLY, {"name": "Cellar", "order": 2})))
    for op in ops:
        assert store.ingest_op(op)[1], op
    return store, a


@pytest.fixture
def stage():
    store, a = open_stage()
    sched = store_schedule(store, LOG, authorizer=a)
    inbox = PhoneInbox(store, LOG, a, schedule=sched)
    page = ProgramPage(ProgramSource(sched, clock=lambda: NOW), "127.0.0.1", 0, watch_every=0.05,
                       inbox=inbox).start()
    try:
        yield page, store, a
    finally:
        page.stop()


def post(page, data, ctype="application/json", path="/publish"):
    conn = http.client.HTTPConnection("127.0.0.1", page.port, timeout=10)
    try:
        conn.request("POST", path, body=data, headers={"Content-Type": ctype})
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8")
    finally:
        conn.close()


def as_json(op):
    return json.dumps({"header": hexlify(op.header_bytes), "body": hexlify(op.body) if op.body else None})


def titles(store, a):
    return sorted(e.title for e in Schedule.from_store(store, LOG, authorizer=a).all_events())


def test_a_member_books_the_open_venue_and_the_screen_stores_it_for_sync(stage):
    page, store, a = stage
    op = GUEST.event(OPEN_VENUE, "juggling", "Juggling for all")
    status, text = post(page, as_json(op))
    assert status == 200 and json.loads(text) == {"hash": hexlify(op.hash)}
    assert store.latest(GUEST.key, LOG).hash == op.hash and titles(store, a) == ["Juggling for all"]
    # the raw form: CBOR [header, body]; and the guest's own update
    again = GUEST.event(OPEN_VENUE, "juggling", action="update", title="Juggling, advanced")
    assert post(page, cbor.dumps([again.header_bytes, again.body]), "application/cbor")[0] == 200
    assert titles(store, a) == ["Juggling, advanced"]
    state = json.loads(urlopen_text(page, "/publish/state?key=" + GUEST.hex))
    assert state["seq"] == 2 and state["backlink"] == hexlify(again.hash) and state["member"] is True
    assert [(v["name"], v["open"], v["may_book"]) for v in state["venues"]] == [("Tent", True, True),
                                                                                ("Cellar", False, False)]
    assert [e["title"] for e in state["events"]] == ["Juggling, advanced"]


def urlopen_text(page, path):
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (page.port, path), timeout=10) as r:
        return r.read().decode("utf-8")


def refused(page, store, data, ctype="application/json"):
    """(status, the one line) of a refused request, checking it changed nothing."""
    before = (store.version, store.count())
    status, text = post(page, data, ctype)
    assert (store.version, store.count()) == before
    assert text.endswith("\n") and text.count("\n") == 1, text
    return status, text.strip()


def test_refused_and_malformed_requests_get_one_line_and_change_nothing(stage):
    page, store, a = stage
    assert refused(page, store, as_json(GUEST.event(INVITE_ONLY, "x"))) == (
        403, "this venue is invite-only; ask its steward")
    GUEST.ops.pop()
    status, line = refused(page, store, as_json(STRANGER.event(OPEN_VENUE, "x")))
    assert (status, line) == (403, "you are not invited to this festival: ask an organiser for an invite")
    # someone else's event (an id naming the guest, signed by the steward)
    other = STEWARD.sign(schema.make_body("event", "update", "%s/%s/juggling" % (OPEN_VENUE, GUEST.hex),
                                          {"title": "FREE BEER"}))
    assert refused(page, store, as_json(other)) == (
        403, "this event is someone else's: only its author edits it, and the venue's steward hides it")
    STEWARD.ops.pop()
    # a wrong signature
    op = GUEST.event(OPEN_VENUE, "sig")
    bad = bytearray(op.header_bytes)
    bad[40] ^= 1  # inside the public key: the signature no longer matches
    status, line = refused(page, store, json.dumps({"header": hexlify(bytes(bad)), "body": hexlify(op.body)}))
    assert status == 400 and "signature" in line
    sig = bytearray(op.header_bytes)
    sig[40 + 32] ^= 1  # inside the signature
    assert refused(page, store, json.dumps({"header": hexlify(bytes(sig)), "body": hexlify(op.body)}))[0] == 400
    # the body does not match the signed hash; another festival's log; no body; not JSON
    assert refused(page, store, json.dumps({"header": hexlify(op.header_bytes), "body": "00"}))[0] == 400
    GUEST.ops.pop()
    elsewhere = GUEST.sign(schema.make_body("event", "create", "%s/%s/x" % (OPEN_VENUE, GUEST.hex),
                                            {"venue": OPEN_VENUE, "title": "x", "start": 1, "end": 2}),
                           log=operation.log_id_for_festival("another"))
    assert refused(page, store, as_json(elsewhere)) == (400, "this operation is for another festival's log")
    GUEST.ops.pop()
    assert refused(page, store, "{nonsense")[0] == 400
    assert refused(page, store, json.dumps({"header": "zz"}))[0] == 400
    # oversize: refused before it is read
    assert refused(page, store, json.dumps({"header": "00" * 10000}))[0] == 413
    # replay: the same operation twice, and another one at a taken seq_num
    first = GUEST.event(OPEN_VENUE, "once")
    assert post(page, as_json(first))[0] == 200
    assert refused(page, store, as_json(first)) == (409, "this operation is stored already (replay)")
    GUEST.ops.pop()
    fork = GUEST.event(OPEN_VENUE, "twice")
    status, line = refused(page, store, as_json(fork))
    assert status == 409 and "fork or replay" in line
    assert titles(store, a) == ["Talk"]


def test_the_largest_event_the_group_allows_fits_one_request(stage):
    page, store, a = stage
    body = schema.make_body("event", "create", "%s/%s/big" % (OPEN_VENUE, GUEST.hex),
                            {"venue": OPEN_VENUE, "title": "t" * 1000, "track": "k" * 1000, "lang": "l" * 790,
                             "speakers": ["s" * 1000], "start": NOW, "end": NOW + 60})
    assert 3800 < len(body) <= auth.LIMITS["event"]
    op = GUEST.sign(body)
    assert len(as_json(op)) <= PhoneInbox_MAX and post(page, as_json(op))[0] == 200
    assert titles(store, a) == ["t" * 1000]


def test_the_steward_hides_an_event_and_opens_the_invite_only_venue_to_an_invite(stage):
    page, store, a = stage
    assert post(page, as_json(GUEST.event(OPEN_VENUE, "talk", "Guest talk")))[0] == 200
    hide = STEWARD.sign(schema.make_body("event", "delete", "%s/%s/talk" % (OPEN_VENUE, GUEST.hex)))
    assert post(page, as_json(hide))[0] == 200 and titles(store, a) == []
    store.ingest_op(STEWARD.group(unhexlify(INVITE_ONLY), auth.add(GUEST.key, auth.WRITE),
                                  [a_op for a_op in STEWARD.ops if a_op.body and auth.is_group_body(a_op.body)
                                   and auth.parse_group_body(a_op.body)[0] == unhexlify(INVITE_ONLY)]))
    assert post(page, as_json(GUEST.event(INVITE_ONLY, "late", "Late set")))[0] == 200
    assert titles(store, a) == ["Late set"]


def test_a_page_without_an_inbox_stays_read_only():
    store, a = open_stage()
    page = ProgramPage(ProgramSource(store_schedule(store, LOG, authorizer=a), clock=lambda: NOW),
                       "127.0.0.1", 0).start()
    try:
        status, text = post(page, as_json(GUEST.event(OPEN_VENUE, "x")))
        assert (status, text) == (403, "this festival's program is curated: ask an organiser to publish it\n")
        assert store.latest(GUEST.key, LOG) is None
    finally:
        page.stop()


# -- the open stage on a phone, in Chromium -----------------------------------------------------------

def test_in_chromium_a_participant_books_is_refused_at_an_invite_only_venue_retitles_and_cancels(stage, tmp_path):
    from test_console import _chromium, _stop, cdp
    page, store, a = stage
    # screenshots for review: docs/program/ with PANDASCREEN_PROGRAM_SHOTS=1
    shots = SHOTS if os.environ.get("PANDASCREEN_PROGRAM_SHOTS") == "1" else str(tmp_path)
    os.makedirs(shots, exist_ok=True)
    proc, port = _chromium("http://127.0.0.1:%d/" % page.port, str(tmp_path / "profile"), ["--window-size=360,800"])
    ready = "!!document.querySelector('#stage:not([hidden]) #book')"
    reload = reloaded(ready)
    try:
        first = cdp(port, [{"size": [360, 800]}, {"wait": ready},
                           {"eval": "document.getElementById('not-invited').textContent"},
                           {"eval": "document.getElementById('backup-code').textContent"},
                           {"eval": "document.documentElement.scrollWidth"},
                           {"shot": os.path.join(shots, "stage-360-not-invited.png")}])
        key = first[0].rsplit(" ", 1)[1]
        assert len(key) == 64 and first[2] <= 360
        # an organiser invites the key the phone shows
        store.ingest_op(ORGANISER.group(ORGANISER.key, auth.add(unhexlify(key), auth.WRITE), a.heads(ORGANISER.key)))
        assert a.level(ORGANISER.key, unhexlify(key)) == auth.WRITE
        local = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(NOW + 3600 + 120 * 60))  # the festival is UTC+2

        def book(venue, title):
            return ("(() => { const f = document.getElementById('book'); f.venue.value = '%s'; f.title.value = '%s';"
                    " f.start.value = '%s'; f.minutes.value = '45'; document.getElementById('stage-msg').className = '';"
                    " f.requestSubmit(); return true; })()" % (venue, title, local))
        done = "document.getElementById('stage-msg').className !== ''"
        booked = cdp(port, [{"size": [360, 800]}] + reload + [
                            {"eval": "document.getElementById('not-invited') === null"},
                            {"eval": book(OPEN_VENUE, "Poetry slam")}, {"wait": done},
                            {"eval": "[document.getElementById('stage-msg').className,"
                                     " document.getElementById('stage-msg').textContent]"},
                            {"wait": "document.querySelectorAll('#my-events li').length === 1"},
                            {"eval": "document.querySelector('#my-events li').textContent"},
                            {"eval": "document.documentElement.scrollWidth"},
                            {"shot": os.path.join(shots, "stage-360-booked.png")}])
        assert booked[1] is True and booked[3] == ["done", "Booked: Poetry slam"]
        assert "Poetry slam" in booked[4] and "Tent" in booked[4] and booked[5] <= 360
        events = Schedule.from_store(store, LOG, authorizer=a).all_events()
        assert [(e.title, e.venue, e.start, e.end) for e in events] == [("Poetry slam", OPEN_VENUE, NOW + 3600,
                                                                         NOW + 3600 + 45 * 60)]
        assert events[0].id.split("/")[1] == key
        before = (store.version, store.count())
        refused = cdp(port, [{"size": [360, 800]}, {"eval": book(INVITE_ONLY, "Secret gig")}, {"wait": done},
                             {"eval": "[document.getElementById('stage-msg').className,"
                                      " document.getElementById('stage-msg').textContent]"},
                             {"shot": os.path.join(shots, "stage-360-refused.png")}])
        assert refused[1] == ["refused", "this venue is invite-only; ask its steward"]
        assert (store.version, store.count()) == before
        # its own event: a new title, then cancelled (it stays in its slot, marked)
        edited = cdp(port, [{"size": [360, 800]},
                            {"eval": "(() => { const li = document.querySelector('#my-events li');"
                                     " li.querySelector('input').value = 'Poetry slam (open mic)';"
                                     " document.getElementById('stage-msg').className = '';"
                                     " li.querySelector('button').click(); return true; })()"},
                            {"wait": done + " && document.querySelector('#my-events li .title').textContent"
                                            " === 'Poetry slam (open mic)'"},
                            {"eval": "document.getElementById('stage-msg').className = '';"
                                     " document.querySelector('#my-events li button.cancel').click(), true"},
                            {"wait": "!!document.querySelector('#my-events li.cancelled')"},
                            {"eval": "document.getElementById('stage-msg').textContent"},
                            {"shot": os.path.join(shots, "stage-360-cancelled.png")}])
        assert edited[2] == "Cancelled: Poetry slam (open mic)"
        ev = Schedule.from_store(store, LOG, authorizer=a).all_events()[0]
        assert ev.title == "Poetry slam (open mic)" and ev.status == schema.CANCELLED
        # the key is the same after the browser reloads
        again = cdp(port, reload + [{"eval": "document.getElementById('backup-code').textContent"}])
        assert again[1] == first[1]
        # a phone that lost its storage has a new key, and takes the old one back from its code
        code = "document.getElementById('backup-code').textContent"
        back = cdp(port, [{"eval": "localStorage.clear(), true"}] + reload + [
            {"eval": code},
            {"eval": "(() => { const f = document.getElementById('restore'); f.code.value = '%s';"
                     " f.requestSubmit(); return true; })()" % first[1].upper().replace("-", " ")},
            {"wait": "%s === '%s' && document.querySelectorAll('#my-events li').length === 1" % (code, first[1])},
            {"eval": "document.getElementById('stage-msg').textContent"}])
        assert back[2] != first[1] and back[4] == "This phone now signs with the restored key."
    finally:
        _stop(proc)


def test_in_chromium_stage_scripts_refused_by_a_busy_screen_are_fetched_again(stage, tmp_path):
    """A screen over its connection budget answers 503: the open stage's scripts are asked for
    again, spread out, so the page does not stay read-only without a word."""
    from pandascreen.node.bounded_http import response
    from test_console import _chromium, _stop, cdp
    page, store, a = stage
    route, refused = page._http.route, []

    def busy_once(method, target, headers):
        if target in ("/publish.js", "/stage.js") and target not in refused:
            refused.append(target)
            return response(503, b"busy, try again soon.\r\n", "text/plain", [("Retry-After", "5")], close=True)
        return route(method, target, headers)
    page._http.route = busy_once
    proc, port = _chromium("http://127.0.0.1:%d/" % page.port, str(tmp_path / "profile"), ["--window-size=360,800"])
    try:
        got = cdp(port, [{"wait": "!!document.querySelector('#stage:not([hidden]) #book')", "timeout": 20000},
                         {"eval": "document.querySelectorAll('script[src=\"/stage.js\"]').length"}])
        assert sorted(refused) == ["/publish.js", "/stage.js"] and got == [2], (refused, got)
    finally:
        _stop(proc)


def fake_screen(store, a, **more):
    """What ``program_page.inbox_for_screen`` reads of a screen's ``Device``: its controller (the
    store, the schedule, its clock rule, here a clock it does not vouch for), its lock and its clock
    (at ``NOW``, an hour after the keys here stamp their operations)."""
    import threading
    from types import SimpleNamespace
    controller = SimpleNamespace(store=store, log_id=LOG, authorizer=a,
                                 schedule=Schedule.from_store(store, LOG, authorizer=a),
                                 screen_time=lambda now: (now, False))
    device = SimpleNamespace(controller=controller, _lock=threading.RLock(), clock=lambda: NOW,
                             clock_synced=lambda: False, **more)
    device.shown_time = lambda: controller.screen_time(device.clock())  # as node/app.py Device's
    return device


def test_a_self_organised_festivals_screen_takes_phones_operations_and_a_curated_ones_does_not():
    from types import SimpleNamespace
    from pandascreen.node.program_page import inbox_for_screen
    store, a = open_stage()
    device = fake_screen(store, a)
    inbox = inbox_for_screen(device)
    assert inbox.lock is device._lock and inbox.store is store
    assert [v["name"] for v in inbox.state(GUEST.hex)["venues"]] == ["Tent", "Cellar"]
    assert inbox.submit(as_json(GUEST.event(OPEN_VENUE, "x")).encode()) and store.latest(GUEST.key, LOG).seq_num == 0
    curated = SimpleNamespace(controller=SimpleNamespace(store=store, log_id=LOG, authorizer=auth.for_authors([ORGANISER.key]),
                                                         schedule=None), _lock=device._lock)
    assert inbox_for_screen(curated) is None
    assert inbox_for_screen(SimpleNamespace(controller=SimpleNamespace(authorizer=None), _lock=device._lock)) is None


def test_a_post_without_a_length_elsewhere_or_a_bad_key_for_the_state_is_one_line(stage):
    import socket
    import urllib.error
    page, store, a = stage
    before = (store.version, store.count())
    with socket.create_connection(("127.0.0.1", page.port), timeout=10) as s:
        s.sendall(b"POST /publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        reply = s.recv(4096)
    assert reply.startswith(b"HTTP/1.1 400 ") and reply.endswith(b"\r\n\r\na POST needs a Content-Length\n")
    assert post(page, as_json(GUEST.event(OPEN_VENUE, "x")), path="/elsewhere") == (404, "not found\n")
    with pytest.raises(urllib.error.HTTPError) as e:
        urlopen_text(page, "/publish/state?key=12")
    assert e.value.code == 400 and e.value.read() == b"key must be 32 bytes (64 hex)\n"
    assert (store.version, store.count()) == before


def test_a_phone_waiting_for_the_screens_lock_does_not_hold_up_the_other_phones():
    import threading
    class Busy:
        """The screen's lock, saying when a phone's request starts waiting for it."""

        def __init__(self):
            self.lock = threading.RLock()
            self.asked = threading.Event()

        def __enter__(self):
            if threading.current_thread() is not holder:
                self.asked.set()
            self.lock.acquire()

        def __exit__(self, *exc):
            self.lock.release()

    holder = threading.current_thread()
    store, a = open_stage()
    lock = Busy()
    sched = store_schedule(store, LOG, authorizer=a)
    page = ProgramPage(ProgramSource(sched, clock=lambda: NOW), "127.0.0.1", 0,
                       inbox=PhoneInbox(store, LOG, a, lock=lock, schedule=sched)).start()
    got = []
    try:
        with lock:  # the screen is busy (a sync, a render)
            waiting = threading.Thread(target=lambda: got.append(urlopen_text(page, "/publish/state?key=" + GUEST.hex)))
            waiting.start()
            assert lock.asked.wait(10)  # the state request waits for the lock now
            assert "<main" in urlopen_text(page, "/")  # answered while the state waits for the lock
            assert got == []
        waiting.join(10)
        assert json.loads(got[0])["member"] is True
    finally:
        page.stop()


def test_a_booking_at_a_time_no_festival_has_is_refused_in_one_line_and_later_ones_reach_the_page(stage):
    """A member's booking in the year 3 billion (or before 1970) would stop every screen's page
    from drawing, and every screen passes it on: it is refused, and the next booking is shown."""
    page, store, a = stage
    for start, end in ((10 ** 17, 10 ** 17), (NOW, 10 ** 13), (-(1 << 62), NOW)):
        body = cbor.dumps({"v": schema.SCHEMA_VERSION, "kind": "event", "action": "create",
                           "id": "%s/%s/far" % (OPEN_VENUE, GUEST.hex),
                           "fields": {"venue": OPEN_VENUE, "title": "Far", "start": start, "end": end}})
        status, line = refused(page, store, as_json(GUEST.sign(body)))
        assert status == 400 and "is not a time between 1970 and 2100" in line, line
        GUEST.ops.pop()
    assert post(page, as_json(GUEST.event(OPEN_VENUE, "after", "After the far ones")))[0] == 200
    deadline = time.monotonic() + 10
    while "After the far ones" not in urlopen_text(page, "/") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "After the far ones" in urlopen_text(page, "/")


def test_a_deeply_nested_body_or_an_endless_length_gets_one_line_and_no_traceback(stage, capfd):
    page, store, a = stage
    status, line = refused(page, store, "[" * 8000)
    assert status == 400 and "neither JSON nor CBOR" in line, line
    # a length past every limit; five bytes written with 5,000 leading zeros (read: not JSON); "²", a digit to
    # str.isdigit() and none to int()
    from test_console_guard import raw
    for length, status in (("9" * 5000, 413), ("0" * 5000 + "5", 400), ("\u00b2", 400)):
        head = "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + length
        assert raw(page, head, b"nope!", close_write=True)[0] == status, (length[:8], status)
    assert "Traceback" not in capfd.readouterr().err


def test_two_content_lengths_are_refused_and_nothing_is_read(stage):
    """Two lengths (RFC 9112 6.3): which one a proxy and the page believe differs, so a second
    request could hide in the first one's body; the page had taken the last."""
    page, store, a = stage
    before = (store.version, store.count())
    from test_console_guard import raw
    body = as_json(GUEST.event(OPEN_VENUE, "twice", "Twice")).encode()
    for lengths in ((len(body), len(body)), (5, len(body))):
        head = "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + "".join(
            "Content-Length: %d\r\n" % n for n in lengths)[:-2]
        status, _, text = raw(page, head, body, close_write=True)
        assert (status, text) == (400, b"two Content-Lengths\n"), lengths
    assert (store.version, store.count()) == before


def test_an_edit_that_would_make_an_event_end_before_it_starts_is_refused_in_one_line(stage):
    """The schema sees one body: an update of the end alone (or the start alone) passed, and the
    page showed "04:46-15:00" with the start days after the end."""
    page, store, a = stage
    assert post(page, as_json(GUEST.event(OPEN_VENUE, "slot", "Slot")))[0] == 200  # NOW+1h to NOW+2h
    for fields in ({"end": NOW}, {"start": NOW + 3 * 3600}):
        status, line = refused(page, store, as_json(GUEST.event(OPEN_VENUE, "slot", action="update", title="Slot",
                                                                **fields)))
        assert status == 400 and line == "this would make the event end before it starts: send its start and end together"
        GUEST.ops.pop()
    moved = GUEST.event(OPEN_VENUE, "slot", action="update", title="Slot", start=NOW + 3 * 3600, end=NOW + 4 * 3600)
    assert post(page, as_json(moved))[0] == 200


def test_a_booking_in_a_venue_the_program_does_not_have_is_refused_in_one_line(stage):
    """A member's booking at venue "Tent" (its name, not a venue of the program) made a second
    "Tent" heading on every phone, in no one's hide list."""
    page, store, a = stage
    status, line = refused(page, store, as_json(GUEST.event("Tent", "x", "Made-up stage")))
    assert (status, line) == (403, "there is no such venue (yet): reload the page")
    GUEST.ops.pop()
    assert post(page, as_json(GUEST.event(OPEN_VENUE, "real", "At the real Tent")))[0] == 200


@pytest.mark.parametrize("off,word", [(-86400, "behind"), (3 * 3600, "ahead")])
def test_an_operation_from_a_phone_whose_clock_is_far_off_is_refused_in_one_line(off, word):
    """A phone a day behind: its retitle got 200 and "Retitled.", and lost to the older title for
    good (the newest timestamp wins).  One far ahead outvoted every later edit and hide."""
    store, a = open_stage()
    inbox = PhoneInbox(store, LOG, a, schedule=store_schedule(store, LOG, authorizer=a),
                       clock=lambda: (NOW - 3590 - off, True))  # the guest's next op is stamped NOW - 3590
    page = ProgramPage(ProgramSource(store_schedule(store, LOG, authorizer=a), clock=lambda: NOW), "127.0.0.1", 0,
                       inbox=inbox).start()
    try:
        status, line = refused(page, store, as_json(GUEST.event(OPEN_VENUE, "late", "Late")))
        assert status == 400 and line.startswith("your phone's clock is ") and word in line and "this screen's" in line, line
        assert "set it, then send again" in line
    finally:
        page.stop()
    untrusted = PhoneInbox(store, LOG, a, schedule=store_schedule(store, LOG, authorizer=a),
                           clock=lambda: (NOW, False))  # an hour off: a screen that cannot vouch for its clock asks nothing
    assert untrusted.submit(as_json(GUEST.ops[-1]).encode())


def test_the_page_and_the_stage_state_drop_bidi_overrides_from_names_as_the_screens_do(stage):
    """Titles were cleaned on the page, venue and speaker names were not: "\u202eEGATS NIAM" read
    right to left on every phone (and in a steward's hide list) as "MAIN STAGE"."""
    page, store, a = stage
    venue = STEWARD.sign(schema.make_body("venue", "update", OPEN_VENUE, {"name": "\u202eEGATS NIAM"}))
    assert post(page, as_json(venue))[0] == 200
    booked = GUEST.event(OPEN_VENUE, "bidi", "\u202eeltit", speakers=["\u202etrebla", "Bo\u2066b"])
    assert post(page, as_json(booked))[0] == 200
    deadline = time.monotonic() + 10
    while "eltit" not in urlopen_text(page, "/") and time.monotonic() < deadline:
        time.sleep(0.05)
    for text in (urlopen_text(page, "/"), urlopen_text(page, "/publish/state?key=" + GUEST.hex),
                 urlopen_text(page, "/publish/state?key=" + STEWARD.hex)):
        assert "EGATS NIAM" in text or "EGATS NIAM" in json.loads(text).__repr__()
        for mark in ("\u202e", "\u2066", "\\u202e", "\\u2066"):
            assert mark not in text, (mark, text[:400])


def test_an_edit_of_an_event_a_steward_hid_is_refused_in_one_line_and_it_stays_hidden(stage):
    """The steward hid "Spam"; ten seconds later the author's retitle brought it back on every
    screen.  A hide is final (core/schedule.py), and the author's phone is told so."""
    page, store, a = stage
    assert post(page, as_json(GUEST.event(OPEN_VENUE, "spam", "Spam")))[0] == 200
    hide = STEWARD.sign(schema.make_body("event", "delete", "%s/%s/spam" % (OPEN_VENUE, GUEST.hex)))
    assert post(page, as_json(hide))[0] == 200 and titles(store, a) == []
    status, line = refused(page, store, as_json(GUEST.event(OPEN_VENUE, "spam", action="update", title="Spam is back")))
    assert (status, line) == (409, "the venue's steward hid this event: book a new one")
    GUEST.ops.pop()
    assert titles(store, a) == []


def test_only_a_screen_whose_clock_ntp_keeps_tells_a_phone_its_clock_is_off():
    """The screen's own inbox (program_page.inbox_for_screen).  A Pi offline restores last night's
    time at boot and its clock rule vouches for it: an honest phone was told its clock was 11 hours
    ahead.  Only a clock NTP keeps (node/ntp_state.py) is the time a phone's is measured by."""
    from pandascreen.node.phone_inbox import Refusal
    from pandascreen.node.program_page import inbox_for_screen
    store, a = open_stage()
    device = fake_screen(store, a)
    device.controller.screen_time = lambda now: (now, True)  # the clock rule vouches for this machine's clock
    assert inbox_for_screen(device).submit(as_json(GUEST.event(OPEN_VENUE, "x")).encode())  # stamped an hour before
    device.clock_synced = lambda: True  # ... and NTP keeps it
    with pytest.raises(Refusal, match="your phone's clock is .* behind this screen's"):
        inbox_for_screen(device).submit(as_json(GUEST.event(OPEN_VENUE, "y")).encode())
