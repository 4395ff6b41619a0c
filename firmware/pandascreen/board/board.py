"""The screen loop of a MicroPython board (Pico W & co.): a satellite of the full peers.

WHY a satellite: a Pico W has ~180 KB of heap after Wi-Fi, and a festival's operations need
megabytes and minutes of signature checks.  So the board keeps NO operations: it fetches the
signed feed (core/feed.py) over HTTP from the nearest full peer (a Pi screen or the
organiser's ``serve``), checks ONE signature per update, and draws now/next from the feed's
bytes through core/layout.  Memory is fixed up front: two feed buffers of ``max_bytes`` (the
one on screen, the one being received), filled ``CHUNK`` bytes at a time, so a forged,
corrupt or oversize feed costs nothing but a log line and the last good feed stays on screen.

The last good feed is also kept on flash (board/saved_feed.py ``FeedFile``): a board that reboots where Wi-Fi is
gone loads it into the receive buffer, checks it again like a fetched one (a corrupt or
oversize file is removed, never trusted) and shows that program marked "old feed HH:MM"
until a peer answers, instead of a blank screen.

The clock rule is the controller's (core/clock.py ``screen_time``): the shown feed's issued-at
is signed evidence of the time beside the last time saved (``TimeFile``), and never moves the
board's time more than CLOCK_SKEW past its own.  A feed from the future (a full peer whose clock
runs ahead) is shown only while no other feed is, and never counts as a later feed: every correct
feed replaces it, also one loaded from flash.  A feed past its ``valid_until`` (Wi-Fi lost for
hours) says so in the status line.

A board whose clock NTP does not keep sets it from fetched feeds' signed issued-at
(board/feed_clock.py says when).

The feed servers are ``cfg["feed_addrs"]`` (main.py sets them from ``feed.feed_addrs``), else
``cfg["peer_addrs"]`` taken as feed servers (tests and the demo), plus what ``peers()`` finds.

All hardware is injected (canvas, ``show``, ``connect(host, port) -> conn`` with ``send``,
``readinto``, ``close``), so the same loop runs under the tests with fakes::

    s = Satellite(cfg, fb, fb.show, 128, 64, connect=tcp_connect, clock=time.time,
                  time_file=TimeFile("/last_time"), feed_file=FeedFile("/last_feed"))
    while True:
        s.step()        # fetches when due, redraws when the picture changed
"""

import gc
import time

from pandascreen.core import feed, feed_http, layout
from pandascreen.board.feed_clock import FeedClock
from pandascreen.core.clock import CLOCK_NOT_SET, NO_CLOCK, NO_PEERS, OFFLINE, STARTING, SYNCED, elapsed, peer_name
from pandascreen.core.errors import PandascreenError

CHUNK = 512  # bytes per socket read
STALE = "old feed"
SAVE_FEED_EVERY = 3600  # s: a feed whose venues did not change is saved to flash at most this often
FETCH_DEADLINE = 20  # s: one fetch (connect, request, whole response) ends by then, however slow the peer
RETRY_OFFLINE = 5  # s between fetches while no peer answers (Wi-Fi coming up after a boot)
FRESH_FEED = 600  # s: a feed signed longer ago is not current (full peers sign theirs every minute)
FAULTS_BEFORE_RESET = 5  # steps in a row that could draw nothing at all: then save and reset
LOW_MEMORY = "low memory"  # the status of a frame drawn after a step failed
TOO_LARGE = "Too large for this board"  # the message when even a venue's frame does not fit
_WAITING = (11, 110)  # EAGAIN, ETIMEDOUT: a non-blocking or short-timeout socket call found no data yet


class _Deadline:
    """A peer connection whose calls all end by ``deadline`` (``clock()`` seconds), with ``idle()``
    between them: the loop redraws, reads its buttons and feeds its watchdog while a slow peer
    trickles bytes.  A call that finds no data yet (short socket timeout) is retried until then."""

    def __init__(self, conn, clock, deadline, idle):
        self.conn = conn
        self.clock = clock
        self.deadline = deadline
        self.idle = idle

    def _wait(self):
        self.idle()
        if self.clock() > self.deadline:
            raise OSError("no feed within the %d s a fetch may take" % FETCH_DEADLINE)

    def _call(self, fn, arg):
        while True:
            self._wait()
            try:
                return fn(arg)
            except OSError as e:
                if not e.args or e.args[0] not in _WAITING:
                    raise

    def send(self, data):
        return self._call(self.conn.send, data)

    def readinto(self, mv):
        return self._call(self.conn.readinto, mv)

    def close(self):
        self.conn.close()


