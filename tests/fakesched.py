"""A look-alike of ``pandascreen.core.schedule.Schedule`` (only what the layout uses), for text no
store can hold: tests/test_hostile_text.py feeds the renderers lone surrogates and words past the
schema's length limit.  Everything else, golden images included, draws from the real ``Schedule``
(pandascreen.testing.festival)."""


class FakeVenue:
    def __init__(self, vid, name, order=0):
        self.id = vid
        self.name = name
        self.order = order


class FakeEvent:
    def __init__(self, eid, venue, title, start, end, speakers=(), track="", lang=""):
        self.id = eid
        self.venue = venue
        self.title = title
        self.start = start
        self.end = end
        self.speakers = list(speakers)
        self.track = track
        self.lang = lang
        self.status = ""  # "cancelled" as core/schema.CANCELLED
        self.was_moved = False

    def moved(self):
        return self.was_moved


class FakeSchedule:
    def __init__(self, festival=None, venues=(), events=()):
        self.festival = festival
        self._venues = list(venues)
        self._events = list(events)

    def venues(self):
        return list(self._venues)

    def now_next(self, venue_id, now):
        current = None
        upcoming = None
        evs = [e for e in self._events if e.venue == venue_id]
        evs.sort(key=lambda e: (e.start, e.end, e.id))
        for e in evs:
            if e.start <= now < e.end:
                current = e
            elif e.start > now and upcoming is None:
                upcoming = e
        return current, upcoming


# 2026-07-18 12:00 UTC (a Saturday)
DAY = 1784376000
