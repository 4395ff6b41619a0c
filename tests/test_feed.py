"""The signed screen feed (core/feed.py, node/feed_sign.py) on CPython: derive, sign, check, audit."""

import pytest

from pandascreen.testing import festival as demofest
from pandascreen.bench import feed as feed_bench
from pandascreen.core import auth, cbor, feed, feed_http, layout, operation
from pandascreen.node import feed_sign
from pandascreen.core.crypto import SigningKey, public_key
from pandascreen.core.schedule import Schedule
from pandascreen.core.store import MemoryStore
from pandascreen.testing.sockets import BytesConn, SocketConn

ORGANISER = bytes(range(100, 132))
SERVE = bytes(range(140, 172))
STRANGER = bytes(range(180, 212))
FID = demofest.FESTIVAL_ID
LOG = operation.log_id_for_festival(FID)
NOW = demofest.DAY_START + 75 * 60


def demo_store(serve_level=auth.READ):
    """The demo festival signed by ORGANISER, with SERVE added to the festival group."""
    s = MemoryStore()
    demofest.publish(s, ORGANISER, LOG)
    s.publish(ORGANISER, auth.group_body(public_key(ORGANISER), auth.add(public_key(SERVE), serve_level), []),
              LOG, demofest.DAY_START * 1000000 + 100)
    return s


def demo_feed(store=None, key=SERVE, issued=NOW, grant=None, **kw):
    store = store or demo_store()
    org = public_key(ORGANISER)
    authorizer = auth.guard(store, auth.for_authors([org]), LOG)
    sch = Schedule.from_store(store, LOG, authorizer=authorizer)
    k = SigningKey(key)
    if grant is None:
        grant = feed_sign.find_grant(store, LOG, k.public_key, [org])
    return feed_sign.build(sch, store, LOG, FID, k, grant, issued, **kw)


def checker():
    return feed.Checker(FID, [public_key(ORGANISER)])


def test_feed_round_trip_shows_what_the_schedule_shows():
    store = demo_store()
    data = demo_feed(store)
    info = checker().check(bytearray(data), len(data))
    assert info.issued_at == NOW and info.venue_count == 3 and info.signer == public_key(SERVE)
    assert NOW < info.valid_until <= NOW + feed.HORIZON
    sch = Schedule.from_store(store, LOG, authors=[public_key(ORGANISER)])
    view = feed.FeedView(bytearray(data), info, 1)
    for i in range(3):
        for t in (NOW, NOW + 1800, NOW + 3600):
            a = layout.build_view(view, i, t, "s")
            b = layout.build_view(sch, i, t, "s")
            assert (a["venue"], a["now"] and a["now"]["title"], a["next"] and a["next"]["title"]) == \
                (b["venue"], b["now"] and b["now"]["title"], b["next"] and b["next"]["title"]), (i, t)
    # canonical CBOR: our decoder reads it back, and re-encoding gives the same bytes
    assert cbor.dumps(cbor.loads(data)) == data


def test_feed_is_deterministic_and_carries_its_sources():
    store = demo_store()
    a, b = demo_feed(store), demo_feed(store)
    assert a == b
    items = cbor.loads(a)
    (author, seq, head), = items[8]
    assert author == public_key(ORGANISER) and seq == store.count() - 1
    assert head == store.latest(author, LOG).hash


def test_audit_against_the_logs():
    store = demo_store()
    data = demo_feed(store)
    org = public_key(ORGANISER)
    assert feed_sign.audit(data, store, LOG, auth.for_authors([org]))
    # later operations do not matter: the audit truncates the logs at the feed's sources
    store.publish(ORGANISER, demofest.bodies()[-1], LOG, demofest.DAY_START * 1000000 + 200)
    assert feed_sign.audit(data, store, LOG, auth.for_authors([org]))
    # a feed the serve key signed with a title the logs never had fails the audit
    items = cbor.loads(data)[:-1]
    items[10][0][2][0][2] = "FREE BEER"
    forged = feed_sign.sign_payload(items, SigningKey(SERVE))
    checker().check(bytearray(forged), len(forged))  # correctly signed ...
    with pytest.raises(feed.FeedError, match="does not match"):
        feed_sign.audit(forged, store, LOG, auth.for_authors([org]))  # ... but not what the logs say


