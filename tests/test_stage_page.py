"""The open stage as a phone sees it, in Debian's headless Chromium against a page on 127.0.0.1:
the festival's language and time zone with its DST change (``utc_offsets``), the group operations
signed on the phone byte for byte as core/auth_group.py writes them, a steward's and an
organiser's actions through the page itself, keyboard and screen-reader basics, and a 60-character
word that must not make a 360 px phone scroll sideways."""
import os
import time

import pytest

import test_phone_publish as tp
from test_console import reloaded
from test_phone_publish import GUEST, INVITE_ONLY, LOG, OPEN_VENUE, ORGANISER, STEWARD, Key, as_json, post
from pandascreen.core import auth, schema
from pandascreen.core.schedule import Schedule
from pandascreen.core.util import hexlify, unhexlify
from pandascreen.node.phone_inbox import PhoneInbox
from pandascreen.node.program_page import ProgramPage, ProgramSource, store_schedule

NOW = tp.NOW
CHANGE = NOW + 2 * 3600  # the festival's clocks go from UTC+1 to UTC+2 here
RULE = [NOW - 86400, 60, CHANGE, 120]
LONG = "Superkalifragilistischexpialigetischesfestivalzeltamseeufer60"  # 61 characters, no space
READY = "!!document.querySelector('#stage:not([hidden]) #book')"
MSG = "document.getElementById('stage-msg')"


def _stage(**festival):
    store, a = tp.open_stage()
    if festival:
        assert store.ingest_op(ORGANISER.sign(schema.make_body("festival", "update", tp.demofest.FESTIVAL_ID,
                                                               festival)))[1]
    return store, a


def _page(store, a):
    sched = store_schedule(store, LOG, authorizer=a)
    return ProgramPage(ProgramSource(sched, clock=lambda: NOW), "127.0.0.1", 0, watch_every=0.05,
                       inbox=PhoneInbox(store, LOG, a, schedule=sched)).start()


@pytest.fixture
def phone(tmp_path):
    """start(store, a, width) -> run(steps): a Chromium phone on a stage page; all stopped after."""
    from test_console import _chromium, _stop, cdp
    held = []

    def start(store, a, width=360, url="/"):
        page = _page(store, a)
        held.append(page)
        proc, port = _chromium("http://127.0.0.1:%d%s" % (page.port, url), str(tmp_path / ("p%d" % len(held))),
                               ["--window-size=%d,800" % width])
        held.append(proc)

        def run(steps):
            return cdp(port, [{"size": [width, 800]}] + steps)
        run.page = page
        return run
    yield start
    for thing in reversed(held):
        _stop(thing) if hasattr(thing, "terminate") else thing.stop()


def _key_of(run):
    return run([{"wait": READY}, {"eval": "document.getElementById('my-key-hex').textContent"}])[0]


def test_the_page_shows_times_by_the_festivals_dst_rule(phone):
    store, a = _stage(utc_offsets=RULE)
    assert store.ingest_op(GUEST.event(OPEN_VENUE, "early", "Before the change"))[1]  # NOW+1h..NOW+2h
    late = dict(start=CHANGE + 3600, end=CHANGE + 7200)
    assert store.ingest_op(GUEST.event(OPEN_VENUE, "late", "After the change", **late))[1]
    page = _page(store, a)
    try:
        html = tp.urlopen_text(page, "/")
    finally:
        page.stop()

    def local(t, minutes):
        return time.strftime("%H:%M", time.gmtime(t + minutes * 60))
    assert "%s\u2013%s</span> <span class=\"title\">Before the change" % (local(NOW + 3600, 60), local(CHANGE, 120)) in html
    assert "%s\u2013%s</span> <span class=\"title\">After the change" % (
        local(CHANGE + 3600, 120), local(CHANGE + 7200, 120)) in html


def test_in_chromium_the_stage_speaks_the_festivals_language_and_books_in_its_zone_across_dst(phone):
    store, a = _stage(utc_offsets=RULE, language="de")
    run = phone(store, a)
    key = _key_of(run)
    store.ingest_op(ORGANISER.group(ORGANISER.key, auth.add(unhexlify(key), auth.WRITE), a.heads(ORGANISER.key)))
    wall = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(CHANGE + 3600 + 120 * 60))  # after the change: UTC+2
    got = run(reloaded(READY + " && !document.getElementById('not-invited')") + [
               {"eval": "[document.getElementById('stage-h').textContent,"
                        " document.querySelector('#book button[type=submit]').textContent]"},
               {"eval": "(() => { const f = document.getElementById('book'); f.venue.value = '%s';"
                        " f.title.value = 'Spätschicht'; f.start.value = '%s'; f.minutes.value = '60';"
                        " f.requestSubmit(); return true; })()" % (OPEN_VENUE, wall)},
               {"wait": "document.querySelectorAll('#my-events li').length === 1"},
               {"eval": "[%s.textContent, document.querySelector('#my-events .time').textContent]" % MSG}])
    assert got[1] == ["Offene Bühne", "Diesen Slot buchen"]
    ev = Schedule.from_store(store, LOG, authorizer=a).all_events()[0]
    assert (ev.title, ev.start, ev.end) == ("Spätschicht", CHANGE + 3600, CHANGE + 7200)
    shown = "%s\u2013%s" % (time.strftime("%H:%M", time.gmtime(CHANGE + 3600 + 7200)),
                            time.strftime("%H:%M", time.gmtime(CHANGE + 7200 + 7200)))
    assert got[3] == ["Gebucht: Spätschicht", shown]
    # a refusal, in German too
    refused = run([{"eval": "%s.className = ''; (() => { const f = document.getElementById('book');"
                            " f.venue.value = '%s'; f.title.value = 'Geheim'; f.start.value = '%s';"
                            " f.requestSubmit(); return true; })()" % (MSG, INVITE_ONLY, wall)},
                   {"wait": "%s.className !== ''" % MSG}, {"eval": "[%s.className, %s.textContent]" % (MSG, MSG)}])
    assert refused[1] == ["refused", "Diese Bühne ist nur mit Einladung offen; frag, wer sie betreut"]


