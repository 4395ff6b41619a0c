"""Made-up festivals for the demo, previews, the bench and tests, as operation bodies and as real
``core.schedule.Schedule`` objects (what a screen draws from).  Runs on MicroPython too: scripts
under the MicroPython harness build the same schedules there.

- Pandafest (``bodies``, ``demo_schedule``): three venues and a day of talks; the demo signs and
  syncs it, tests publish it into stores.
- The golden festival (``golden_schedule``): what the golden images in tests/golden show: a
  keynote with two speakers, a long title in many scripts, a break between talks, a second day.
"""

from pandascreen.core import schema
from pandascreen.core.schedule import Schedule

# 2026-07-18 12:00 UTC; the festival runs in UTC+2 (CEST)
DAY_START = 1784376000
UTC_OFFSET = 120
FESTIVAL_ID = "pandafest-2026"

VENUES = [
    ("main", "Main Stage", 1),
    ("tent", "Bamboo Tent", 2),
    ("lab", "Hack Lab", 3),
]

# (venue, minutes after DAY_START, duration minutes, title, speakers)
EVENTS = [
    ("main", 0, 45, "Opening: Why pandas sync offline", ["Ada L."]),
    ("main", 60, 50, "Mesh networks at festivals", ["Grace H.", "Linus"]),
    ("main", 120, 40, "E-paper everywhere", ["Mia"]),
    ("main", 180, 60, "Panel: Local-first in the field", ["Ada L.", "Kim", "Jo"]),
    ("main", 260, 90, "Closing concert: The Slothtones", []),
    ("tent", 15, 30, "Workshop: Solder your badge", ["Sam"]),
    ("tent", 60, 120, "Kids' lab: Build a bamboo radio", ["Noor", "Felix"]),
    ("tent", 200, 45, "Café Größenwahn: Tüftler-Runde", ["Jürgen Ö."]),
    ("lab", 30, 20, "Lightning talks", []),
    ("lab", 70, 60, "Hands-on: CBOR, BLAKE3 & Ed25519", ["Rui"]),
    ("lab", 150, 45, "Fixing a Pi 5 GPIO at 3am", ["Ola"]),
]


def event_id(i):
    return "ev-%02d" % i


def bodies():
    """Operation bodies creating the demo festival, in publishing order."""
    out = [schema.make_body("festival", "create", FESTIVAL_ID, {
        "name": "Pandafest 2026", "timezone": "Europe/Berlin", "utc_offset": UTC_OFFSET,
        "start": DAY_START, "end": DAY_START + 8 * 3600})]
    for vid, name, order in VENUES:
        out.append(schema.make_body("venue", "create", vid, {"name": name, "order": order}))
    for i, (vid, start, dur, title, speakers) in enumerate(EVENTS):
        s = DAY_START + start * 60
        out.append(schema.make_body("event", "create", event_id(i), {
            "venue": vid, "title": title, "start": s, "end": s + dur * 60, "speakers": speakers,
            "lang": "en"}))
    return out


def publish(store, seed, log_id):
    """Sign the demo festival with ``seed`` into ``store``'s ``log_id``, a microsecond apart from
    DAY_START; the operations."""
    return [store.publish(seed, body, log_id, DAY_START * 1000000 + i) for i, body in enumerate(bodies())]


def schedule_of(encoded):
    """A real ``Schedule`` holding ``encoded`` operation bodies, applied in order, each a
    microsecond after the one before (so a later update wins, as it would from a store)."""
    s = Schedule()
    for i, body in enumerate(encoded):
        s.apply(schema.parse_body(body), i + 1, bytes([i % 256]) * 32)
    return s


def demo_schedule():
    return schedule_of(bodies())


def utc_store(seed=bytes(range(1, 33))):
    """A MemoryStore holding one operation, signed with ``seed``: the demo festival's id on UTC,
    with no venue yet.  A screen says its times in the festival's time, and none without a
    festival; on this one they are UTC."""
    from pandascreen.core import operation
    from pandascreen.core.store import MemoryStore
    store = MemoryStore()
    store.publish(seed, festival_body({"name": "Utcfest", "utc_offset": 0}, FESTIVAL_ID),
                  operation.log_id_for_festival(FESTIVAL_ID), DAY_START * 1000000)
    return store


