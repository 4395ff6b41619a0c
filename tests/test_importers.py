"""Schedule importers, on made-up fixtures in tests/fixtures (always there; each one mimics the
quirks of one real export, see its SOURCES.md) and, where the full real files of ../shared/schedules
are beside the clone (CI has them), on those too.

The full-file cases are collected only when that folder exists, so a fresh clone runs every
test it has and skips none; the made-up fixtures carry every quirk the full files are kept for.
"""

import datetime
import json
import os

import pytest

from conftest import SCHEDULES
from pandascreen_host import importers
from pandascreen_host.importers import ScheduleImportError

UTC = datetime.timezone.utc
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
HAVE_FULL = os.path.isdir(SCHEDULES)


def fixture(name):
    return os.path.join(FIXTURES, name)


def ts(*args):
    return int(datetime.datetime(*args, tzinfo=UTC).timestamp())


def find(n, **kw):
    hits = [e for e in n["events"] if all(e[k] == v for k, v in kw.items())]
    assert hits, kw
    return hits[0]


def venue_name(n, vid):
    return [v["name"] for v in n["venues"] if v["id"] == vid][0]


# made-up fixture, timezone argument, (events, venues), festival id
FIXTURE_CASES = [
    ("frab_multisource_merged.xml", None, (11, 5), "pf31"),
    ("frab_fahrplan_tz.xml", None, (5, 3), "pf31-fahrplan"),
    ("frab_no_guid_no_date.xml", "Europe/Brussels", (5, 3), "sloth-camp-2031"),
    ("frab_wafer_utc_dates.xml", None, (4, 2), "sloth-hill-31"),
    ("frab_json_camp.json", None, (5, 2), "slothcamp2031"),
    ("pretalx_json_no_tz.json", None, (4, 2), "pandaradio-2031"),
    ("ics_tzid_no_vtimezone_crlf.ics", None, (5, 5), "pandafest-marseille-2031"),
    ("ics_x_wr_timezone_no_location.ics", None, (8, 3), "sloth-camp-down-under-2031"),
    ("frab_bogus_z_no_guid.xml", "Europe/Berlin", (5, 3), "2nd-sloth-hammock-day"),
    ("voctosched_multiline.csv", None, (5, 2), "voctosched-multiline"),
]
# real file in ../shared/schedules, timezone argument, (events, venues) in the full file, festival id
FULL_CASES = [
    ("giggity_36c3_merged.xml", None, (1351, 92), "36c3"),
    ("eventfahrplan_schedule-38c3-20251206.xml", None, (1007, 72), "38c3"),
    ("giggity_fosdem_2021.xml", "Europe/Brussels", (773, 106), "fosdem-2021"),
    ("giggity_debconf23.xml", None, (117, 5), "debconf23"),
    ("vocschedule_frab-camp2019.json", None, (79, 2), "camp2019"),
    ("vocschedule_pretalx-rc3.json", None, (48, 5), "rc3-channels-2020"),
    ("giggity_jres_2022.ics", None, (120, 15), "jres-2021-22"),
    ("giggity_linux_conf_au_2020.ics", None, (262, 8), "linux-conf-au-2020"),
    ("aksw-lswt2019_schedule.xml", "Europe/Berlin", (31, 4), "7th-leipzig-semantic-web-day"),
    ("voctosched_gpn11.csv", None, (29, 2), "voctosched-gpn11"),
]
FILES = [pytest.param(fixture(name), tz, counts, fid, id="fixture-" + name) for name, tz, counts, fid in FIXTURE_CASES]
if HAVE_FULL:
    FILES += [pytest.param(os.path.join(SCHEDULES, name), tz, counts, fid, id="full-" + name)
              for name, tz, counts, fid in FULL_CASES]


def test_every_fixture_is_listed_with_its_source():
    listed = open(fixture("SOURCES.md"), encoding="utf-8").read()
    data = sorted(f for f in os.listdir(FIXTURES) if not f.endswith((".md", ".py")))
    assert data and all("`%s`" % f in listed for f in data), data
    assert set(name for name, *_ in FIXTURE_CASES) == set(data)


@pytest.mark.parametrize("path,tz,counts,fid", FILES)
def test_real_files_import(path, tz, counts, fid):
    n = importers.load(path, timezone=tz)
    assert (len(n["events"]), len(n["venues"])) == counts
    assert n["festival"]["id"] == fid
    ids = [e["id"] for e in n["events"]]
    assert len(set(ids)) == len(ids)
    assert all(e["end"] >= e["start"] for e in n["events"])
    assert set(e["venue"] for e in n["events"]) == set(v["id"] for v in n["venues"])
    # re-importing the same export changes nothing
    assert importers.diff(n, importers.load(path, timezone=tz)) == []
    # and the whole thing is publishable
    from pandascreen.core import schema
    for kind, action, doc_id, fields in importers.diff(None, n):
        schema.make_body(kind, action, doc_id, fields)


