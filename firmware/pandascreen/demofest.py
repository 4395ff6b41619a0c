"""A small made-up festival used by the demo, previews and tests."""

from pandascreen.core import schema

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
