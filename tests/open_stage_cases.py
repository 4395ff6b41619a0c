"""The open stage end to end (run by test_open_stage.py inside a loopback-only network namespace,
since a screen starts iroh): a real `pandascreen` screen process (emulated HDMI display, the
all-venues board) of a self-organised festival; two phones, headless Chromium on its program
page, do the story of docs/AUTH.md: A (a member, its key brought back by its backup code)
creates a venue and stewards it; B is refused there, is invited by the key it shows, and books
a slot; the slot reaches the screen's display (its ``<png>.json`` view); A hides B's other
event; a stranger's forged and unsigned-for requests are refused in one line and change nothing.

A second screen, which knows only the first as its peer, shows the slot too and drops the hidden
event: the phones' operations reach it by relay over iroh."""
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.request

from iroh_serve_cases import interrupt
from test_console import _chromium, _stop, cdp
from pandascreen.core import auth, operation, schema
from pandascreen.core.crypto import blake3, public_key
from pandascreen.core.util import hexlify
from pandascreen.node.sqlite_store import SqliteStore

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHOTS = os.path.join(ROOT, "docs", "program")
FESTIVAL = "openstage2031"
LOG = operation.log_id_for_festival(FESTIVAL)
ORG = bytes([31] * 32)  # the organiser (festival Manage): the group's id
A = bytes([41] * 32)  # phone A's key, brought to the phone by its backup code
STRANGER = bytes([51] * 32)
SCREENS = ((bytes([61] * 32), 42011, 48011), (bytes([62] * 32), 42012, 48012))  # (key, iroh port, page port): fixed, the namespace is ours
READY = "!!document.querySelector('#stage:not([hidden]) #book')"
MSG = "document.getElementById('stage-msg')"


def backup_code(seed):
    """browser/publish.js backupCode: the seed in hex and 4 check characters, in groups of 8."""
    text = hexlify(seed) + hexlify(blake3(seed))[:4]
    return "-".join(text[i:i + 8] for i in range(0, len(text), 8))


def _festival(path):
    """The organiser's start: the festival (UTC+2) and A invited as a member (Write)."""
    with SqliteStore(path) as store:
        t = int(time.time()) * 1000000
        store.publish(ORG, schema.make_body("festival", "create", FESTIVAL, {"name": "Open Stage 2031",
                                                                             "utc_offset": 120}), LOG, t)
        store.publish(ORG, auth.group_body(public_key(ORG), auth.add(public_key(A), auth.WRITE)), LOG, t + 1)


def _screen(tmp_path, i, peers):
    seed, port, page = SCREENS[i]
    d = tmp_path / ("screen%d" % i)
    d.mkdir()
    (d / "device.key").write_bytes(seed)
    os.chmod(str(d / "device.key"), 0o600)
    if i == 0:
        _festival(str(d / "screen.db"))
    cfg = {"festival_id": FESTIVAL, "festival_mode": "self-organised", "organisers": [hexlify(public_key(ORG))],
           "peers": peers, "listen_port": port, "program_page_port": page, "feed_port": 0,
           "store": "screen.db", "key": "device.key", "render_interval": 0, "layout": "all_venues",
           "display": "hdmi"}
    (d / "config.json").write_text(json.dumps(cfg))
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "firmware"))
    proc = subprocess.Popen([sys.executable, "-m", "pandascreen.node.app", "--config", str(d / "config.json"),
                             "--emulate", str(d / "screen.png")], stdout=subprocess.DEVNULL,
                            stderr=open(str(d / "log.txt"), "w"), env=env)
    return proc, str(d / "screen.png.json"), "http://127.0.0.1:%d/" % page