def test_merged_frab_times_rooms_and_duplicates():
    n = importers.load(fixture("frab_multisource_merged.xml"))
    e = find(n, title="Pandafest Opening")
    assert e["start"] == ts(2031, 12, 27, 9, 0) and e["end"] - e["start"] == 30 * 60
    assert venue_name(n, e["venue"]) == "Bamboo Hall" and e["speakers"] == ["Mei Mei", "Bao Bao"]
    assert n["festival"]["utc_offset"] == 60  # no time_zone_name: taken from the +01:00 dates
    dup = [w for w in n["warnings"] if "duplicate event id" in w]
    assert len(dup) == 1 and "-2)" in dup[0]
    assert len(set(e["id"] for e in n["events"])) == len(n["events"])  # the shared id 367 kept apart
    names = [v["name"] for v in n["venues"]]
    assert "bamboohut" in names and not any("Panda" in v for v in names)  # the event's <room>, not the prefixed one
    assert max(e["end"] - e["start"] for e in n["events"]) == 12 * 3600 + 59 * 60  # "12:59"
    assert find(n, title="Knitting Bamboo Socks")["end"] - find(n, title="Knitting Bamboo Socks")["start"] == 90 * 60
    late = find(n, title="Late Leaf Lecture (runs past midnight)")
    assert late["end"] == ts(2031, 12, 27, 23, 30)  # past 24:00 local
    assert find(n, title="Nachteulen-Quiz für Frühaufsteher")["start"] == ts(2031, 12, 27, 23, 50)  # day 1, after midnight
    assert {"cs", "ab"} <= set(e["lang"] for e in n["events"])
    assert any("zero duration" in w for w in n["warnings"])
    assert any(e["title"] == "Żółw and friends: a slow workshop" for e in n["events"])


if HAVE_FULL:  # collected only beside ../shared (CI), never a skip on a fresh clone
    def test_full_files_collapse_repeated_warnings_into_one_counted_line():
        n = importers.load(os.path.join(SCHEDULES, "giggity_36c3_merged.xml"))
        dup = [w for w in n["warnings"] if "duplicate event id" in w]
        assert len(dup) == 1 and "(3 times, e.g. " in dup[0]
        n = importers.load(os.path.join(SCHEDULES, "giggity_linux_conf_au_2020.ics"))
        no_room = [w for w in n["warnings"] if "has no room" in w]
        assert len(no_room) == 1 and "(17 times, e.g. " in no_room[0]


def test_fahrplan_time_zone_and_after_midnight():
    n = importers.load(fixture("frab_fahrplan_tz.xml"))
    e = find(n, title="Moonlight Munching")
    assert e["start"] == ts(2031, 12, 27, 22, 30) and e["end"] - e["start"] == 2 * 3600
    assert find(n, title="Sleepwalkers' Q&A")["start"] == ts(2031, 12, 28, 0, 45)
    assert max(e["end"] - e["start"] for e in n["events"]) == 720 * 60
    assert n["festival"]["timezone"] == "Europe/Berlin"
    assert {"de, en", "en, de"} <= set(e["lang"] for e in n["events"])
    assert any(e["title"] == "Grüne Blätter, große Pläne" for e in n["events"])


def test_wafer_utc_dates_with_local_start():
    n = importers.load(fixture("frab_wafer_utc_dates.xml"))
    e = find(n, id="aaaa0001-5107-4c1d-9e00-000000000001")
    assert e["start"] == ts(2031, 9, 10, 5, 0)  # 10:30 IST
    assert venue_name(n, e["venue"]) == "Teak Room"
    assert n["festival"]["utc_offset"] == 330


def test_frab_without_dates_needs_and_uses_timezone():
    with pytest.raises(ScheduleImportError, match="--timezone"):
        importers.load(fixture("frab_no_guid_no_date.xml"))
    n = importers.load(fixture("frab_no_guid_no_date.xml"), timezone="Europe/Brussels")
    e = find(n, title="Welcome to Sloth Camp 2031")
    assert e["start"] == ts(2031, 2, 8, 8, 0)
    assert find(n, title="Sloth Camp Farewell")["start"] == ts(2031, 2, 9, 14, 0)  # day 2, from <day date>


def test_ical_tzid_without_vtimezone_and_folded_utf8():
    raw = open(fixture("ics_tzid_no_vtimezone_crlf.ics"), "rb").read()
    assert b"\xc3\r\n \xa9" in raw and raw.count(b"\r\n") == raw.count(b"\n")  # the quirks are really there
    n = importers.load(fixture("ics_tzid_no_vtimezone_crlf.ics"))
    e = find(n, title="Accueil des pandas")
    assert e["start"] == ts(2031, 5, 17, 9, 0) and venue_name(n, e["venue"]) == "Accueil Bambouseraie"
    assert any("Numérique" in x["title"] for x in n["events"])
    assert any(v["name"] == "Amphithéâtre Feuille" for v in n["venues"])
    assert any("zero duration" in w for w in n["warnings"])
    assert not any("UTF-8" in w for w in n["warnings"])  # folds inside UTF-8 sequences are not an encoding problem


