"""iCalendar (RFC 5545) importer: a small parser written for schedules, not a full iCal library."""

import datetime
import re

from .common import Builder, ScheduleImportError, get_zone, slug


def _unfold(data):
    """Unfold at the byte level (RFC 5545 folds at octets, even inside a UTF-8 sequence), then decode."""
    data = re.sub(rb"\r?\n[ \t]", b"", data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeError:
        text = data.decode("utf-8", "replace")
    return [line.replace("\r", " ").rstrip() for line in re.split(r"\r?\n", text)]


def _split(line):
    """'NAME;P=V;Q="x:y":value' -> (NAME, {P: V}, value)."""
    in_quote = False
    for i, ch in enumerate(line):
        if ch == '"':
            in_quote = not in_quote
        elif ch == ":" and not in_quote:
            head, value = line[:i], line[i + 1:]
            break
    else:
        return None
    parts = re.findall(r'(?:[^;"]|"[^"]*")+', head)
    name = parts[0].upper() if parts else ""
    params = {}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        params[k.upper()] = v.strip('"')
    return name, params, value


def _unescape(v):
    out = []
    i = 0
    while i < len(v):
        c = v[i]
        if c == "\\" and i + 1 < len(v):
            n = v[i + 1]
            out.append("\n" if n in "nN" else n)
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


_DT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})?(Z)?)?$")


def _parse_dt(value, params, default_zone, where):
    m = _DT.match(value.strip())
    if not m:
        raise ScheduleImportError("%s: %r is not an iCal date-time" % (where, value))
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if m.group(4) is None:  # DATE value: all-day
        hh = mi = ss = 0
    else:
        hh, mi, ss = int(m.group(4)), int(m.group(5)), int(m.group(6) or 0)
    dt = datetime.datetime(y, mo, d, hh, mi, ss)
    if m.group(7):
        return dt.replace(tzinfo=datetime.timezone.utc), None
    tzid = params.get("TZID")
    if tzid:
        zone = get_zone(tzid, where)
        return dt.replace(tzinfo=zone), tzid
    if default_zone is None:
        raise ScheduleImportError(
            "%s: floating time %s has no TZID and the calendar names no time zone; pass --timezone" % (where, value))
    return dt.replace(tzinfo=default_zone), None


def _duration(value, where):
    m = re.match(r"^([+-])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$", value.strip())
    if not m:
        raise ScheduleImportError("%s: DURATION %r is not an iCal duration" % (where, value))
    w, d, h, mi, s = (int(x or 0) for x in m.groups()[1:])
    return (((w * 7 + d) * 24 + h) * 60 + mi) * 60 + s


def load(path, data, timezone=None, festival_id=None):
    lines = _unfold(data)
    if not any(l.strip().upper() == "BEGIN:VCALENDAR" for l in lines[:5]):
        raise ScheduleImportError("%s: not an iCalendar file (no BEGIN:VCALENDAR at the top)" % path)
    cal = {}
    events = []
    cur = None
    bad_lines = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        parsed = _split(line)
        if parsed is None:
            bad_lines.append(n)
            continue
        name, params, value = parsed
        if name == "BEGIN" and value.upper() == "VEVENT":
            cur = {"_line": n}
        elif name == "END" and value.upper() == "VEVENT":
            if cur is not None:
                events.append(cur)
            cur = None
        elif cur is not None:
            cur.setdefault(name, (params, value))
        elif name.startswith("X-WR-"):
            cal[name] = _unescape(value)
    if cur is not None:
        raise ScheduleImportError("%s: VEVENT starting at line %d never ends; is the file truncated?"
                                  % (path, cur["_line"]))
    if not events:
        raise ScheduleImportError("%s: the calendar has no VEVENT entries" % path)
    b = Builder(path)
    if bad_lines:
        b.warn("skipped %d malformed line(s) (first at line %d)" % (len(bad_lines), bad_lines[0]))
    zone_name = timezone or cal.get("X-WR-TIMEZONE")
    zone = get_zone(zone_name, path)
    seen_tzid = None
    for ev in events:
        where = "%s line %d" % (path, ev["_line"])
        if "DTSTART" not in ev:
            raise ScheduleImportError("%s: VEVENT without DTSTART" % where)
        start_dt, tzid = _parse_dt(ev["DTSTART"][1], ev["DTSTART"][0], zone, where)
        seen_tzid = seen_tzid or tzid
        b.note_offset(start_dt)
        start = int(start_dt.timestamp())
        if "DTEND" in ev:
            end = int(_parse_dt(ev["DTEND"][1], ev["DTEND"][0], zone, where)[0].timestamp())
            dur = end - start
            if dur < 0:
                b.warn("line %d: DTEND before DTSTART; treated as 0 minutes" % ev["_line"])
                dur = 0
        elif "DURATION" in ev:
            dur = _duration(ev["DURATION"][1], where)
        else:
            dur = None
        title = _unescape(ev.get("SUMMARY", ({}, ""))[1])
        loc = _unescape(ev.get("LOCATION", ({}, ""))[1])
        cats = _unescape(ev.get("CATEGORIES", ({}, ""))[1])
        uid = _unescape(ev.get("UID", ({}, ""))[1])
        b.event(uid, loc, title, start, dur, (), cats.split(",")[0] if cats else "", "", "VEVENT at line %d"
                % ev["_line"])
    if zone is None and seen_tzid:
        zone_name = seen_tzid
        zone = get_zone(seen_tzid, path)
    name = cal.get("X-WR-CALNAME") or cal.get("X-WR-CALDESC") or ""
    return b.result(name, festival_id and slug(festival_id, "festival"), zone_name, zone)
