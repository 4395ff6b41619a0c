"""The one screen controller of a full peer: the Pi app, the demo and the field test run it.

It follows one festival's log, keeps its schedule up to date, flips venues on button presses,
syncs with peers now and then, and redraws when the picture changes.  A MicroPython satellite
does not run it (board/board.py ``Satellite`` is its own small loop: it holds no store and no
``Schedule``, only a signed feed; docs/ARCHITECTURE.md says why); the status words, the clock
rule (core/clock.py) and the drawing (core/layout.py) are shared.  What differs between the
places that run it is injected:

* ``transport(peer)`` syncs the store with one peer and raises on failure (iroh, or plain TCP on
  a Pi without iroh); ``peers()`` lists whom to ask (default: the config's peers);
  ``found()`` names the peers in live sessions found by other means (mDNS on the Pi): they count
  as heard, so the footer never says "no peers" while a screen is live;
* ``render(view)`` draws a ``layout.build_view`` dict (PIL/luma on the Pi, a PNG when emulated);
* ``load_time()`` / ``save_time(t)`` persist the last time known to be good (``TimeFile``);
* ``translate(view, lang)`` puts a view in the festival's language (node/i18n.py, whose words
  stay on the Pi: a satellite shows English);
* locking: ``step(lock=...)`` never holds the lock while talking to peers, so a button press on
  the Pi is drawn at once even while a slow sync runs.

The schedule is kept up to date INCREMENTALLY: the store's change counter ``store.version`` says
whether anything arrived, ``store.operations_since(version, log_id)`` hands over only the new
operations (or None after a prune, and then the schedule is rebuilt from the store).

The clock rule (core/clock.py ``screen_time``) picks the time the program is shown at; a screen
that cannot vouch for it says "clock not set" and shows "--:--" instead of claiming a time.
"""

import time

from pandascreen.core import auth, config, layout, operation, refresh

# the clock rule and status names live in core/clock.py (shared with the satellite board)
from pandascreen.core.clock import (  # noqa: F401 (re-exported)
    ALONE, ALONE_AFTER, CANNOT_STORE, CLOCK_NOT_SET, CLOCK_SKEW, CLOCK_TOLERANCE, DISK_FULL, FORKED, MIN_VALID_TIME,
    NO_CLOCK, NO_PEERS, OFFLINE, SAVE_TIME_EVERY, STALE, STALE_AFTER, STARTING, SYNCED, LastKnownTime, TimeFile,
    clock_floor, clock_trusted, elapsed, peer_name, screen_time)


# the screen's own venue (config ``home_venue``) left the program: said at home, the buttons still
# show the others; beside layout.NOT_IN_PROGRAM, for a config whose ``venues`` the program lacks
HOME_NOT_IN_PROGRAM = "This screen's venue is not in the program"


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_NO_LOCK = _NoLock()


def _ignore(msg):
    pass