def test_ical_x_wr_timezone_and_missing_location():
    n = importers.load(fixture("ics_x_wr_timezone_no_location.ics"))
    assert n["festival"]["timezone"] == "Australia/Brisbane" and n["festival"]["utc_offset"] == 600
    assert any(v["name"] == "Elsewhere" for v in n["venues"])
    no_room = [w for w in n["warnings"] if "has no room" in w]
    assert len(no_room) == 1 and "(4 times, e.g. " in no_room[0]  # collapsed into one counted line


def test_bogus_z_read_as_local_time():
    n = importers.load(fixture("frab_bogus_z_no_guid.xml"), timezone="Europe/Berlin")
    assert find(n, title="Welcome")["start"] == ts(2031, 5, 22, 7, 0)
    assert any("end in 'Z'" in w for w in n["warnings"])
    assert any("no duration" in w for w in n["warnings"])
    assert find(n, title="Welcome")["speakers"] == ["Dr. Sid Sloth", "Mo Moss"]
    assert find(n, title="Hanging Out, Formally")["speakers"] == ["Prof. Zoë Faultier"]
    assert len([e for e in n["events"] if e["title"] == "Coffee break"]) == 2  # id 997 shared across rooms


def test_csv_date_wins_over_day_index():
    n = importers.load(fixture("voctosched_multiline.csv"))
    e = find(n, title="Ergebnisse Bambusjam")
    assert e["start"] == ts(2031, 6, 25, 22, 0) and e["speakers"] == ["diverse"]
    assert any("assuming Europe/Berlin" in w for w in n["warnings"])


def test_frab_json_persons_and_past_midnight():
    n = importers.load(fixture("frab_json_camp.json"))
    e = find(n, title="Achtung, Nachtfalter!")
    assert e["start"] == ts(2031, 8, 21, 21, 0) and e["end"] == ts(2031, 8, 21, 22, 30)
    assert find(n, title="Three Toes, Many Hands")["speakers"] == ["Sid Sloth", "Zoë Faultier", "Ravi Red-Panda"]


def test_pretalx_json():
    n = importers.load(fixture("pretalx_json_no_tz.json"))
    e = find(n, id="bbbb0000-0000-5000-8000-000000000015")
    assert e["start"] == ts(2031, 12, 27, 10, 30)
    assert venue_name(n, e["venue"]) == "p4s - Bambusheim/Fluss"
    assert n["festival"]["utc_offset"] == 60  # no time_zone_name: from the dates
    assert find(n, title="Night Shift Lullabies")["start"] == ts(2031, 12, 30, 1, 0)  # 02:00 on day 3 (04:00-03:59)


@pytest.mark.parametrize("name,content,msg", [
    ("missing.xml", None, "no such file"),
    ("empty.xml", b"   \n", "empty"),
    ("cut.xml", b"<schedule><conference><title>x</title></conf", "ends inside <conference>.*download complete"),
    ("other.xml", b"<calendar><body/></calendar>", "expected a frab <schedule>"),
    ("other.json", b'{"hello": 1}', "not a frab/pretalx schedule"),
    ("bad.json", b'{"schedule": ', "not valid JSON"),
    ("float.ics", b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:1\r\nDTSTART:20240101T100000\r\nSUMMARY:x\r\n"
                  b"END:VEVENT\r\nEND:VCALENDAR\r\n", "floating time"),
    ("cut.ics", b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:1\r\n", "never ends"),
    ("dur.csv", "Room,Date,Day,Start,Duration,Title\nA,2024-01-01,1,10:00,1h,x\n".encode(), "duration '1h'"),
    ("cols.csv", b"Room,Title\nA,x\n", "lacks column"),
    ("what.txt", b"hello world", "unknown schedule format"),
    ("tz.csv", "Room,Date,Day,Start,Duration,Title\nA,2024-01-01,1,10:00,1:00,x\n".encode(), "unknown time zone"),
])
def test_bad_input_is_explained(tmp_path, name, content, msg):
    p = tmp_path / name
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(ScheduleImportError, match=msg) as ei:
        importers.load(str(p), timezone="Mars/Olympus" if name == "tz.csv" else None)
    assert str(p) in str(ei.value)


def neutral():
    return {"festival": {"id": "f", "name": "F", "timezone": "UTC", "utc_offset": 0, "start": 0, "end": 9},
            "venues": [{"id": "a", "name": "A", "order": 1}, {"id": "b", "name": "B", "order": 2}],
            "events": [{"id": "e1", "venue": "a", "title": "T1", "start": 0, "end": 5, "speakers": [],
                        "track": "", "lang": ""},
                       {"id": "e2", "venue": "b", "title": "T2", "start": 5, "end": 9, "speakers": ["x"],
                        "track": "", "lang": ""}],
            "warnings": []}


def test_diff():
    old = neutral()
    assert importers.diff(old, neutral()) == []
    assert [c[:2] for c in importers.diff(None, old)] == [("festival", "create"), ("venue", "create"),
                                                           ("venue", "create"), ("event", "create"),
                                                           ("event", "create")]
    new = neutral()
    new["events"][0]["title"] = "T1 (moved)"
    assert importers.diff(old, new) == [("event", "update", "e1", {"title": "T1 (moved)"})]
    new = neutral()
    del new["events"][1]
    del new["venues"][1]
    assert importers.diff(old, new) == [("event", "delete", "e2", None), ("venue", "delete", "b", None)]


# -- JSON: any structure gives a result or a ScheduleImportError, never another exception --------
from hypothesis import HealthCheck, example, given, settings, strategies as st  # noqa: E402

from pandascreen_host.importers import json_schedule  # noqa: E402

_leaf = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 20, 10 ** 20),
                  st.floats(allow_nan=False), st.text(max_size=12))