@pytest.mark.parametrize("tamper", ["byte", "truncate", "stranger", "pull-only", "other-festival", "no-grant"])
def test_checker_refuses(tamper):
    data = bytearray(demo_feed())
    if tamper == "byte":
        i = data.index(b"Mesh networks")
        data[i] ^= 1
    elif tamper == "truncate":
        data = data[:-10]
    elif tamper == "stranger":  # signed by a key nobody authorized, showing SERVE's grant
        items = cbor.loads(bytes(data))[:-1]
        items[6] = public_key(STRANGER)
        data = bytearray(feed_sign.sign_payload(items, SigningKey(STRANGER)))
    elif tamper == "pull-only":
        data = bytearray(demo_feed(demo_store(auth.PULL), grant=_grant_of(demo_store(auth.PULL))))
    elif tamper == "other-festival":
        data = bytearray(demo_feed())
        data[data.index(FID.encode())] ^= 2
    elif tamper == "no-grant":  # SERVE is no organiser: a null grant does not do
        items = cbor.loads(bytes(data))[:-1]
        items[7] = None
        data = bytearray(feed_sign.sign_payload(items, SigningKey(SERVE)))
    with pytest.raises(feed.FeedError):
        checker().check(data, len(data))


def _grant_of(store):
    for op in store.all_operations(LOG):
        if auth.is_group_body(op.body):
            return [op.header_bytes, op.body]


def test_organiser_signs_without_a_grant_and_the_grant_is_checked_once():
    data = bytearray(demo_feed(key=ORGANISER))
    assert cbor.loads(bytes(data))[7] is None
    checker().check(data, len(data))
    c = checker()
    served = bytearray(demo_feed())
    c.check(served, len(served))
    assert len(c._trusted) == 1
    c.check(served, len(served))
    assert len(c._trusted) == 1


@pytest.mark.parametrize("action,level", [("Add", auth.READ), ("Add", auth.WRITE), ("Add", auth.PULL),
                                          ("Promote", auth.MANAGE), ("Remove", None), ("Add-other", auth.READ)])
def test_grant_walk_agrees_with_the_group_parser(action, level):
    """feed._grants walks the wire form itself (memory); it must agree with core/auth_group."""
    from pandascreen.core.auth_group import parse_group_body

    gid = public_key(ORGANISER)
    member = public_key(STRANGER) if action == "Add-other" else public_key(SERVE)
    act = {"Add": auth.add, "Add-other": auth.add, "Promote": auth.promote}.get(action)
    a = act(member, level) if act else auth.remove(member)
    body = auth.group_body(gid, a, [bytes(32), bytes(range(32))])
    g, parsed, _ = parse_group_body(body)
    expected = parsed[0] in ("Add", "Promote") and parsed[1] == public_key(SERVE) and parsed[3] >= auth.READ
    assert feed._grants(body, gid, public_key(SERVE)) == expected
    assert not feed._grants(body, public_key(SERVE), public_key(SERVE))  # another group
    assert not feed._grants(body + b"\x00", gid, public_key(SERVE))


def http(body, length=True):
    head = b"HTTP/1.0 200 OK\r\n" + (b"Content-Length: %d\r\n" % len(body) if length else b"") + b"\r\n"
    return head + body


