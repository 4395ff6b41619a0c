"""frab / c3voc / pretalx ``schedule.json`` importer."""

import json

from .common import (Builder, ScheduleImportError, aware, get_zone, local_to_epoch, parse_date,
                     parse_duration, parse_hhmm, slug)


def load(path, data, timezone=None, festival_id=None):
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (ValueError, UnicodeError) as e:
        raise ScheduleImportError("%s: not valid JSON (%s)" % (path, e))
    sched = doc.get("schedule") if isinstance(doc, dict) else None
    conf = sched.get("conference") if isinstance(sched, dict) else None
    if not isinstance(conf, dict) or not isinstance(conf.get("days"), list):
        raise ScheduleImportError("%s: JSON is not a frab/pretalx schedule (expected schedule.conference.days)"
                                  % path)
    b = Builder(path)
    zone_name = timezone or conf.get("time_zone_name")
    zone = get_zone(zone_name, path)
    for di, day in enumerate(conf["days"]):
        if not isinstance(day, dict):
            raise ScheduleImportError("%s: day #%d is not an object" % (path, di + 1))
        rooms = day.get("rooms") or {}
        if not isinstance(rooms, dict):
            raise ScheduleImportError("%s: day #%d 'rooms' is not an object" % (path, di + 1))
        for room_name, events in rooms.items():
            for ev in events or ():
                where = "day %s event id=%s" % (day.get("index", di + 1), ev.get("id", "?"))
                dt_text = ev.get("date")
                if dt_text:
                    dt = aware(dt_text, zone, "%s %s" % (path, where))
                    b.note_offset(dt)
                    start = int(dt.timestamp())
                else:
                    if zone is None:
                        raise ScheduleImportError("%s %s: no date and no time zone; pass --timezone" % (path, where))
                    hh, mm = parse_hhmm(ev.get("start"), "%s %s" % (path, where))
                    start = local_to_epoch(parse_date(day.get("date"), "%s %s" % (path, where)), hh, mm, zone)
                dur = parse_duration(str(ev.get("duration") or ""), "%s %s" % (path, where))
                speakers = []
                for p in ev.get("persons") or ():
                    if isinstance(p, dict):
                        speakers.append(str(p.get("public_name") or p.get("name") or "").strip())
                    else:
                        speakers.append(str(p).strip())
                ident = ev.get("guid") or (("id-%s" % ev["id"]) if ev.get("id") is not None else "")
                b.event(str(ident), ev.get("room") or room_name, ev.get("title"), start, dur, speakers,
                        ev.get("track") or "", ev.get("language") or "", where)
    name = conf.get("title") or conf.get("acronym")
    fid = festival_id or conf.get("acronym")
    return b.result(name, fid and slug(fid, "festival"), zone_name, zone)