def _until(what, fn, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            got = fn()
        except OSError:
            got = None
        if got:
            return got
        time.sleep(0.02)
    raise AssertionError("not within %.0f s: %s" % (timeout, what))


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode("utf-8")


def _state(url, seed):
    return json.loads(_get(url + "publish/state?key=" + hexlify(public_key(seed))))


def _post(url, header, body):
    host, port = url.split("//", 1)[1].rstrip("/").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("POST", "/publish", body=json.dumps({"header": hexlify(header), "body": hexlify(body)}),
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8")
    finally:
        conn.close()


def _view_says(path, text):
    with open(path, encoding="utf-8") as fh:
        return text in fh.read()


def _book(title, minutes_from_now):
    wall = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() + minutes_from_now * 60 + 120 * 60))
    return ("(() => { const f = document.getElementById('book'); const o = [...f.venue.options]"
            ".find(o => o.textContent.startsWith('Garden')); f.venue.value = o.value; f.title.value = '%s';"
            " f.start.value = '%s'; f.minutes.value = '30'; %s.className = ''; f.requestSubmit(); return true; })()"
            % (title, wall, MSG))


def test_two_phones_and_a_steward_on_two_screens(tmp_path):
    shots = SHOTS if os.environ.get("PANDASCREEN_PROGRAM_SHOTS") == "1" else str(tmp_path)
    os.makedirs(shots, exist_ok=True)
    one, view1, url1 = _screen(tmp_path, 0, [])
    two = None
    phones = []
    try:
        _until("the program page", lambda: "<main" in _get(url1) and _state(url1, A)["member"])
        two, view2, url2 = _screen(tmp_path, 1, ["%s@127.0.0.1:%d" % (hexlify(public_key(SCREENS[0][0])), SCREENS[0][1])])
        _until("the second screen's page", lambda: "<main" in _get(url2) and _state(url2, A)["member"], timeout=60)
        # phone A on screen one: its key comes back from its backup code; it creates an invite-only venue
        proc_a, port_a = _chromium(url1, str(tmp_path / "phone-a"), ["--window-size=360,800"])
        phones.append(proc_a)
        a = cdp(port_a, [{"size": [360, 800]}, {"wait": READY},
                         {"eval": "(() => { const f = document.getElementById('restore'); f.code.value = '%s';"
                                  " f.requestSubmit(); return true; })()" % backup_code(A)},
                         {"wait": "document.getElementById('my-key-hex').textContent === '%s'"
                                  " && !!document.getElementById('new-venue')" % hexlify(public_key(A))},
                         {"eval": "(() => { const f = document.getElementById('new-venue'); f.name.value = 'Garden';"
                                  " f.open.checked = false; f.requestSubmit(); return true; })()"},
                         {"wait": "!!document.querySelector('#my-venues li')"},
                         {"eval": "%s.textContent" % MSG}])
        assert a == [True, True, "Venue created: Garden"], a
        # phone B, on the same screen: refused at the invite-only venue
        proc_b, port_b = _chromium(url1, str(tmp_path / "phone-b"), ["--window-size=360,800"])
        phones.append(proc_b)
        b_key = cdp(port_b, [{"size": [360, 800]}, {"wait": READY, "timeout": 30000},
                             {"wait": "[...document.getElementById('book').venue.options]"
                                      ".some(o => o.textContent === 'Garden (invite-only)')", "timeout": 30000},
                             {"eval": "document.getElementById('my-key-hex').textContent"}])[0]
        refused = cdp(port_b, [{"eval": _book("Poetry slam", 10)}, {"wait": "%s.className !== ''" % MSG},
                               {"eval": "[%s.className, %s.textContent]" % (MSG, MSG)}])
        assert refused[1] == ["refused", "this venue is invite-only; ask its steward"]
        # A pastes B's key into the venue's invite form
        invited = cdp(port_a, [{"eval": "(() => { const f = document.querySelector('#my-venues form.invite');"
                                        " f.key.value = '%s'; %s.textContent = ''; f.requestSubmit(); return true; })()"
                                        % (b_key, MSG)},
                               {"wait": "%s.textContent === 'Invited.'" % MSG}, {"eval": "%s.className" % MSG}])
        assert invited == [True, "done"]
        # B books two slots once its page heard of the invite
        booked = cdp(port_b, [{"wait": "[...document.getElementById('book').venue.options]"
                                       ".some(o => o.textContent === 'Garden')", "timeout": 30000},
                              {"eval": _book("Poetry slam", 10)}, {"wait": "%s.className !== ''" % MSG},
                              {"eval": "%s.textContent" % MSG}])
        t0 = time.monotonic()
        assert booked[1] == "Booked: Poetry slam", booked
        _until("the slot on the display", lambda: _view_says(view1, "Poetry slam"), timeout=15)
        print("the slot reached the display %.2f s after the phone said it was booked" % (time.monotonic() - t0))
        _until("the slot on the second screen's display", lambda: _view_says(view2, "Poetry slam"), timeout=15)
        print("and the second screen's display %.2f s after" % (time.monotonic() - t0))
        other = cdp(port_b, [{"eval": _book("Other gig", 60)}, {"wait": "%s.textContent === 'Booked: Other gig'" % MSG},
                             {"wait": "document.getElementById('main').textContent.includes('Other gig')"},
                             {"wait": "!document.getElementById('not-invited')"},
                             {"size": [360, 800]}, {"shot": os.path.join(shots, "story-360-phone-b.png")},
                             {"size": [1280, 900]}, {"shot": os.path.join(shots, "story-1280-phone-b.png")}])
        assert other == [True]
        _until("Other gig on the second screen's page", lambda: "Other gig" in _get(url2))
        # A hides B's other event
        hid = cdp(port_a, [{"wait": "[...document.querySelectorAll('#hideable li')].some(li =>"
                                    " li.textContent.includes('Other gig'))", "timeout": 30000},
                           {"eval": "[...document.querySelectorAll('#hideable li')].find(li =>"
                                    " li.textContent.includes('Other gig')).querySelector('button.hide').click(), true"},
                           {"wait": "%s.textContent === 'Hidden: Other gig'" % MSG},
                           {"wait": "!document.getElementById('main').textContent.includes('Other gig')"
                                    " && document.querySelector('#my-key img').complete"},
                           {"size": [360, 800]}, {"shot": os.path.join(shots, "story-360-steward.png")},
                           {"size": [1280, 900]}, {"shot": os.path.join(shots, "story-1280-steward.png")}])
        assert hid == [True]
        _until("Other gig gone from the page", lambda: "Other gig" not in _get(url1) and "Poetry slam" in _get(url1))
        _until("Other gig gone from the second screen's page",
               lambda: "Other gig" not in _get(url2) and "Poetry slam" in _get(url2))
        # a stranger: A's key in the header with the stranger's signature, then its own signed event
        seq = _state(url1, A)["seq"]
        venue = next(v["id"] for v in _state(url1, A)["venues"] if v["name"] == "Garden")
        body = schema.make_body("event", "create", "%s/%s/free-beer" % (venue, hexlify(public_key(A))),
                                {"venue": venue, "title": "FREE BEER", "start": int(time.time()), "end": int(time.time()) + 60})
        prev = _state(url1, A)["backlink"]
        forged = operation.create(STRANGER, body, seq, bytes.fromhex(prev),
                                  operation.Extensions(LOG, int(time.time() * 1e6), False))
        header = bytearray(forged.header_bytes)
        at = bytes(header).index(public_key(STRANGER))
        header[at:at + 32] = public_key(A)
        assert _post(url1, bytes(header), body)[0] == 400
        own = operation.create(STRANGER, schema.make_body("event", "create", "%s/%s/x" % (venue, hexlify(public_key(STRANGER))),
                                                          {"venue": venue, "title": "FREE BEER", "start": 1, "end": 2}),
                               0, None, operation.Extensions(LOG, int(time.time() * 1e6), False))
        assert _post(url1, own.header_bytes, own.body) == (403, "this venue is invite-only; ask its steward\n")
        assert _state(url1, A)["seq"] == seq and "FREE BEER" not in _get(url1)
        assert "FREE BEER" not in open(view1, encoding="utf-8").read()
    except AssertionError:
        for i in range(len(SCREENS)):
            log = tmp_path / ("screen%d" % i) / "log.txt"
            if log.exists():
                print("--- screen %d said" % i, log.read_text()[-3000:])
        raise
    finally:
        for proc in phones:
            _stop(proc)
        interrupt(one, two)