@pytest.mark.parametrize("length", [True, False])
def test_read_http_is_bounded(length):
    data = demo_feed()
    buf = bytearray(feed.MAX_FEED_BYTES)
    n = feed_http.read_http(BytesConn(http(data, length), trickle=100), buf)
    assert bytes(buf[:n]) == data
    big = bytes(len(buf) + 1)
    conn = BytesConn(http(big, length), trickle=100)
    with pytest.raises(feed.FeedError, match="limit"):
        feed_http.read_http(conn, buf)
    assert conn.taken <= len(buf) + 100  # never read past the buffer (plus one header chunk)
    with pytest.raises(feed.FeedError, match="404"):
        feed_http.read_http(BytesConn(b"HTTP/1.0 404 Not Found\r\n\r\n", trickle=100), buf)


def test_38c3_feed_is_small_and_complete():
    data, org, fid, log_id, issued, counts, (update,) = feed_bench.signed_feed()
    assert counts["venues"] == 72 and counts["events"] >= 1000
    assert len(data) <= feed.MAX_FEED_BYTES and len(update) <= feed.MAX_FEED_BYTES
    info = feed.Checker(fid, [org]).check(bytearray(data), len(data))
    assert info.venue_count == 72 and info.valid_until > info.issued_at
    items = cbor.loads(data)
    assert sum(len(v[2]) for v in items[10]) >= 72  # the busiest hour: most venues have something


def test_feed_server_to_satellite_over_loopback():
    """A full peer serves the feed on 127.0.0.1; the board loop (on CPython) fetches, checks, draws."""
    from pandascreen.testing.canvas import VLSBCanvas
    from pandascreen.board.board import Satellite
    from pandascreen.node.feed_server import FeedServer, FeedSource

    store = demo_store()
    t = [NOW]
    src = FeedSource(store, FID, SERVE, [public_key(ORGANISER)], clock=lambda: t[0])
    server = FeedServer(src, "127.0.0.1", 0).start()
    try:
        cfg = {"festival_id": FID, "organiser_keys": [public_key(ORGANISER)],
               "peer_addrs": [("127.0.0.1", server.port)], "sync_interval": 60}
        c = VLSBCanvas(128, 64)
        log = []
        sat = Satellite(cfg, c, lambda: None, 128, 64, clock=lambda: t[0], connect=SocketConn, log=log.append)
        assert sat.step(), log
        assert sat.feed_count == 1 and sat.view(NOW)["now"]["title"] == "Mesh networks at festivals"
        first = src.get()
        t[0] += 30
        assert src.get() is first  # cached while fresh and the store unchanged
        t[0] += 60
        sat.step()
        assert sat.feed_count == 2 and sat.status(t[0]).startswith("synced")
        # a peer whose key has no Read grant answers 503 and the board keeps its feed
        bad = FeedServer(FeedSource(store, FID, STRANGER, [public_key(ORGANISER)]), "127.0.0.1", 0).start()
        try:
            sat.cfg = dict(cfg, peer_addrs=[("127.0.0.1", bad.port)])
            sat._best = None
            t[0] += 60
            sat.step()
            assert sat.feed_count == 2 and "503" in log[-1], log
        finally:
            bad.stop()
    finally:
        server.stop()


def test_serve_feed_option_signs_with_the_organiser_key():
    """`pandascreen-host serve --feed IP:PORT`: the organiser's key signs, no grant needed."""
    from pandascreen_host.serve import _serve_feed
    from pandascreen_host.errors import UserError

    store = demo_store()
    server = _serve_feed("127.0.0.1:0", store, FID, ORGANISER, public_key(ORGANISER))
    try:
        conn = SocketConn("127.0.0.1", server.port)
        conn.send(feed_http.http_request(FID))
        buf = bytearray(feed.MAX_FEED_BYTES)
        n = feed_http.read_http(conn, buf)
        conn.close()
        info = checker().check(buf, n)
        assert info.signer == public_key(ORGANISER) and cbor.loads(bytes(buf[:n]))[7] is None
    finally:
        server.stop()
    with pytest.raises(UserError, match="IP:PORT"):
        _serve_feed("8026", store, FID, ORGANISER, public_key(ORGANISER))