_any = st.recursive(_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                    max_leaves=8)


def _or_any(*plausible):
    return st.one_of(_any, *[st.just(p) for p in plausible])


_event = st.fixed_dictionaries({}, optional={
    "id": _or_any(1, "7"), "guid": _or_any("g-1"), "title": _or_any("Talk", ""),
    "date": _or_any("2024-05-01T10:00:00+02:00", "2024-05-01T10:00", "9999-12-31T23:59:00-12:00",
                    "0001-01-01T00:00:00+14:00"),
    "start": _or_any("10:00", "25:30", "99:99"), "duration": _or_any("01:30", 90, "1h", "-1:00"),
    "room": _or_any("Hall"), "persons": _or_any("Alice, Bob", [{"public_name": "Al"}], ["Bo", 3]),
    "track": _or_any("Art"), "language": _or_any("en")})
_day = st.fixed_dictionaries({}, optional={
    "date": _or_any("2024-05-01", "9999-12-31", "0001-01-01"), "index": _any,
    "rooms": st.one_of(_any, st.dictionaries(st.text(max_size=6), st.one_of(_any, st.lists(
        st.one_of(_event, _any), max_size=3)), max_size=2))})
_schedule = st.fixed_dictionaries({"schedule": st.fixed_dictionaries({"conference": st.fixed_dictionaries(
    {"days": st.one_of(st.lists(st.one_of(_day, _any), max_size=3), _any)},
    optional={"title": _or_any("Fest"), "acronym": _or_any("fest"),
              "time_zone_name": _or_any("Europe/Berlin", "UTC", "Mars/Olympus")})})})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=st.one_of(_schedule, _any), timezone=st.sampled_from([None, "Europe/Berlin"]))
def test_json_fuzz_only_schedule_import_error_escapes(doc, timezone):
    data = json.dumps(doc).encode()
    try:
        n = json_schedule.load("fuzz.json", data, timezone=timezone)
    except ScheduleImportError as e:
        assert str(e).startswith("fuzz.json") and "\n" not in str(e)
        return
    for e in n["events"]:
        assert isinstance(e["title"], str) and isinstance(e["start"], int) and e["end"] >= e["start"]
        assert all(isinstance(s, str) and s for s in e["speakers"])
        assert isinstance(e["track"], str) and isinstance(e["lang"], str)
    assert all(isinstance(w, str) for w in n["warnings"])


def _one_event_json(tmp_path, **event):
    ev = {"id": 5, "guid": "g5", "date": "2024-05-01T10:00:00+02:00", "duration": "00:30", "room": "Hall",
          "title": "Talk"}
    ev.update(event)
    ev = {k: v for k, v in ev.items() if v is not Ellipsis}
    doc = {"schedule": {"conference": {"acronym": "f", "title": "F", "days": [
        {"index": 1, "date": "2024-05-01", "rooms": {"Hall": [ev]}}]}}}
    p = tmp_path / "s.json"
    p.write_text(json.dumps(doc))
    return str(p)


