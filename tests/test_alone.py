"""A screen that cannot reach any peer says so on its display ("alone since HH:MM", the time it
last heard one), in every language the screen speaks, and says "synced" again as soon as a peer
answers (core/controller.py, core/clock.py ALONE_AFTER, node/i18n.py)."""

from pandascreen.core import clock, controller
from pandascreen.core.controller import Controller
from pandascreen.node import i18n
from pandascreen.testing import festival as demofest
from pandascreen.testing.clock import Clock
from pandascreen.testing.peers import FakePeers

NOW = demofest.DAY_START + 75 * 60  # 13:15 UTC: the festival in the store is on UTC (demofest.utc_store)
TCP_PEER = ("10.0.0.2", 2026)


def _screen(peers, configured=True, sync_interval=60):
    t = Clock(NOW)
    cfg = {"festival_id": demofest.FESTIVAL_ID, "peer_addrs": list(peers.configured) if configured else [],
           "sync_interval": sync_interval}
    ctl = Controller(cfg, demofest.utc_store(), transport=peers.transport, clock=t, found=peers.found)
    return ctl, t


def _run(ctl, t, seconds, every=10):
    """The screen's loop for ``seconds``, one step every ``every`` seconds (bounded)."""
    for _ in range(int(seconds // every)):
        t.sleep(every)
        ctl.step(t())
    return ctl.status()


def test_a_screen_whose_configured_peer_is_cut_off_says_alone_then_synced_when_it_answers():
    peers = FakePeers(configured=[TCP_PEER])
    ctl, t = _screen(peers)
    ctl.step(t())
    assert ctl.status() == "synced 13:15"
    peers.cut()
    assert _run(ctl, t, 60) == "synced 13:15"  # the first failed sync is at 13:16: not alone for long yet
    assert _run(ctl, t, 60 + clock.ALONE_AFTER) == "alone since 13:15"
    assert _run(ctl, t, 300) == "alone since 13:15"  # five minutes cut: still says so, never "stale"
    peers.heal()
    status = _run(ctl, t, 60)
    assert status.startswith("synced ") and status != "synced 13:15", status


def test_a_screen_whose_mdns_peers_vanish_says_alone_and_synced_at_the_next_step_when_one_is_live():
    """No peer configured: only live sessions with peers mDNS found.  They end in a cut; a step
    that sees one live again says "synced" at once, without waiting for the next sync."""
    peers = FakePeers(found=["peer 0123456789abcdef"])
    ctl, t = _screen(peers, configured=False)
    ctl.step(t())
    assert ctl.status() == "synced 13:15"
    peers.cut()
    assert _run(ctl, t, clock.ALONE_AFTER - 10) == "synced 13:15"
    assert _run(ctl, t, 20) == "alone since 13:15"
    peers.heal()
    t.sleep(5)
    assert not ctl.sync_due(t())
    ctl.step(t())
    assert ctl.status() == "synced 13:16", ctl.status()  # 13:15 + 75 s


def test_the_alone_status_is_drawn_and_leaves_the_frame_when_a_peer_answers():
    drawn = []
    peers = FakePeers(found=["peer 0123456789abcdef"])
    t = Clock(NOW)
    ctl = Controller({"festival_id": demofest.FESTIVAL_ID, "peer_addrs": []}, demofest.utc_store(), clock=t,
                     found=peers.found, render=drawn.append)
    ctl.step(t())
    peers.cut()
    _run(ctl, t, clock.ALONE_AFTER + 30)
    assert drawn[-1]["status"] == "alone since 13:15"
    peers.heal()
    t.sleep(1)
    assert ctl.step(t())  # a new frame at once, not at the next minute
    assert drawn[-1]["status"].startswith("synced ")



def test_an_e_paper_screen_that_shows_absolute_times_redraws_to_say_alone():
    """A full-refresh Inky says "synced" without a time (no refresh each minute for it), but the
    time it was alone since is fixed: it says it, and refreshes once to show it."""
    drawn = []
    peers = FakePeers(found=["peer 0123456789abcdef"])
    t = Clock(NOW)
    ctl = Controller({"festival_id": demofest.FESTIVAL_ID, "peer_addrs": [], "display": "inky_what_400x300"},
                     demofest.utc_store(), clock=t, found=peers.found, render=drawn.append)
    ctl.step(t())
    assert drawn[-1]["status"] == "synced"
    peers.cut()
    _run(ctl, t, 600, every=30)
    assert drawn[-1]["status"] == "alone since 13:15" and drawn[-1]["refresh"] == "full"

def test_a_screen_that_never_heard_a_peer_says_no_peers_or_offline():
    lonely, t = _screen(FakePeers(), configured=False)
    assert _run(lonely, t, 300) == controller.NO_PEERS
    unreachable = FakePeers(configured=[TCP_PEER])
    unreachable.cut()
    ctl, t = _screen(unreachable)
    assert _run(ctl, t, 300) == controller.OFFLINE


def test_stale_is_kept_for_old_data_while_a_peer_answers():
    """A peer live the whole time, but no sync for STALE_AFTER (a long sync_interval): "stale",
    not "alone"."""
    peers = FakePeers(found=["peer 0123456789abcdef"])
    ctl, t = _screen(peers, configured=False, sync_interval=3 * clock.STALE_AFTER)
    ctl.step(t())
    assert _run(ctl, t, clock.STALE_AFTER + 60, every=60) == "stale 13:15"


def test_a_tcp_screen_between_two_syncs_is_not_alone():
    """A plain-TCP peer is only heard at a sync: the steps between two syncs that answered prove
    nothing, so a long sync_interval says nothing about being alone."""
    peers = FakePeers(configured=[TCP_PEER])
    ctl, t = _screen(peers, sync_interval=600)
    ctl.step(t())
    assert _run(ctl, t, 590) == "synced 13:15"


def test_alone_in_every_language_the_screen_speaks():
    view = {"status": "alone since 14:02"}
    said = {lang: i18n.translate(dict(view), lang)["status"] for lang in i18n.LANGUAGES + ("en_US",)}
    assert said == {"en": "alone since 14:02", "de": "allein seit 14:02", "fr": "seul depuis 14:02",
                    "en_US": "alone since 2:02pm"}
    assert i18n.labels("en")["alone_since"] == clock.ALONE


def test_a_configured_iroh_peer_is_watched_through_its_live_session_between_syncs():
    """A configured iroh peer answers a sync with its live session, which ``found()`` lists: once
    that session is gone the screen counts as alone from that step, not from the next sync."""
    peers = FakePeers(configured=["ab" * 32 + "@10.0.0.2:2026"], live=True)
    ctl, t = _screen(peers, sync_interval=300)
    ctl.step(t())
    assert ctl.status() == "synced 13:15"
    peers.cut()
    assert _run(ctl, t, clock.ALONE_AFTER + 10) == "alone since 13:15"


def test_the_loop_is_woken_when_peers_come_and_once_more_alone_after_the_last_one_went():
    import threading
    from pandascreen.node.screen_network import PeerWatch
    wake = threading.Event()
    watch = PeerWatch(wake)
    watch(True)
    assert wake.is_set() and watch._timer is None  # a peer back: the footer says "synced" at once
    wake.clear()
    watch(False)
    assert wake.is_set() and watch._timer.interval > clock.ALONE_AFTER  # then when "alone since" is due
    timer = watch._timer
    watch.stop()
    timer.join(5)
    assert not timer.is_alive() and watch._timer is None


# the status line of a screen that reaches no peer, on each kind of screen that shows a status:
# in the footer (e-paper, HDMI), on a footerless OLED where there is room (a break between events);
# the German and French ones are translated by node/i18n.py as the app does
ALONE_GOLDENS = {
    # name: (screen, seconds after the golden day's start, language)
    "ssd1306_alone_break": ("ssd1306_128x64", 3600 + 60, "en"),
    "inky_phat_212x104_alone": ("inky_phat_212x104", 25 * 60, "en"),
    "inky_phat_212x104_alone_german": ("inky_phat_212x104", 25 * 60, "de"),
    "inky_what_400x300_alone": ("inky_what_400x300", 25 * 60, "en"),
    "hdmi_alone_french": ("hdmi", 25 * 60, "fr"),
}


def test_alone_golden_frames():
    import goldens
    from pandascreen.core import layout
    from pandascreen.node import display
    from pandascreen.testing.festival import GOLDEN_DAY, golden_schedule
    for name, (kind, since_day, lang) in sorted(ALONE_GOLDENS.items()):
        view = layout.build_view(golden_schedule(), 0, GOLDEN_DAY + since_day, "alone since 14:02")
        i18n.translate(view, lang)
        goldens.check(display.render_view_image(view, kind), name)


def test_alone_since_says_when_a_peer_was_last_heard_not_the_last_sync_round():
    """Live peers answer between two syncs (a long sync_interval): cut off at 13:18, the screen
    says "alone since 13:18", not the 13:15 of its last sync round."""
    peers = FakePeers(found=["peer 0123456789abcdef"])
    ctl, t = _screen(peers, configured=False, sync_interval=600)
    ctl.step(t())
    assert _run(ctl, t, 180) == "synced 13:15"  # no new data: when the newest data came
    peers.cut()
    assert _run(ctl, t, clock.ALONE_AFTER + 20) == "alone since 13:18"


def test_a_part_that_does_not_work_is_said_after_the_state_which_it_never_hides():
    """"buttons off" (node/buttons.py) after the sync state: a 128-pixel OLED shortens the line from
    its end, so in front it pushed "synced 13:15" off the screen; an installer's refusal stays first."""
    peers = FakePeers(configured=[TCP_PEER])
    ctl, t = _screen(peers)
    ctl.step(t())
    ctl.trouble = "buttons off"
    assert ctl.status() == "synced 13:15 | buttons off"
    view = {"status": ctl.status()}
    assert i18n.translate(view, "de")["status"].endswith(" 13:15 | Tasten aus")  # each part in the language
    assert not view["status"].startswith("synced")  # the state is translated as without it
    ctl.warning = "upgrade refused"
    assert ctl.status() == "upgrade refused | synced 13:15 | buttons off"


def _oled(status, lang=None):
    """A 128x64 OLED's pixels and status text with the golden schedule on now and next."""
    from pandascreen.core import layout
    from pandascreen.testing.canvas import VLSBCanvas
    v = layout.build_view(demofest.golden_schedule(), 0, demofest.GOLDEN_DAY + 25 * 60, status=status)
    if lang:
        i18n.translate(v, lang)
    c = VLSBCanvas(128, 64)
    layout.draw_view(c, 128, 64, v)
    return bytes(c.buf), v["status"]


def test_a_part_that_does_not_work_is_shown_on_a_small_screen_and_in_every_clock():
    """A footerless OLED keeps its last line only for a status that warns: "synced ... | buttons
    off" must warn, or the line is not drawn at all.  And the state before it is translated as
    without it: en_US's 12-hour clock too."""
    from pandascreen.core import layout
    quiet = _oled("")[0]
    for status in ("synced 13:15 | buttons off", "starting | buttons off"):
        assert layout.warns(status)
        assert _oled(status)[0] != quiet, status
    assert not layout.warns("synced 13:15")
    assert _oled("synced 13:15", "en_US")[1] == "synced 1:15pm"
    assert _oled("synced 13:15 | buttons off", "en_US")[1] == "synced 1:15pm | buttons off"
    assert _oled("alone since 13:18 | buttons off", "en_US")[1] == "alone since 1:18pm | buttons off"
    assert _oled("upgrade refused | synced 13:15", "en_US")[1] == "upgrade refused | synced 1:15pm"
