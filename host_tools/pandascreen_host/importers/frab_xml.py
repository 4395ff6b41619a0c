"""frab / pentabarf / pretalx ``schedule.xml`` importer."""

import datetime
import xml.etree.ElementTree as ET

from .common import (Builder, ScheduleImportError, aware, get_zone, local_to_epoch, parse_date,
                     parse_duration, parse_hhmm)


def _text(el, tag):
    child = el.find(tag)
    return "" if child is None or child.text is None else child.text.strip()


def load(path, data, timezone=None, festival_id=None):
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise ScheduleImportError("%s: not well-formed XML (%s); is the download complete?" % (path, e))
    if root.tag != "schedule":
        raise ScheduleImportError("%s: XML root is <%s>, expected a frab <schedule>" % (path, root.tag))
    conf = root.find("conference")
    if conf is None:
        conf = ET.Element("conference")
    b = Builder(path)
    zone_name = _text(conf, "time_zone_name") or timezone
    if timezone and _text(conf, "time_zone_name") and timezone != _text(conf, "time_zone_name"):
        b.warn("schedule says time zone %s; --timezone %s wins" % (_text(conf, "time_zone_name"), timezone))
        zone_name = timezone
    zone = get_zone(zone_name, path)
    day_change = _text(conf, "day_change")
    change_h = parse_hhmm(day_change, path)[0] if day_change else 0
    z_as_local = 0
    days = root.findall("day")
    if not days:
        raise ScheduleImportError("%s: no <day> elements; this is not a frab schedule.xml" % path)
    for day in days:
        day_date = parse_date(day.get("date"), "%s <day index=%s>" % (path, day.get("index")))
        for room in day.findall("room"):
            room_name = (room.get("name") or "").strip()
            for ev in room.findall("event"):
                where = "event id=%s" % ev.get("id", "?")
                start_text = _text(ev, "start")
                date_text = _text(ev, "date")
                hh, mm = parse_hhmm(start_text, "%s %s" % (path, where))
                if date_text:
                    dt = aware(date_text, zone, "%s %s" % (path, where))
                    if (dt.utcoffset() == datetime.timedelta(0) and zone is not None and timezone
                          and (dt.hour, dt.minute) == (hh, mm)):
                        # hand-made exports write local wall-clock times with a bogus 'Z'
                        dt = dt.replace(tzinfo=zone)
                        z_as_local += 1
                    b.note_offset(dt)
                    start = int(dt.timestamp())
                else:
                    if zone is None:
                        raise ScheduleImportError(
                            "%s: events have no <date> and the schedule names no time zone; "
                            "pass --timezone (e.g. Europe/Brussels)" % path)
                    if hh < change_h:
                        hh += 24
                    start = local_to_epoch(day_date, hh, mm, zone)
                dur = parse_duration(_text(ev, "duration"), "%s %s" % (path, where))
                speakers = [(p.text or "").strip() for p in ev.findall("persons/person")]
                if not speakers:
                    plain = _text(ev, "person")
                    speakers = [s.strip() for s in plain.split(",") if s.strip()]
                guid = ev.get("guid") or _text(ev, "guid")
                ident = guid or (("id-" + ev.get("id")) if ev.get("id") else "")
                b.event(ident, _text(ev, "room") or room_name, _text(ev, "title"), start, dur, speakers,
                        _text(ev, "track"), _text(ev, "language"), where)
    if z_as_local:
        b.warn("%d <date> values end in 'Z' but match the local <start>; read as %s local time"
               % (z_as_local, zone_name))
    name = _text(conf, "title") or _text(conf, "acronym")
    fid = festival_id or _text(conf, "acronym") or None
    return b.result(name, fid and _slug(fid), zone_name, zone)


def _slug(x):
    from .common import slug
    return slug(x, "festival")