class Satellite:
    def __init__(self, cfg, canvas, show, width, height, palette="mono", clock=None, connect=None,
                 log=None, time_file=None, peers=None, max_bytes=feed.MAX_FEED_BYTES, feed_file=None, synced=None,
                 set_time=None, state_file=None, reset=None, idle=None):
        """``state_file``: a FeedState (replays refused across reboots), whose newest issued-at starts
        at ``cfg["feed_floor"]`` when that is later (provisioning's: the newest program the organiser's
        laptop knew, so a fresh board refuses an older feed too); ``reset``: restarts the
        board (machine.reset) when steps keep failing; ``idle()``: called between socket calls
        of a fetch (main.py feeds its watchdog and reads its buttons there)."""
        self.cfg = cfg
        self.canvas = canvas
        self.show = show
        self.width = width
        self.height = height
        self.palette = palette
        self.clock = clock or time.time
        self.connect = connect
        self.log = log or (lambda msg: None)
        self.time = FeedClock(time_file, synced, set_time, self.log)  # the clock rule (board/feed_clock.py)
        self.saved_time = self.time.saved_time
        self._peers = peers
        self.checker = feed.Checker(cfg["festival_id"], cfg.get("organiser_keys") or (),
                                    trust_anyone=bool(cfg.get("trust_anyone")))
        # one block for both halves, allocated first: the feed on screen, the one being received
        both = memoryview(bytearray(2 * max_bytes))
        self._shown = both[:max_bytes]
        self._incoming = both[max_bytes:]
        self.view_source = feed.FeedView()
        self.feed_count = 0  # good feeds taken
        self.rejected = 0
        self.sync_state = STARTING
        self.last_sync = None
        self._fetched_at = None
        self._best = None  # the peer that gave the last good feed: asked first
        self.venue_index = 0
        self._drawn_key = None
        self.feed_file = feed_file
        self.state_file = state_file
        self.newest, self._saved_digest = state_file.load() if state_file is not None else (None, None)
        floor = cfg.get("feed_floor")  # provisioning's: the newest program the organiser's laptop knew
        if floor and (self.newest is None or floor > self.newest):
            self.newest = floor
        self._reset = reset
        self._idle = idle
        self.faults = 0  # steps in a row that drew nothing
        self.last_error = None
        self.from_flash = False  # the feed on screen was loaded at boot, no peer has answered since
        self._saved_program = None  # SHA-256 of the saved feed's venues, and when it was saved
        self._saved_feed_at = 0
        self._load_saved()

    # -- feed ---------------------------------------------------------------------------------
    def peers(self):
        found = list(self._peers()) if self._peers is not None else []
        for p in self.cfg.get("feed_addrs") or self.cfg.get("peer_addrs") or ():
            if p not in found:
                found.append(tuple(p))
        if self._best in found:
            found.remove(self._best)
            found.insert(0, self._best)
        return found

    def fetch(self, now):
        """Ask the peers in turn until one gives a good, current feed: not from the future, signed
        within FRESH_FEED (a full peer signs its feed again every minute; an older one is a
        stranger's replay, or a peer that kept an old copy), and not the feed that just set the
        clock (current by that clock alone).  That peer is asked first next time (else the one
        whose feed is on screen); True if a new one was taken."""
        self._fetched_at = now
        peers = self.peers()
        if not peers:
            self.sync_state = NO_PEERS
            return False
        if self.connect is None:
            self.sync_state = OFFLINE
            return False
        taken = reached = False
        usable = None
        for peer in peers:
            try:
                got = self._fetch_from(peer, now)
            except (OSError, PandascreenError, MemoryError) as e:  # Wi-Fi gone, peer down, bad feed
                self.log("feed from %s refused: %s" % (peer_name(peer), e))
                continue
            taken = got or taken
            reached = True
            # a feed that just set the clock is current by that clock: the next peer is asked too
            set_now = self.time.take(self.view_source.info, now)
            if set_now:
                now = int(self.clock())
            self.from_flash = False
            self.sync_state = SYNCED
            self.last_sync = int(self.clock())
            issued = self.view_source.info.issued_at
            if not self.from_the_future(issued, now):
                if got or usable is None:
                    usable = peer  # the peer whose feed is on screen
                if issued >= now - FRESH_FEED and not set_now:
                    self._best = peer
                    return taken
        if usable is not None:
            self._best = usable
        if not reached:
            self.sync_state = OFFLINE
        return taken

    def _fetch_from(self, peer, now):
        deadline = int(self.clock()) + FETCH_DEADLINE
        conn = _Deadline(self.connect(peer[0], peer[1]), self.clock, deadline, self._between)
        try:
            conn.send(feed_http.http_request(self.cfg["festival_id"], peer[0]))
            n = feed_http.read_http(conn, self._incoming, CHUNK)
        finally:
            conn.close()
        try:
            info = self.checker.check(self._incoming, n)
        except feed.FeedError:
            self.rejected += 1
            raise
        newest = self.newest
        if newest is not None and info.issued_at < newest and not self.from_the_future(newest, now):
            self.rejected += 1
            raise feed.FeedError("feed issued before the newest this board took or was provisioned with (a replay?)")
        old = self.view_source.info
        if old is not None and not self.from_the_future(old.issued_at, now):
            if self.from_the_future(info.issued_at, now) and self.time.take(info, now):
                now = int(self.clock())  # a clock behind, set right by two signers' word
            if self.from_the_future(info.issued_at, now):
                self.rejected += 1
                raise feed.FeedError("feed issued %d s ahead of this board's time: its signer's clock is wrong"
                                     % (info.issued_at - self.screen_time(now)[0]))
            if info.issued_at < old.issued_at:
                self.rejected += 1
                raise feed.FeedError("feed issued before the one on screen (a replay?)")
        if old is not None and info.digest == old.digest:
            return False  # the same feed again
        self._take(info)
        self._save(info)
        return True

    def _remember(self, info, saved):
        """Keep the newest issued-at (a feed from the future never counts) and, when the feed was
        just saved, its digest (FeedState)."""
        now = int(self.clock())
        if saved:
            self._saved_digest = self.checker.recorded(info.digest)
        if not self.from_the_future(info.issued_at, now) and (self.newest is None or info.issued_at > self.newest):
            self.newest = info.issued_at
        elif not saved:
            return
        if self.state_file is None or self.newest is None:
            return
        try:
            self.state_file.save(self.newest, self._saved_digest)
        except OSError as e:
            self.log("cannot save the feed state: %s" % e)

    def _save(self, info):
        """Keep the feed on flash when its venues changed, else at most every SAVE_FEED_EVERY:
        a full peer re-signs every minute (new issued-at), and flash wears and stalls on writes."""
        if self.feed_file is None:
            return
        program = feed.program_digest(self._shown, info)
        now = int(self.clock())
        if program == self._saved_program and elapsed(now, self._saved_feed_at) < SAVE_FEED_EVERY:
            self._remember(info, False)
            return
        saved = True
        try:
            self.feed_file.save(self._shown[:info.size])
        except OSError as e:  # flash full or worn: the feed on screen is still good
            self.log("cannot save the feed: %s" % e)
            saved = False
        self._saved_program = program
        self._saved_feed_at = now
        self._remember(info, saved)

    def _take(self, info):
        """Show the checked feed in the receive buffer (the buffers swap roles)."""
        self._shown, self._incoming = self._incoming, self._shown
        self.feed_count += 1
        self.view_source = feed.FeedView(self._shown, info, self.feed_count)
        self.venue_index %= self.view_source.venue_pages() or 1

    def _load_saved(self):
        """At boot: the feed saved on flash, checked as if fetched (its signature not again when its
        bytes still hash to the digest saved with it); removed only when its bytes are proven bad
        (FeedError), kept when reading or checking it failed for want of memory or a flash error."""
        if self.feed_file is None:
            return
        try:
            n = self.feed_file.load_into(self._incoming)
            if n is None:
                return
            info = self.checker.check(self._incoming, n, self._saved_digest)
            self._take(info)
            self.from_flash = True
            self._saved_program = feed.program_digest(self._shown, info)
            self._saved_feed_at = int(self.clock())
            if self.newest is None or info.issued_at > self.newest:
                self.newest = info.issued_at
        except PandascreenError as e:
            self.log("saved feed ignored: %s" % e)
            self.feed_file.remove()
        except MemoryError:  # not the file's fault: it stays for the next boot (one clause: no tuple to build)
            self._quiet_log("saved feed not loaded: out of memory")
        except OSError as e:
            self._quiet_log("saved feed not loaded: %s" % e)

    def _quiet_log(self, msg):
        try:
            self.log(msg)
        except MemoryError:
            pass

    # -- clock ----------------------------------------------------------------------------------
    def synced(self):
        return self.time.synced()

    def from_the_future(self, ts, now):
        return self.time.from_the_future(ts, now)

    def screen_time(self, now):
        """``(time the program is shown at, trusted)``: board/feed_clock.py, the shown feed's."""
        return self.time.screen_time(now, self.view_source.info)

    def clock_trusted(self, now):
        return self.screen_time(now)[1]

    def remember_time(self, now, force=False):
        return self.saved_time.remember(now, lambda: self.clock_trusted(now), force)

    # -- screen ---------------------------------------------------------------------------------
    def status(self, now=None, trusted=True):
        info = self.view_source.info
        offset = self.view_source.zone()
        if info is not None and trusted and now is not None and (now > info.valid_until or self.from_flash):
            if self.from_the_future(info.issued_at, now):
                return STALE  # its issued-at is its signer's wrong clock, not a time to show
            return "%s %s" % (STALE, layout.hhmm(info.issued_at, offset))
        if self.sync_state == SYNCED and trusted and self.last_sync is not None:
            return "%s %s" % (SYNCED, layout.hhmm(self.last_sync, offset))
        return self.sync_state

    def view(self, now):
        now, trusted = self.screen_time(int(now))
        # a time the board cannot vouch for: absolute times only ("until 14:45"), no countdown
        v = layout.build_view(self.view_source, self.venue_index, now,
                              self.status(now) if trusted else CLOCK_NOT_SET, not trusted)
        if not trusted:
            v["clock"] = NO_CLOCK
        return v

    def press(self, delta):
        """Button handler: +1 next venue, -1 previous, 0 back to the first; drawn at the next step."""
        n = self.view_source.venue_pages() or 1  # with the feed's "+N venues" page; nothing allocated
        self.venue_index = 0 if delta == 0 else (self.venue_index + delta) % n

    def step(self, now=None, force=False):
        """Fetch when due, redraw when the picture may have changed; True if a frame was drawn.

        Never raises (but KeyboardInterrupt): a failed step (MemoryError, a flash or socket
        error, a bug) frees what the board can rebuild, draws the last good picture again with
        LOW_MEMORY as its status (less of it if that does not fit either), and after
        FAULTS_BEFORE_RESET steps in a row that drew nothing saves the time and resets the board."""
        try:
            drew = self._step(now, force)
            self.faults = 0
            return drew
        except Exception as e:  # any: the loop must outlive any one step
            self._fault(e, now)
            return False

    def _step(self, now, force):
        fixed = now is not None
        if not fixed:
            now = int(self.clock())
        every = self.cfg.get("sync_interval", 60)
        if self.sync_state in (OFFLINE, STARTING):
            every = min(every, RETRY_OFFLINE)
        if self._fetched_at is None or elapsed(now, self._fetched_at) >= every:
            self.fetch(now)
            if not fixed:
                now = int(self.clock())  # a fetch can take a while
        drew = self._redraw(now, force)
        self.remember_time(now)
        return drew

    def _redraw(self, now, force=False):
        t, trusted = self.screen_time(now)
        key = (trusted, t // 60, self.venue_index, self.status(t, trusted), self.view_source.version)
        if not force and key == self._drawn_key:
            return False
        layout.draw_view(self.canvas, self.width, self.height, self.view(now), self.palette)
        self.show()
        self._drawn_key = key
        return True

    def _between(self):
        """Between two socket calls of a fetch: main.py's idle (watchdog, buttons), and the frame
        when the minute or the venue changed, so a slow peer never freezes the screen."""
        if self._idle is not None:
            self._idle()
        try:
            self._redraw(int(self.clock()))
        except Exception:  # any: the fetch goes on; the step draws again after it
            self._drawn_key = None

    def free(self):
        """Drop what the board rebuilds on demand (the venue offsets of the feed on screen)."""
        self.view_source._venues = None
        gc.collect()

    def _fault(self, e, now):
        self.last_error = e
        self._drawn_key = None  # draw again at the next step
        try:
            self.free()
            self.log("step failed: %r" % (e,))
        except Exception:  # any: logging needs memory too
            pass
        if self._draw_degraded(now):
            self.faults = 0
            return
        self.faults += 1
        if self.faults >= FAULTS_BEFORE_RESET:
            self.restart()

    def _draw_degraded(self, now):
        """The last good picture with LOW_MEMORY as its status; then without speakers and next;
        then the status alone with TOO_LARGE.  True if one of them was shown."""
        for level in range(3):
            try:
                gc.collect()
                t = int(self.clock()) if now is None else int(now)
                if level < 2:
                    v = self.view(t)
                    v["status"], v["warn"] = LOW_MEMORY, True
                    if level == 1:
                        v["next"] = None
                        if v["now"] is not None:
                            v["now"]["speakers"] = ""
                else:
                    v = layout.build_view(None, 0, self.screen_time(t)[0], LOW_MEMORY, True)
                    v["message"] = TOO_LARGE
                self.free()
                layout.draw_view(self.canvas, self.width, self.height, v, self.palette)
                self.show()
                return True
            except Exception:  # any: try a smaller picture
                v = None
        return False

    def restart(self):
        """The board cannot recover by itself: save the time, then reset (``reset``, machine.reset).
        A reset that fails (no heap left for main.py's log line) is tried again after the next
        FAULTS_BEFORE_RESET failed steps."""
        try:
            self.remember_time(int(self.clock()), force=True)
        except Exception:  # any: resetting matters more than the saved time
            pass
        self.faults = 0
        if self._reset is not None:
            try:
                self._reset()
            except Exception:  # any: step() never raises
                gc.collect()

