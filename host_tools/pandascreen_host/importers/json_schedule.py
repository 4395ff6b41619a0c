"""frab / c3voc / pretalx ``schedule.json`` importer.

JSON gives no guarantee about types, so every value is read through a typed accessor that
names the file, the record (day, room, event id) and the field when it is not what the frab
schema says: ``"title": 42`` is an error saying so, not an AttributeError further down.

``persons`` may also be one comma-separated string ("Alice, Bob"): hand-written JSON does
that, and the frab XML importer already accepts the same comma list in ``<person>``, so
taking it keeps both formats alike (the alternative, iterating over the string, made
speakers of single letters).
"""

import json

from .common import (Builder, ScheduleImportError, aware, decode_text, describe, get_zone, local_to_epoch, need_text,
                     parse_date, parse_duration, parse_hhmm, slug, to_epoch)


class Record:
    """One JSON object plus where it sits in the file, for reads that check the type."""

    def __init__(self, obj, where, what="an object"):
        if not isinstance(obj, dict):
            raise ScheduleImportError("%s is %s, expected %s" % (where, describe(obj), what))
        self.obj = obj
        self.where = where

    def get(self, key):
        return self.obj.get(key)

    def text(self, key):
        """A text field ('' when absent or null)."""
        return need_text(self.obj.get(key), self.where, "'%s'" % key)

    def ident(self, key):
        """An id: text or a whole number, as text ('' when absent)."""
        v = self.obj.get(key)
        if isinstance(v, int) and not isinstance(v, bool):
            return str(v)
        return self.text(key).strip()

    def duration(self, key):
        """'01:30' or a whole number of minutes; None when absent."""
        v = self.obj.get(key)
        if isinstance(v, int) and not isinstance(v, bool):
            v = str(v)
        return parse_duration(need_text(v, self.where, "'%s'" % key), self.where)

    def items(self, key, what):
        v = self.obj.get(key)
        if v is None:
            return []
        if not isinstance(v, list):
            raise ScheduleImportError("%s: '%s' is %s, expected %s" % (self.where, key, describe(v), what))
        return v

    def persons(self):
        v = self.obj.get("persons")
        if isinstance(v, str):
            return [s.strip() for s in v.split(",") if s.strip()]
        names = []
        for i, p in enumerate(self.items("persons", "a list of persons")):
            if isinstance(p, dict):
                person = Record(p, "%s person #%d" % (self.where, i + 1))
                names.append((person.text("public_name") or person.text("name")).strip())
            else:
                names.append(need_text(p, self.where, "person #%d" % (i + 1)).strip())
        return names


def _parse(path, data, warn):
    try:
        return json.loads(decode_text(data, warn))
    except (ValueError, UnicodeError) as e:
        raise ScheduleImportError("%s: not valid JSON (%s)" % (path, e))
    except RecursionError:
        raise ScheduleImportError("%s: JSON nested too deeply to be a schedule" % path)


def load(path, data, timezone=None, festival_id=None, span=None):
    b = Builder(path, span)
    doc = _parse(path, data, b.warn)
    sched = doc.get("schedule") if isinstance(doc, dict) else None
    conf = sched.get("conference") if isinstance(sched, dict) else None
    if not isinstance(conf, dict) or not isinstance(conf.get("days"), list):
        raise ScheduleImportError("%s: JSON is not a frab/pretalx schedule (expected schedule.conference.days)"
                                  % path)
    conf = Record(conf, "%s conference" % path)
    zone_name = timezone or conf.text("time_zone_name")
    zone = get_zone(zone_name, path)
    for di, day_obj in enumerate(conf.items("days", "a list of days")):
        day = Record(day_obj, "%s day #%d" % (path, di + 1))
        rooms = day.get("rooms")
        if rooms is None:
            rooms = {}
        if not isinstance(rooms, dict):
            raise ScheduleImportError("%s: 'rooms' is %s, expected an object of room name -> events"
                                      % (day.where, describe(rooms)))
        for room_name, events in rooms.items():
            room = "%s room %r" % (day.where, room_name[:60])
            if events is None:
                continue
            if not isinstance(events, list):
                raise ScheduleImportError("%s is %s, expected a list of events" % (room, describe(events)))
            for ei, ev_obj in enumerate(events):
                ev = Record(ev_obj, "%s event #%d" % (room, ei + 1))
                ev_id = ev.ident("id")
                where = "day #%d event id=%s" % (di + 1, " ".join(ev_id.split())[:60]) if ev_id else \
                    "day #%d %s event #%d" % (di + 1, " ".join(room_name.split())[:60], ei + 1)
                ev.where = "%s %s" % (path, where)
                dt_text = ev.text("date")
                if dt_text:
                    dt = aware(dt_text, zone, ev.where)
                    b.note_offset(dt)
                    start = to_epoch(dt, ev.where)
                else:
                    if zone is None:
                        raise ScheduleImportError("%s: no date and no time zone; pass --timezone" % ev.where)
                    hh, mm = parse_hhmm(ev.text("start"), ev.where)
                    start = local_to_epoch(parse_date(day.text("date"), day.where), hh, mm, zone, ev.where, b.warn,
                                           "%s %r" % (where, ev.text("title")[:60]))
                guid = ev.text("guid").strip()
                ident = guid or (("id-%s" % ev_id) if ev_id else "")
                b.event(ident, ev.text("room") or room_name, ev.text("title"), start, ev.duration("duration"),
                        ev.persons(), ev.text("track"), ev.text("language"), where)
    name = conf.text("title") or conf.text("acronym")
    fid = festival_id or conf.text("acronym")
    return b.result(name, fid and slug(fid, "festival"), zone_name, zone)