def test_in_chromium_group_bodies_are_the_same_bytes_as_group_body(phone):
    store, a = _stage()
    run = phone(store, a)
    g, k, d = "11" * 32, "22" * 32, ["33" * 32, "44" * 32]
    js = ("(() => { const p = pandascreenPublish, u = p.unhex, h = p.hex; return ["
          "h(p.groupCreate(u('%s'))), h(p.groupCreate(u('%s'), [[u('%s'), 'Write', true]])),"
          "h(p.groupAdd(u('%s'), u('%s'), false, 'Write', [u('%s'), u('%s')])),"
          "h(p.groupAdd(u('%s'), u('%s'), true, 'Write', [])), h(p.groupRemove(u('%s'), u('%s'), false, [u('%s')]))];"
          " })()" % (g, g, k, g, k, d[0], d[1], g, k, g, k, d[0]))
    got = run([{"wait": READY}, {"eval": js}])[0]
    G, K, D = unhexlify(g), unhexlify(k), [unhexlify(x) for x in d]
    assert got == [hexlify(b) for b in (auth.group_body(G, auth.create([])),
                                        auth.group_body(G, auth.create([(K, auth.WRITE, True)])),
                                        auth.group_body(G, auth.add(K, auth.WRITE), D),
                                        auth.group_body(G, auth.add(K, auth.WRITE, group=True)),
                                        auth.group_body(G, auth.remove(K), D[:1]))]


def test_in_chromium_a_member_creates_a_venue_steward_opens_invites_and_hides_through_the_page(phone, tmp_path):
    store, a = _stage()
    run = phone(store, a)
    key = _key_of(run)
    store.ingest_op(ORGANISER.group(ORGANISER.key, auth.add(unhexlify(key), auth.WRITE), a.heads(ORGANISER.key)))
    made = run(reloaded(READY + " && !!document.getElementById('new-venue')") + [
                {"eval": "(() => { const f = document.getElementById('new-venue'); f.name.value = 'Garden';"
                         " f.open.checked = false; f.requestSubmit(); return true; })()"},
                {"wait": "!!document.querySelector('#my-venues li')"},
                {"eval": "[%s.textContent, document.querySelector('#my-venues h4').textContent]" % MSG}])
    assert made[2] == ["Venue created: Garden", "Garden (invite-only)"]
    vid = [v for v in Schedule.from_store(store, LOG, authorizer=a).venues() if v.name == "Garden"][0].id
    assert a.level(unhexlify(vid), unhexlify(key)) == auth.MANAGE
    # the guest is refused there, is invited by the key pasted in, and books
    assert tp.refused(run.page, store, as_json(GUEST.event(vid, "x")))[1] == "this venue is invite-only; ask its steward"
    GUEST.ops.pop()
    invited = run([{"eval": "(() => { const f = document.querySelector('#my-venues form.invite');"
                            " f.key.value = '  %s '; f.requestSubmit(); return true; })()" % GUEST.hex},
                   {"wait": "%s.textContent === 'Invited.'" % MSG}])
    assert invited is not None and a.level(unhexlify(vid), GUEST.key) == auth.WRITE
    assert post(run.page, as_json(GUEST.event(vid, "gig", "Garden gig")))[0] == 200
    # the steward hides it, then opens the venue to everyone
    hid = run([{"wait": "!!document.querySelector('#hideable button.hide')"},
               {"eval": "document.querySelector('#hideable button.hide').getAttribute('aria-label')"},
               # two taps in a row: the second is signed after the first is in (the next seq_num),
               # not from the state the page held before (a fork the screen refused)
               {"eval": "document.querySelector('#hideable button.hide').click(),"
                        " document.querySelector('#my-venues button.toggle').click(), true"},
               {"wait": "%s.textContent === 'Open now: Garden'" % MSG}])
    assert hid[0] == "Hide: Garden gig"
    assert tp.titles(store, a) == [] and post(run.page, as_json(STEWARD.event(vid, "s", "Open set")))[0] == 200