@pytest.mark.parametrize("field,value,msg", [
    ("title", 42, r"day #1 event id=5: 'title' is a number \(42\), expected text"),
    ("date", 20240501, r"event id=5: 'date' is a number"),
    ("date", "1 May", r"event id=5: date '1 May' is not an ISO 8601"),
    ("date", ..., r"event id=5: no date and no time zone"),
    ("persons", {"name": "Alice"}, r"event id=5: 'persons' is an object, expected a list of persons"),
    ("persons", [{"public_name": ["A"]}], r"event id=5 person #1: 'public_name' is a list"),
    ("duration", [1], r"event id=5: 'duration' is a list"),
    ("room", 3, r"event id=5: 'room' is a number"),
])
def test_json_type_errors_name_file_record_and_field(tmp_path, field, value, msg):
    path = _one_event_json(tmp_path, **{field: value})
    with pytest.raises(ScheduleImportError, match=msg) as ei:
        importers.load(path)
    assert str(ei.value).startswith(path + " ")


def test_json_persons_as_comma_string(tmp_path):
    n = importers.load(_one_event_json(tmp_path, persons="Alice, Bob"))
    assert n["events"][0]["speakers"] == ["Alice", "Bob"]
    n = importers.load(_one_event_json(tmp_path, persons="Alice"))
    assert n["events"][0]["speakers"] == ["Alice"]