# -- small festivals, said in one line each (tests of odd or hostile content) -------------------
def festival_body(fields, doc_id="fest"):
    return schema.make_body("festival", "create", doc_id, fields)


def venue(vid, name, order=0):
    return schema.make_body("venue", "create", vid, {"name": name, "order": order})


def event(eid, venue_id, title, start, end, speakers=(), track="", lang="", status=""):
    """An event's create body; the optional text fields only when given."""
    fields = {"venue": venue_id, "title": title, "start": start, "end": end, "speakers": list(speakers)}
    for name, value in (("track", track), ("lang", lang), ("status", status)):
        if value:
            fields[name] = value
    return schema.make_body("event", "create", eid, fields)


def schedule(festival=None, venues=(), events=()):
    """A real ``Schedule`` of a festival's fields (None: no festival document yet) and the bodies
    of ``venue`` and ``event``."""
    head = [] if festival is None else [festival_body(festival)]
    return schedule_of(head + list(venues) + list(events))


# -- the golden festival ------------------------------------------------------------------------
# 2026-07-18 12:00 UTC (a Saturday); the festival runs on UTC+2
GOLDEN_DAY = 1784376000
GOLDEN_OFFSET = 120

GOLDEN_VENUES = [("main", "Main Stage", 0), ("lab", "Hack Lab", 1), ("garden", "Garden Tent", 2)]

# (id, venue, title, start, end, speakers, track, lang)
GOLDEN_EVENTS = [
    ("e1", "main", "Opening: Why festivals need local-first software", GOLDEN_DAY, GOLDEN_DAY + 3600,
     ["Ada Lovelace", "Grace Hopper"], "Keynote", "en"),
    ("e2", "main", "Peer-to-peer schedules with p2panda", GOLDEN_DAY + 3600 + 900, GOLDEN_DAY + 3 * 3600,
     ["Sam Panda"], "Talks", "en"),
    ("e3", "lab", "Solder your own badge", GOLDEN_DAY - 1800, GOLDEN_DAY + 1800, ["Kim"], "Workshop", "en"),
    ("e4", "garden", "Grüße aus Köln: Çağrı & Ñandú über Straßenmusik, Café-Kultur und Smørrebrød in Århus",
     GOLDEN_DAY - 600, GOLDEN_DAY + 2400, ["Zoë Ærøskøbing", "José Muñoz"], "Talks", "de"),
    ("e5", "garden", "Closing jam", GOLDEN_DAY + 2 * 3600, GOLDEN_DAY + 3 * 3600, [], "Music", ""),
    # the next morning: so the first evening is "no more events today", not the festival's end
    ("e6", "garden", "Breakfast with the pandas", GOLDEN_DAY + 20 * 3600, GOLDEN_DAY + 21 * 3600, [], "Music", ""),
]


def golden_bodies(changed=False):
    """The golden festival's bodies; ``changed``: then the keynote is cancelled and the p2panda
    talk moved (announced a quarter of an hour earlier, an update sets the start it has in
    GOLDEN_EVENTS: the same picture, marked moved)."""
    out = [festival_body({"name": "Pandafest 2026", "utc_offset": GOLDEN_OFFSET}, "pandafest")]
    out += [venue(*v) for v in GOLDEN_VENUES]
    for e in GOLDEN_EVENTS:
        if changed and e[0] == "e2":
            e = e[:3] + (e[3] - 900,) + e[4:]
        out.append(event(*e))
    if changed:
        out.append(schema.make_body("event", "update", "e1", {"status": schema.CANCELLED}))
        out.append(schema.make_body("event", "update", "e2", {"start": GOLDEN_EVENTS[1][3]}))
    return out


def golden_schedule(changed=False):
    return schedule_of(golden_bodies(changed))