def test_in_chromium_a_scanned_key_fills_the_organisers_invite_and_the_invitee_can_book(phone):
    store, a = _stage()
    newcomer = Key(9)
    run = phone(store, a, url="/#invite=" + newcomer.hex)
    # this phone becomes an organiser (festival Manage) by the organiser's laptop
    key = _key_of(run)
    store.ingest_op(ORGANISER.group(ORGANISER.key, auth.add(unhexlify(key), auth.MANAGE), a.heads(ORGANISER.key)))
    got = run(reloaded(READY + " && !!document.getElementById('invite-festival')") + [
               {"eval": "[document.getElementById('scanned').textContent,"
                        " document.getElementById('invite-festival').key.value]"},
               {"eval": "document.getElementById('invite-festival').requestSubmit(), true"},
               {"wait": "%s.textContent === 'Invited.'" % MSG}])
    assert got[1][1] == newcomer.hex and newcomer.hex in got[1][0]
    assert a.level(ORGANISER.key, newcomer.key) == auth.WRITE


def test_in_chromium_a_60_character_word_does_not_scroll_a_360px_phone_and_controls_are_labelled(phone, tmp_path):
    store, a = _stage()
    for op in (STEWARD.sign(schema.make_body("venue", "update", OPEN_VENUE, {"name": LONG})),
               GUEST.event(OPEN_VENUE, "long", LONG + LONG[:5]), GUEST.event(OPEN_VENUE, "cxl", LONG)):
        assert store.ingest_op(op)[1]
    shots = tp.SHOTS if os.environ.get("PANDASCREEN_PROGRAM_SHOTS") == "1" else str(tmp_path)
    os.makedirs(shots, exist_ok=True)
    run = phone(store, a)
    unlabelled = ("[...document.querySelectorAll('#stage input, #stage select, #stage button')].filter(c =>"
                  " !(c.closest('label') || c.getAttribute('aria-label') || (c.tagName === 'BUTTON' && c.textContent.trim())))"
                  ".map(c => c.outerHTML)")
    got = run([{"wait": READY}, {"eval": "[document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]"},
               {"eval": unlabelled},
               {"eval": "[...document.querySelectorAll('h1, h2, h3, h4')].map(h => h.tagName).join(' ')"},
               {"eval": "document.querySelector('#my-key img').alt"},
               {"shot": os.path.join(shots, "stage-360-long-words.png")}])
    assert got[0][0] <= 360 and got[0][0] <= got[0][1], got[0]  # nothing wider than the phone's viewport
    assert got[1] == []
    assert got[2].startswith("H1 H2") and " H2 H3" in got[2] and got[3]


CONTRAST = """(() => {
  const lum = (c) => { const v = c.match(/[0-9.]+/g).slice(0, 3).map(Number).map(x => x / 255)
      .map(x => x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4));
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  const bg = (e) => { for (; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor;
      if (!/rgba\\(.*, 0\\)$/.test(c) && c !== 'transparent') return c; } return 'rgb(255, 255, 255)'; };
  const out = [];
  for (const e of document.querySelectorAll('body *')) {
    if (![...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const a = lum(getComputedStyle(e).color), b = lum(bg(e));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) out.push(e.tagName + '.' + e.className + ' ' + ratio.toFixed(2));
  }
  return out;
})()"""


def test_in_chromium_every_text_on_the_stage_page_has_a_contrast_of_4_5_or_more(phone):
    store, a = _stage()
    assert store.ingest_op(GUEST.event(OPEN_VENUE, "talk", "A talk"))[1]
    run = phone(store, a)
    key = _key_of(run)
    store.ingest_op(STEWARD.group(unhexlify(INVITE_ONLY), auth.add(unhexlify(key), auth.MANAGE), a.heads(unhexlify(INVITE_ONLY))))
    got = run(reloaded(READY + " && !!document.getElementById('my-venues')") + [
               {"eval": "%s.textContent = 'x'; %s.className = 'refused'; true" % (MSG, MSG)}, {"eval": CONTRAST},
               {"eval": "%s.className = 'done'; true" % MSG}, {"eval": CONTRAST}])
    assert got[2] == [] and got[4] == []


def test_in_chromium_a_key_code_refused_while_codes_are_busy_is_asked_for_again(phone):
    """The page draws new QR codes within a budget (node/program_page_stage.py); a phone that
    asked while it was spent got a 503 and kept a broken image for good.  The page asks again,
    after a pause, a bounded number of times."""
    store, a = _stage()
    run = phone(store, a)
    stage = run.page.stage
    refused, real = [], stage._may_draw

    def busy_at_first(address):
        if len(refused) < 2:
            refused.append(address)
            return False
        return real(address)
    stage._may_draw = busy_at_first
    got = run([{"wait": READY},
               {"wait": "document.querySelector('#my-key img').complete && "
                        "document.querySelector('#my-key img').naturalWidth > 0", "timeout": 20000},
               {"eval": "document.querySelector('#my-key img').naturalWidth"}])
    assert len(refused) == 2 and got[-1] > 0, (refused, got)