def test_cli_prints_one_line_for_a_bad_json_field(tmp_path, capsys):
    from pandascreen_host.cli import main
    path = _one_event_json(tmp_path, title=42)
    assert main(["import", path, "--store", str(tmp_path / "f.db"), "--key", str(tmp_path / "k"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: %s day #1 event id=5: 'title'" % path)


# -- iCal: recurrence, the file's own VTIMEZONE, encodings, warnings --------------------------------
VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Festival Time
BEGIN:STANDARD
DTSTART:19701025T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
END:VTIMEZONE
"""


def ics(tmp_path, *events, head="", name="cal.ics", encoding="utf-8"):
    body = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\nX-WR-CALNAME:Test Fest\n" + head
    for ev in events:
        body += "BEGIN:VEVENT\n" + ev.strip() + "\nEND:VEVENT\n"
    body += "END:VCALENDAR\n"
    p = tmp_path / name
    p.write_bytes(body.replace("\n", "\r\n").encode(encoding))
    return str(p)


def test_ical_weekly_rrule_repeats_within_the_festival_and_no_further(tmp_path):
    path = ics(tmp_path, """UID:yoga
DTSTART;TZID=Festival Time:20240701T080000
DTEND;TZID=Festival Time:20240701T090000
RRULE:FREQ=WEEKLY
SUMMARY:Morning yoga
LOCATION:Meadow""", """UID:open
DTSTART;TZID=Festival Time:20240701T100000
DTEND;TZID=Festival Time:20240701T110000
SUMMARY:Opening
LOCATION:Main""", """UID:close
DTSTART;TZID=Festival Time:20240722T180000
DTEND;TZID=Festival Time:20240722T190000
SUMMARY:Closing
LOCATION:Main""", head=VTIMEZONE)
    n = importers.load(path)
    yoga = [e for e in n["events"] if e["title"] == "Morning yoga"]
    assert [e["start"] for e in yoga] == [ts(2024, 7, d, 6, 0) for d in (1, 8, 15, 22)]
    assert len(set(e["id"] for e in yoga)) == 4  # one id per occurrence, stable across re-imports
    assert importers.diff(n, importers.load(path)) == []
    assert any("left out the repeats of 1 recurring event after" in w and "'Morning yoga' (repeats after)" in w
               for w in n["warnings"])
    # the TZID is defined only by the file's own VTIMEZONE (CEST in July, +02:00)
    assert find(n, title="Opening")["start"] == ts(2024, 7, 1, 8, 0) and n["festival"]["utc_offset"] == 120


def test_ical_rdate_exdate_and_a_moved_occurrence(tmp_path):
    path = ics(tmp_path, """UID:talk
DTSTART:20240701T100000Z
DURATION:PT30M
RRULE:FREQ=DAILY;COUNT=4
EXDATE:20240703T100000Z
RDATE:20240710T120000Z
SUMMARY:Daily talk""", """UID:talk
RECURRENCE-ID:20240702T100000Z
DTSTART:20240702T150000Z
DURATION:PT30M
SUMMARY:Daily talk (moved)""", """UID:start
DTSTART:20240701T090000Z
DTEND:20240701T093000Z
SUMMARY:Welcome""", """UID:end
DTSTART:20240710T180000Z
DTEND:20240710T190000Z
SUMMARY:End""", head="X-WR-TIMEZONE:Europe/Berlin\n")
    n = importers.load(path)
    starts = sorted((e["start"], e["title"]) for e in n["events"] if e["title"].startswith("Daily"))
    assert starts == [(ts(2024, 7, 1, 10), "Daily talk"), (ts(2024, 7, 2, 15), "Daily talk (moved)"),
                      (ts(2024, 7, 4, 10), "Daily talk"), (ts(2024, 7, 10, 12), "Daily talk")]
    assert all(e["end"] - e["start"] == 1800 for e in n["events"] if e["title"].startswith("Daily"))
    assert not any("left out" in w for w in n["warnings"])  # a finite rule inside the festival


def test_ical_endless_rule_alone_is_bounded(tmp_path):
    path = ics(tmp_path, """UID:tick
DTSTART:20240701T100000Z
DURATION:PT5M
RRULE:FREQ=HOURLY
SUMMARY:Tick
LOCATION:Clock""", head="X-WR-TIMEZONE:UTC\n")
    with pytest.raises(ScheduleImportError, match="every event repeats.*--from"):
        importers.load(path)
    n = importers.load(path, span=(datetime.date(2024, 7, 1), datetime.date(2024, 7, 14)))
    assert len(n["events"]) == 14 * 24 - 10  # from 10:00 on the first day to the last hour of the 14th
    assert any("'Tick' (repeats after)" in w for w in n["warnings"])


def test_ical_latin1_is_decoded_with_a_warning(tmp_path):
    path = ics(tmp_path, """UID:1
DTSTART:20240701T100000Z
DTEND:20240701T110000Z
SUMMARY:Café Müller à l'Opéra
LOCATION:Salle Dupré""", head="X-WR-TIMEZONE:Europe/Paris\n", encoding="latin-1")
    n = importers.load(path)
    assert n["events"][0]["title"] == "Café Müller à l'Opéra" and n["venues"][0]["name"] == "Salle Dupré"
    assert any("not UTF-8" in w and "Windows-1252" in w for w in n["warnings"])


def test_ical_without_any_time_zone(tmp_path):
    floating = """UID:1
DTSTART:20240701T100000
DTEND:20240701T110000
SUMMARY:Floating"""
    with pytest.raises(ScheduleImportError, match="floating time.*pass --timezone"):
        importers.load(ics(tmp_path, floating))
    n = importers.load(ics(tmp_path, floating), timezone="Europe/Berlin")
    assert n["events"][0]["start"] == ts(2024, 7, 1, 8, 0)
    assert any("names no time zone" in w and "Europe/Berlin" in w for w in n["warnings"])
    n = importers.load(ics(tmp_path, floating.replace("100000", "100000Z").replace("110000", "110000Z")))
    assert n["festival"]["timezone"] == "" and any("every time is UTC" in w for w in n["warnings"])


def test_ical_event_over_a_day_warns(tmp_path):
    n = importers.load(ics(tmp_path, """UID:camp
DTSTART;VALUE=DATE:20240701
DTEND;VALUE=DATE:20240704
SUMMARY:Camping""", head="X-WR-TIMEZONE:Europe/Berlin\n"))
    assert n["events"][0]["start"] == ts(2024, 6, 30, 22, 0)  # all-day: midnight festival time
    assert any("lasts over a day" in w and "3.0 days" in w for w in n["warnings"])


def test_ical_unknown_tzid_is_named(tmp_path):
    with pytest.raises(ScheduleImportError, match="'Atlantis/Capital', which is neither a known zone nor defined"):
        importers.load(ics(tmp_path, """UID:1
DTSTART;TZID=Atlantis/Capital:20240701T100000
SUMMARY:x"""))


def test_ical_truncated_versus_malformed(tmp_path):
    whole = open(ics(tmp_path, """UID:1
DTSTART:20240701T100000Z
SUMMARY:x""", head="X-WR-TIMEZONE:UTC\n"), "rb").read()
    cut = tmp_path / "cut.ics"
    cut.write_bytes(whole[:whole.index(b"SUMMARY")])
    with pytest.raises(ScheduleImportError, match="is the download complete"):
        importers.load(str(cut))
    bad = tmp_path / "bad.ics"
    bad.write_bytes(whole.replace(b"DTSTART:20240701T100000Z", b"DTSTART:2024-07-01 10:00"))
    with pytest.raises(ScheduleImportError, match="DTSTART .* is not an iCal date-time") as ei:
        importers.load(str(bad))
    assert "download" not in str(ei.value)


@pytest.mark.parametrize("lines,msg", [
    ("DTSTART:20240701T100000Z\nRRULE:FREQ=BOGUS", "RRULE 'FREQ=BOGUS' is not valid"),
    ("DTSTART:20240701T100000Z\nRRULE:FREQ=SECONDLY", "RRULE repeats secondly"),
    ("DTSTART:20240701T100000Z\nDURATION:soon", "DURATION 'soon' is not valid"),
    ("DTSTART:20240701T100000Z\nRDATE:xyz", "RDATE 'xyz' is not valid"),
    ("DTSTART:20240701T100000Z\nEXDATE:xyz\nRRULE:FREQ=DAILY;COUNT=2", "EXDATE 'xyz' is not valid"),
    ("DTSTART:20240701T100000Z\nRECURRENCE-ID:bad", "RECURRENCE-ID 'bad' is not valid"),
    ("DTSTART:99991231T230000Z\nDURATION:PT5H", "out of range"),
    ("SUMMARY:no start", "has no DTSTART"),
])
def test_ical_bad_values_are_named(tmp_path, lines, msg):
    with pytest.raises(ScheduleImportError, match=msg) as ei:
        importers.load(ics(tmp_path, "UID:1\n" + lines, head="X-WR-TIMEZONE:UTC\n"))
    assert "\n" not in str(ei.value)


# -- XML: errors that name the cause ---------------------------------------------------------------
HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n<schedule><conference><title>Caf\xc3\xa9</title></conference>'


@pytest.mark.parametrize("data,msg", [
    (b"<!DOCTYPE html>\n<html><head><title>Sign in</title><body><p>Please log in<br></body></html>",
     "looks like an HTML page, not a frab schedule: did the download hit a login/error page"),
    (b"<html xmlns='http://www.w3.org/1999/xhtml'><body/></html>", "looks like an HTML page"),
    (HEAD.replace(b"\xc3\xa9", b"\xe9") + b"</schedule>",
     r"byte 0xe9 at line 2 is not utf-8 \(the file declares UTF-8\); was it saved as Latin-1"),
    (HEAD.replace(b"\xc3\xa9", b"\xe9").replace(b' encoding="UTF-8"', b"") + b"</schedule>",
     "declares no encoding, so it must be UTF-8"),
    (HEAD.replace(b"UTF-8", b"klingon-8") + b"</schedule>", "declares encoding 'klingon-8', which is not"),
    (b'<?xml version="1.0"?>\n<!DOCTYPE s [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">]>\n'
     b"<schedule>&b;</schedule>", "line 2 declares or uses an XML entity.*refused"),
    (b'<?xml version="1.0"?>\n<!DOCTYPE s [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<schedule>&xxe;</schedule>',
     "declares or uses an XML entity"),
    (HEAD + b"<day><room>&nbsp;</room></day></schedule>", "line 2 column .* uses an entity XML does not define"),
    (HEAD + b"<day index='1'><room></day></schedule>", "not well-formed XML: mismatched tag at line 2"),
    (HEAD + b"<day index='1' date='2024-05-01'><room name='A'><event id='1'><start>10:0",
     r"ends inside <start> \(line 2\); it is cut short: is the download complete\?"),
])
def test_xml_errors_name_the_cause(tmp_path, data, msg):
    p = tmp_path / "schedule.xml"
    p.write_bytes(data)
    with pytest.raises(ScheduleImportError, match=msg) as ei:
        importers.load(str(p), timezone="Europe/Berlin")
    if "download" not in msg:
        assert "download complete" not in str(ei.value)  # that hint is kept for files truly cut short


def test_xml_truncated_export_and_declared_latin1(tmp_path):
    whole = open(fixture("frab_fahrplan_tz.xml"), "rb").read()
    cut = tmp_path / "cut.xml"
    cut.write_bytes(whole[:len(whole) // 2])
    with pytest.raises(ScheduleImportError, match="is the download complete"):
        importers.load(str(cut))
    # a file that declares its real (non-UTF-8) encoding is fine, and a DOCTYPE without entities too
    latin = (b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<!DOCTYPE schedule>\n<schedule><conference>'
             b'<title>F\xeate</title><time_zone_name>Europe/Paris</time_zone_name></conference>'
             b'<day index="1" date="2024-06-21"><room name="Th\xe9\xe2tre"><event id="1"><start>20:00</start>'
             b'<duration>01:00</duration><title>Op\xe9ra</title></event></room></day></schedule>')
    p = tmp_path / "latin.xml"
    p.write_bytes(latin)
    n = importers.load(str(p))
    assert n["events"][0]["title"] == "Opéra" and n["venues"][0]["name"] == "Théâtre"


@pytest.mark.parametrize("name", ["schedule.json", "fahrplan.ics", "export.csv", "schedule.xml"])
def test_html_login_page_is_named_whatever_the_file_is_called(tmp_path, name):
    p = tmp_path / name
    p.write_bytes(b"\n<!DOCTYPE html>\n<html lang=en><head><title>Login</title></head><body>Sign in</body></html>")
    with pytest.raises(ScheduleImportError, match="looks like an HTML page.*login/error page"):
        importers.load(str(p))


def test_csv_in_latin1_is_read_with_a_warning(tmp_path):
    p = tmp_path / "s.csv"
    p.write_bytes("Room,Date,Day,Start,Duration,Title\nSaal Müller,2024-01-01,1,10:00,1:00,Café\n".encode("latin-1"))
    n = importers.load(str(p), timezone="Europe/Berlin")
    assert n["events"][0]["title"] == "Café" and n["venues"][0]["name"] == "Saal Müller"
    assert any("not UTF-8" in w for w in n["warnings"])


# -- every format: a damaged export gives a result or one clean ScheduleImportError ----------
DAMAGEABLE = sorted(f for f in os.listdir(FIXTURES) if f.endswith((".xml", ".json", ".ics", ".csv")))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(DAMAGEABLE), cuts=st.lists(st.tuples(
    st.sampled_from(["flip", "drop", "copy"]), st.floats(0, 1), st.floats(0, 1), st.integers(0, 255)),
    min_size=1, max_size=6))
@example(name="voctosched_multiline.csv", cuts=[("drop", 0.0, 0.0, 255)] * 3 + [("flip", 0.0, 0.0, 0)])  # all dropped
def test_damaged_exports_fail_cleanly(name, cuts):
    from pandascreen_host.importers import csv_schedule, frab_xml, ical
    mod = {".xml": frab_xml, ".json": json_schedule, ".ics": ical, ".csv": csv_schedule}[os.path.splitext(name)[1]]
    data = bytearray(open(fixture(name), "rb").read())
    for op, where, other, byte in cuts:
        if not data:  # dropped to nothing: an empty file, which the import below gets as it is
            break
        i, j = int(where * (len(data) - 1)), int(other * (len(data) - 1))
        if op == "flip":
            data[i] = byte
        elif op == "drop":
            del data[i:i + byte]
        else:
            data[i:i] = data[j:j + byte]
    try:
        mod.load("x" + os.path.splitext(name)[1], bytes(data), timezone="Europe/Berlin")
    except ScheduleImportError as e:
        assert "\n" not in str(e) and "\r" not in str(e), str(e)


def test_line_breaks_and_controls_in_names_are_folded_before_publishing(tmp_path):
    """A calendar export's LOCATION with a line break (escaped \\n, as exports write it) is one
    venue named on one line, the same venue as the name without it; controls and bidi overrides
    in any name are what a screen would draw (core/font.clean), so the published text is clean."""
    path = ics(tmp_path, """UID:a
DTSTART:20240701T080000Z
DTEND:20240701T090000Z
SUMMARY:Talk\\nwith a break
LOCATION:Main\\nStage""", """UID:b
DTSTART:20240701T100000Z
DTEND:20240701T110000Z
SUMMARY:Second\u202e talk
CATEGORIES:Hard\\, ware
LOCATION:Main Stage""", head="X-WR-TIMEZONE:UTC\n")
    n = importers.load(path)
    assert [v["name"] for v in n["venues"]] == ["Main Stage"]
    assert [e["title"] for e in n["events"]] == ["Talk with a break", "Second talk"]
    assert [e["track"] for e in n["events"]] == ["", "Hard, ware"]
    from pandascreen_host.importers.common import Builder
    b = Builder("x.ics")
    b.event("e", "Hall\r\nA", "T", 0, 60, ["Ada\n L.", "\x00"], "Tr\tack", "e\x1bn")
    fest = b.result("Fest\u2028Name\n", None, "UTC", None)
    assert fest["festival"]["name"] == "Fest Name" and fest["venues"][0]["name"] == "Hall A"
    assert fest["events"][0]["speakers"] == ["Ada L.", "\ufffd"]
    assert (fest["events"][0]["track"], fest["events"][0]["lang"]) == ("Tr ack", "e\ufffdn")


def test_ical_an_all_day_event_without_an_end_lasts_its_day(tmp_path):
    """RFC 5545 3.6.1: a DTSTART that is a date, with neither DTEND nor DURATION, lasts one day (a
    calendar day: 23 hours the night the clocks go forward).  It had been 0 minutes, shown as
    "Next 00:00 ... tomorrow" and, on its day, gone."""
    n = importers.load(ics(tmp_path, "UID:mic\nDTSTART;VALUE=DATE:20260711\nSUMMARY:Open mic day\nLOCATION:Stage",
                           "UID:spring\nDTSTART;VALUE=DATE:20260329\nSUMMARY:Spring\nLOCATION:Stage",
                           head="X-WR-TIMEZONE:Europe/Berlin\n"))
    by = {e["title"]: e for e in n["events"]}
    assert by["Open mic day"]["end"] - by["Open mic day"]["start"] == 24 * 3600
    assert by["Spring"]["end"] - by["Spring"]["start"] == 23 * 3600
    assert not [w for w in n["warnings"] if "no duration" in w], n["warnings"]


@pytest.mark.parametrize("text", ["-0:30", "-0", "0:-30", "-1:30"])
def test_a_negative_duration_is_refused_in_one_line_whatever_its_first_part(text):
    """"-0:30" read as 0 hours and 30 minutes: the set a typo meant to shorten ran half an hour."""
    from pandascreen_host.importers.common import parse_duration
    with pytest.raises(ScheduleImportError, match="is not HH:MM"):
        parse_duration(text, "row 3")