def test_a_pi_screen_serves_the_feed_of_the_schedule_it_holds(tmp_path):
    import threading
    from types import SimpleNamespace
    from pandascreen.node.feed_server import start_for_screen

    store = demo_store()
    (tmp_path / "device.key").write_bytes(SERVE)
    sch = Schedule.from_store(store, LOG, authors=[public_key(ORGANISER)])
    device = SimpleNamespace(controller=SimpleNamespace(schedule=sch), _lock=threading.RLock())
    said = []
    cfg = {"festival_id": FID, "organiser_keys": [public_key(ORGANISER)]}
    server = start_for_screen(cfg, store, str(tmp_path), device, said.append, port=0)
    try:
        conn = SocketConn("127.0.0.1", server.port)
        conn.send(feed_http.http_request(FID))
        buf = bytearray(feed.MAX_FEED_BYTES)
        n = feed_http.read_http(conn, buf)
        conn.close()
        assert checker().check(buf, n).signer == public_key(SERVE)
    finally:
        server.stop()
    assert start_for_screen(dict(cfg, key="missing.key"), store, str(tmp_path), device, said.append, port=0) is None
    assert "cannot read the device key" in said[-1]


def test_a_cancelled_event_reaches_a_satellite_marked_cancelled():
    """The feed has no status field: a cancelled talk's title says so, so a board never shows it
    as happening (and an older board's firmware reads it the same); the audit still re-derives it."""
    from pandascreen.core import schema
    store = demo_store()
    sch = Schedule.from_store(store, LOG, authors=[public_key(ORGANISER)])
    on_now = [e for v in sch.venues() for e in sch.events(v.id) if e.start <= NOW < e.end][0]
    store.publish(ORGANISER, schema.make_body("event", "update", on_now.id, {"status": schema.CANCELLED}), LOG,
                  demofest.DAY_START * 1000000 + 200)
    data = demo_feed(store)
    info = checker().check(bytearray(data), len(data))
    view = feed.FeedView(bytearray(data), info, 1)
    titles = [layout.build_view(view, i, NOW)["now"] for i in range(info.venue_count)]
    assert (on_now.title, layout.CANCELLED) in [(t["title"], t["status"]) for t in titles if t]
    assert b"CANCELLED: " + on_now.title.encode() in data
    assert feed_sign.audit(data, store, LOG, auth.for_authors([public_key(ORGANISER)]))


NON_ASCII_STATUS = r"""
from pandascreen.core import feed_http
from pandascreen.core.errors import PandascreenError


class Conn:
    def __init__(self, data):
        self.data, self.at = data, 0

    def send(self, data):
        pass

    def readinto(self, mv):
        n = min(len(mv), len(self.data) - self.at)
        mv[:n] = self.data[self.at:self.at + n]
        self.at += n
        return n


# a captive portal's French reason phrase: byte 40 of the status line cuts the dash's UTF-8
line = b"HTTP/1.0 503 " + "Service indisponible \u2013 r\u00e9essayez plus tard".encode("utf-8")
try:
    feed_http.read_http(Conn(line + b"\r\nContent-Length: 0\r\n\r\n"), bytearray(256))
except PandascreenError as e:
    print("refused", str(e).startswith("feed server answered HTTP/1.0 503 Service indisponible"))
"""


def test_a_status_line_in_any_language_is_refused_as_one_peer_on_micropython_too():
    """MicroPython has no "replace" decoding: the status line said in a refusal raised
    UnicodeError when its cut split a character, which no caller expects from a peer; the board
    then drew its low-memory frame and never asked the next peer."""
    import contextlib
    import io
    from pandascreen.testing.micropython import run_micropython
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(NON_ASCII_STATUS, "status", "exec"), {})
    assert out.getvalue().split() == ["refused", "True"]
    assert run_micropython(NON_ASCII_STATUS).split() == ["refused", "True"]
