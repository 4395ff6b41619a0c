"""A tiny stand-in for ``pandascreen.core.schedule.Schedule`` (only what the layout uses).

Plain Python that also runs under MicroPython (the MicroPython layout test inlines this file).
"""


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


# 2026-07-18 12:00 UTC (a Saturday); the festival runs on UTC+2
DAY = 1784376000
OFFSET = 120


def demo_schedule():
    fest = {"id": "pandafest", "name": "Pandafest 2026", "utc_offset": OFFSET}
    venues = [FakeVenue("main", "Main Stage", 0), FakeVenue("lab", "Hack Lab", 1),
              FakeVenue("garden", "Garden Tent", 2)]
    events = [
        FakeEvent("e1", "main", "Opening: Why festivals need local-first software", DAY, DAY + 3600,
                  ["Ada Lovelace", "Grace Hopper"], "Keynote", "en"),
        FakeEvent("e2", "main", "Peer-to-peer schedules with p2panda", DAY + 3600 + 900, DAY + 3 * 3600,
                  ["Sam Panda"], "Talks", "en"),
        FakeEvent("e3", "lab", "Solder your own badge", DAY - 1800, DAY + 1800, ["Kim"], "Workshop", "en"),
        FakeEvent("e4", "garden", "Grüße aus Köln: Çağrı & Ñandú über Straßenmusik, Café-Kultur "
                  "und Smørrebrød in Århus", DAY - 600, DAY + 2400,
                  ["Zoë Ærøskøbing", "José Muñoz"], "Talks", "de"),
        FakeEvent("e5", "garden", "Closing jam", DAY + 2 * 3600, DAY + 3 * 3600, [], "Music", ""),
    ]
    return FakeSchedule(fest, venues, events)


def changed_schedule():
    """``demo_schedule`` with the opening keynote cancelled and the p2panda talk moved."""
    s = demo_schedule()
    s._events[0].status = "cancelled"
    s._events[1].was_moved = True
    return s