class Controller:
    """Schedule, venue, sync status and frames of one screen; see the module docstring.

    ``cfg`` is a validated config (``core.config.validate``): festival_id, organiser_keys,
    peer_addrs, sync_interval, render_interval (all but festival_id optional here).
    """

    def __init__(self, cfg, store, transport=None, render=None, peers=None, clock=None,
                 load_time=None, save_time=None, log=None, translate=None, synced=None, found=None):
        self.cfg = cfg
        self.store = store
        # p2panda convention: the sync handshake carries the topic, logs are keyed by BLAKE3(topic)
        self.topic = operation.festival_topic(cfg["festival_id"])
        self.log_id = operation.log_id_for_topic(self.topic)
        keys = cfg.get("organiser_keys") or None
        self.authors = None if keys is None else set(bytes(k) for k in keys)
        # the festival group (core/auth.py) decides what this screen stores, relays and shows;
        # config.validate lets a config without organisers through only with trust_anyone
        self.authorizer = None
        if keys is not None:
            self.authorizer = auth.guard(store, auth.from_config(cfg), self.log_id)
        self._auth_revision = None
        self.transport = transport
        self.render = render
        self._peers = peers
        self._found = found
        self.clock = clock or time.time
        self.log = log or _ignore
        self.translate = translate
        self._synced = synced  # () -> True when the device clock is known to be synchronised (NTP)
        self.saved_time = LastKnownTime(load_time, save_time, self.log)
        self.venue_index = 0
        self._flipped_at = None  # when a visitor last flipped away (the screen returns home later)
        self.overview = False  # a long press: every venue at once, until the screen returns home
        self.sync_state = STARTING
        self.notice = None  # e.g. "store reset: resync" (node/snapshot.py) until the next sync
        self.warning = None  # e.g. why the installer refused an upgrade (node/install.py): always shown
        self.trouble = None  # a part that does not work, e.g. "buttons off" (node/buttons.py): after the state
        self.last_sync = None  # when a peer was last heard: a sync succeeded, or a found peer was live
        self.alone_since = None  # the first look since then that found no peer reachable (None: one is)
        self.heard_at = None  # the last look that found a peer reachable: "alone since" says it
        self._reached = 0  # peers the last sync reached in a one-off sync (plain TCP: heard only then)
        self._sync_started = None
        self.schedule = None
        self.rebuilds = 0  # full rebuilds from the store (start, prune); the rest is incremental
        self.signed = {}  # writer's public key -> its newest operation's timestamp (µs): the clock rule's evidence
        self._store_version = None
        self._drawn_key = None
        self._drawn_at = None
        # when to redraw, by panel kind (core/refresh.py): a full-refresh-only Inky shows absolute times
        self.refresh_policy = refresh.RefreshPolicy(refresh.panel_for(cfg.get("display")))
        self.refresh()

    # -- schedule ---------------------------------------------------------------------------
    def refresh(self):
        """Apply what arrived in the store since the last call; True if anything did."""
        return self.apply(self.fetch())

    def fetch(self):
        """The store half of ``refresh`` (reads, and a full build after a prune), safe outside the
        caller's lock since only the loop calls it; ``apply`` then swaps the result in.

        Returns None when nothing changed, else ``(version, new operations, None)`` or
        ``(version, rebuilt Schedule, newest organiser timestamp)``.
        """
        version = self.store.version
        if self.schedule is not None and version == self._store_version:
            return None
        ops = None
        revision = None if self.authorizer is None else self.authorizer.revision
        if self.schedule is not None and revision == self._auth_revision:
            # None after a prune: then rebuild from the store (and after the group changed)
            ops = self.store.operations_since(self._store_version, log_id=self.log_id)
        if ops is None:
            self._auth_revision = revision
            return version, self._build(), self._newest_signed()
        return version, ops, None

    def apply(self, change):
        """The in-memory half of ``refresh``: take in what ``fetch`` returned; True if anything."""
        if change is None:
            return False
        version, what, newest = change
        if newest is not None:
            self.schedule = what
            self.signed = newest
            self.rebuilds += 1
        else:
            for op in what:
                self.schedule.apply(op)
                pk = bytes(op.public_key)
                if op.timestamp > self.signed.get(pk, 0) and self._trusted_author(pk):
                    self.signed[pk] = op.timestamp
        self._store_version = version
        return True

    def _build(self):
        # imported here: a satellite board uses this module's clock rule without a schedule
        from pandascreen.core.schedule import Schedule
        if self.authorizer is not None:
            return Schedule.from_store(self.store, self.log_id, authorizer=self.authorizer)
        return Schedule.from_store(self.store, self.log_id, authors=self.authors)

    def _trusted_author(self, public_key):
        """May ``public_key``'s stamps witness the time (clock rule 3)?  The festival's writers: the
        organisers' laptops and program signing keys.  In a self-organised festival every
        participant's phone writes, and one set eleven hours ahead would move every offline screen's
        program on: there the organisers (``Manage``) alone witness."""
        a = self.authorizer
        if a is None:
            return self.authors is None or bytes(public_key) in self.authors
        if a.mode == auth.SELF_ORGANISED:
            return a.level(a.group_id, public_key) >= auth.MANAGE
        return a.may_write(public_key)

    def _newest_signed(self):
        """{writer: timestamp of its latest operation} in the festival log, writers only.

        Kept per writer so that one writer's far-future clock hides no other writer's time
        (core/clock.py ``screen_time`` ignores what is from the future); strangers never count.
        """
        newest = {}
        heights = self.store.heights(self.log_id)
        for pk in heights:
            if not self._trusted_author(pk):
                continue
            op = self.store.latest(pk, self.log_id)
            if op is not None:
                newest[bytes(pk)] = op.timestamp
        return newest

    # -- buttons ----------------------------------------------------------------------------
    def flip(self, delta):
        """+1 next venue, -1 previous, 0 back to the first (uses the schedule held, no store I/O)."""
        n = len(self.schedule.venues()) or 1
        self.venue_index = 0 if delta == 0 else (self.venue_index + delta) % n
        self._flipped_at = int(self.clock())  # whole seconds, as the loop's ``now``
        self.overview = False

    def show_overview(self):
        """A long press: show the overview (every venue at once, ``overview.build_overview``) until
        ``go_home``."""
        self.overview = True
        self._flipped_at = int(self.clock())

    def go_home(self, now):
        """Back to the config's ``home_venue`` (the entrance's own venue) ``home_after`` seconds
        (default 60) after a visitor flipped away, and from the start. True if it moved."""
        home = self.cfg.get("home_venue")
        if self._flipped_at is not None and elapsed(now, self._flipped_at) < self.cfg.get("home_after", 60):
            return False
        left = self.overview
        self.overview = False
        if not home:
            if left:
                self._flipped_at = None
            return left
        away, self._flipped_at = self._flipped_at, None
        for i, v in enumerate(self.schedule.venues()):
            if v.id == home:
                moved, self.venue_index = i != self.venue_index, i
                return moved or left
        return left or away is not None  # home is gone: ``view`` says so at home

    def _home_gone(self):
        """At home (no visitor flipped away), and the program lacks the home venue: once the screen
        has looked for peers (a first sync may still bring it), offline or with none too (the program
        in the store is what it has)."""
        home = self.cfg.get("home_venue")
        if not home or self._flipped_at is not None or self.overview or self.sync_state == STARTING \
                or self.schedule.festival is None:
            return False
        return all(v.id != home for v in self.schedule.venues())

    # -- sync -------------------------------------------------------------------------------
    def peers(self):
        if self._peers is not None:
            return list(self._peers())
        return list(self.cfg.get("peer_addrs") or ())

    def sync_due(self, now):
        if self._sync_started is None:
            return True
        return elapsed(now, self._sync_started) >= self.cfg.get("sync_interval", 60)

    def sync(self, now=None):
        """Sync once with every peer through ``transport``; returns (peers reached, error lines).

        Touches neither the schedule nor the venue, so it may run outside the caller's lock.
        """
        self._sync_started = self.clock() if now is None else now
        peers = self.peers()
        ok = once = 0
        errors = []
        if self.transport is not None:
            for peer in peers:
                try:
                    stats = self.transport(peer)
                    ok += 1
                    # a live session (iroh's stats say "live") is watched between syncs through found()
                    once += not (isinstance(stats, dict) and stats.get("live"))
                except Exception as e:  # one unreachable or misbehaving peer must not stop the screen
                    line = "sync with %s failed: %s" % (peer_name(peer), e)
                    errors.append(line)
                    self.log(line)
        found = self.peers_found()
        self._reached = once
        self._looked(ok or found, int(self.clock()))
        if ok or found:
            self.sync_state = SYNCED
            self.last_sync = int(self.clock())
        elif self.last_sync is not None:
            self.sync_state = SYNCED  # status() says how old the newest data is, and "stale" once too old
        elif not peers:
            self.sync_state = NO_PEERS
        else:
            self.sync_state = OFFLINE
        return ok, errors

    def _looked(self, reachable, now):
        """One look at whether any peer is reachable: a sync, or a step between syncs."""
        if reachable:
            self.alone_since = None
            self.heard_at = now
        elif self.alone_since is None:
            self.alone_since = now

    def alone(self, now):
        """True when no peer was reachable (no sync answered, no live session) at any look for
        ALONE_AFTER seconds, after one was heard (before that the state says "no peers" or "offline")."""
        return (self.last_sync is not None and self.alone_since is not None
                and elapsed(now, self.alone_since) >= ALONE_AFTER)

    def peers_found(self):
        """How many peers other means (mDNS) found and hold a live session with now."""
        if self._found is None:
            return 0
        try:
            return len(list(self._found()))
        except Exception as e:  # a transport in trouble must not stop the screen
            self.log("cannot list the peers found: %s" % e)
            return 0

    def status(self, trusted=True, now=None, clock_set=True):
        """"starting", "synced HH:MM" (festival local time the newest data was heard), "alone since
        HH:MM" (no peer reachable for ALONE_AFTER; HH:MM: when one was last heard), "stale HH:MM"
        (peers answer, but no sync for STALE_AFTER), "offline" or "no peers"; the times only where
        they can be said in the festival's time (``trusted``, and a festival).  Without
        ``clock_set`` (a time the screen cannot vouch for) "clock not set" stands for the sync state,
        whose times are that clock's; what else is wrong is said beside it."""
        if not clock_set:
            state = CLOCK_NOT_SET
        elif self._notice_shown():
            state = self.notice
        elif self.sync_state == SYNCED and self.last_sync is not None:
            now = int(self.clock() if now is None else now)
            # no festival: its zone is not known, and a UTC time would pass for local time
            trusted = trusted and bool(self.schedule.festival)
            at = layout.hhmm(self.last_sync, self.schedule.zone())
            if self.alone(now):
                heard = layout.hhmm(max(self.last_sync, self.heard_at or 0), self.schedule.zone())
                state = "%s %s" % (ALONE, heard) if trusted else ALONE
            elif elapsed(now, self.last_sync) >= STALE_AFTER:
                state = "%s %s" % (STALE, at) if trusted else STALE
            elif trusted and not self.refresh_policy.absolute_times:
                state = "%s %s" % (SYNCED, at)
            else:
                state = self.sync_state
        else:
            state = self.sync_state
        problem = self._problem()
        if problem is not None:
            state = problem if clock_set else "%s | %s" % (problem, CLOCK_NOT_SET)
        if self.trouble is not None:  # after the state: a short screen cuts the line from its end
            state = "%s | %s" % (state, self.trouble)
        return state if self.warning is None else "%s | %s" % (self.warning, state)

    def _problem(self):
        """DISK_FULL, CANNOT_STORE or FORKED when the store has that to say, else None."""
        failed = self.store.write_failed
        if failed:  # what peers send is lost until it can write: "synced" would be a lie
            return DISK_FULL if failed == "full" else CANNOT_STORE
        if self.authors and self.store.forked(self.authors, self.log_id):
            return FORKED  # an organiser's changes made on the other history do not arrive
        return None

    def needs_attention(self):
        """True while the status line says the program shown may not be the whole truth (a store
        reset, a full or failing disk, a fork, a refused upgrade): a panel that sleeps while the
        festival is closed stays on to show it.  A part that does not work (``trouble``, e.g. the
        buttons) is said while the festival is open: it would keep an OLED lit night after night."""
        return self.warning is not None or self._problem() is not None or self._notice_shown()

    def _notice_shown(self):
        """True while the notice (e.g. "store reset: resync") stands for the sync state: until a sync."""
        return self.notice is not None and self.sync_state != SYNCED

    # -- clock ------------------------------------------------------------------------------
    def screen_time(self, now):
        """``(time the program is shown at, trusted)``: core/clock.py ``screen_time``."""
        signed = [ts // 1000000 for ts in self.signed.values()]
        return screen_time(now, signed, self.saved_time.value, self._synced() if self._synced is not None else None,
                           self._program_end())

    def _program_end(self):
        """When the program's last event ends (None: no event): clock rule 5 measures a clock
        against it (``Schedule.bounds``: the longest event may end last)."""
        bounds = self.schedule.bounds()
        return None if bounds is None else bounds[1]

    def clock_trusted(self, now):
        return self.screen_time(now)[1]

    def remember_time(self, now):
        """Save a trusted ``now`` as the last known time, at most every ``SAVE_TIME_EVERY`` s."""
        return self.saved_time.remember(now, lambda: self.clock_trusted(now))

    # -- frames -----------------------------------------------------------------------------
    def view(self, now):
        """What the screen shows at ``now``: ``layout.build_view`` or the overview (config
        ``"layout": "overview"``, or a long press: ``overview.build_overview``), built at the time the
        clock rule chooses; a time the screen cannot vouch for is not shown ("--:--", "clock not set")."""
        shown, trusted = self.screen_time(int(now))
        status = self.status(now=now, clock_set=trusted)
        now = shown
        # a time the screen cannot vouch for: absolute times only ("until 14:45"), no countdown
        absolute = self.refresh_policy.absolute_times or not trusted
        if (self.overview or self.cfg.get("layout") == config.OVERVIEW) and self.schedule.venues():
            from pandascreen.core import overview  # the Pi's large screens and long press only
            v = overview.build_overview(self.schedule, now, status, self.venue_index, absolute)
        else:
            v = layout.build_view(self.schedule, self.venue_index, now, status, absolute)
        if (v["message"] == layout.NO_SCHEDULE and self.cfg.get("venues") and self.schedule.festival is not None
                and self.sync_state == SYNCED):  # a sync brought the program, not only its first part
            v["message"] = layout.NOT_IN_PROGRAM  # the program is here: waiting would not bring them
        elif v.get("venue") and self._home_gone():  # not another venue's talks at the entrance of one dropped
            v.update(venue="", venue_id=None, position="", now=None, next=None, message=HOME_NOT_IN_PROGRAM)
        if not trusted and not self.refresh_policy.absolute_times:
            v["clock"] = NO_CLOCK
        lang = self.cfg.get("language") or (self.schedule.festival or {}).get("language")
        if lang and self.translate is not None:
            for each in [v] + (v.get("venues") or []):
                self.translate(each, lang)
        return v

    def frame_key(self, now):
        """Changes exactly when the picture may change: minute, venue, status, schedule, trust."""
        t, trusted = self.screen_time(now)
        return (trusted, t // 60, self.venue_index, self.status(trusted, now), self.rebuilds, self.schedule.version,
                self.overview, self._flipped_at is None)

    def redraw(self, now=None, force=False, catch_up=True):
        """Catch up with the store, then ``render`` a frame if one is due. True if it drew.

        ``catch_up=False`` draws from the schedule held, without touching the store or the time
        file: for a button press, which must not wait while a sync is writing to the store.
        """
        now = int(self.clock() if now is None else now)
        if catch_up:
            self.refresh()
            self.remember_time(now)
        self.go_home(now)
        key = self.frame_key(now)
        view = None
        if self.refresh_policy.panel != refresh.LIVE:
            # e-paper: the refresh policy decides from what the picture shows and the minute tick;
            # view["refresh"] tells render "full" or "partial"
            view = self.view(now)
            visitor = self._drawn_key is not None and key[2] != self._drawn_key[2]  # flipped venue
            view["refresh"] = self.refresh_policy.due(now, refresh.content_key(view), key, force or visitor,
                                                      refresh.shows_program(view))
            if view["refresh"] is None:
                return False
        else:
            every = self.cfg.get("render_interval") or 0
            stale = every and self._drawn_at is not None and elapsed(now, self._drawn_at) >= every
            if not force and not stale and key == self._drawn_key:
                return False
            view = self.view(now)
        if self.render is not None:
            self.render(view)
        self._drawn_key = key
        self._drawn_at = now
        return True

    def step(self, now=None, lock=None, force=False):
        """One turn of a screen's loop: sync when due and read the store outside ``lock``, then take
        the changes in and ``redraw`` inside it, so a button press never waits for the network or
        for a peer writing to the store."""
        fixed = now is not None
        if now is None:
            now = int(self.clock())
        if self.sync_due(now):
            self.sync(now)
            if not fixed:
                now = int(self.clock())  # a sync can take a while
        else:
            # between syncs, only live sessions (iroh: configured, mDNS, dialled in) show whether a
            # peer is reachable; a plain-TCP peer that answered the last sync counts until the next one
            found = self.peers_found()
            if found and (self.sync_state in (NO_PEERS, OFFLINE) or self.alone_since is not None):
                # a peer found since the last sync (mDNS, seconds after start; back after a cut): say so
                self.sync_state, self.last_sync = SYNCED, now
            self._looked(found or self._reached, now)
        drew = self.draw_stored(now, lock, force)
        self.remember_time(now)  # file I/O, after the newest operation was taken into account
        return drew

    def draw_stored(self, now, lock=None, force=False):
        """Take in what the store holds and redraw, with no sync: ``step``'s second half, and a
        screen's first frame, drawn before its first sync (which may wait for a peer that does
        not answer)."""
        change = self.fetch()  # store I/O (may wait for a peer's ingest): not under the lock
        with lock or _NO_LOCK:
            self.apply(change)
            return self.redraw(now, force, catch_up=False)
