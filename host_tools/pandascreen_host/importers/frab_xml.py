"""frab / pentabarf / pretalx ``schedule.xml`` importer.

Before ElementTree builds the tree, one pass of expat (the parser ElementTree itself uses)
finds out *why* a file is not a schedule, because "not well-formed" alone sends the organiser
off in the wrong direction:

* an HTML page (a login or error page saved instead of the export),
* a wrong or undeclared encoding (Latin-1 bytes in a file that says, or defaults to, UTF-8),
* entity declarations, refused outright: a schedule never needs them, and they are how XML
  attacks work (billion laughs, external entities / XXE).  That is the rule defusedxml
  applies; doing it in this pass spares a dependency for one check,
* a file that ends while elements are still open: only that is "is the download complete?".
"""

import codecs
import datetime
import re
import xml.etree.ElementTree as ET
from xml.parsers import expat

from .common import (HTML_PAGE, Builder, ScheduleImportError, aware, get_zone, local_to_epoch, parse_date,
                     parse_duration, parse_hhmm, refuse_html, to_epoch)


def _text(el, tag):
    child = el.find(tag)
    return "" if child is None or child.text is None else child.text.strip()


_DECLARED = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']+)[\"']")
_END_OF_FILE = (expat.errors.XML_ERROR_NO_ELEMENTS, expat.errors.XML_ERROR_UNCLOSED_TOKEN,
                expat.errors.XML_ERROR_PARTIAL_CHAR, expat.errors.XML_ERROR_UNCLOSED_CDATA_SECTION)


class _Refused(Exception):
    pass


def _check_encoding(path, data):
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return  # expat reads UTF-16 with a BOM itself
    m = _DECLARED.match(data.lstrip(codecs.BOM_UTF8))
    name = m.group(1).decode("ascii", "replace") if m else None
    try:
        codec = codecs.lookup(name or "utf-8").name
    except (LookupError, ValueError):  # ValueError: a NUL byte in the name
        raise ScheduleImportError("%s: declares encoding %r, which is not an encoding Python knows; fix the "
                                  "<?xml ... encoding=...?> line" % (path, name))
    try:
        data.decode(codec)
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        said = "declares %s" % " ".join(name.split())[:40] if name else "declares no encoding, so it must be UTF-8"
        raise ScheduleImportError("%s: byte 0x%02x at line %d is not %s (the file %s); was it saved as "
                                  "Latin-1/Windows-1252? Re-save it as UTF-8 or declare the real encoding"
                                  % (path, data[e.start], line, codec, said))


def _prescan(path, data):
    """One expat pass: refuse entity declarations, tell a truncated file from a malformed one."""
    refuse_html(path, data, "frab schedule")
    _check_encoding(path, data)
    parser = expat.ParserCreate()
    open_tags = []

    def refuse(*_args):
        raise _Refused()
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = lambda name, _attrs: open_tags.append(name)
    parser.EndElementHandler = lambda _name: open_tags.pop()
    try:
        parser.Parse(data, True)
    except _Refused:
        raise ScheduleImportError("%s: line %d declares or uses an XML entity (<!ENTITY ...>); refused, a "
                                  "schedule never needs one and entities are how XML attacks work"
                                  % (path, parser.ErrorLineNumber))
    except expat.ExpatError as e:
        why = expat.errors.messages[e.code]
        if open_tags and why in _END_OF_FILE:
            raise ScheduleImportError("%s: the file ends inside <%s> (line %d); it is cut short: is the download "
                                      "complete?" % (path, open_tags[-1], e.lineno))
        if why == expat.errors.XML_ERROR_UNDEFINED_ENTITY:
            raise ScheduleImportError("%s: line %d column %d uses an entity XML does not define (HTML such as "
                                      "&nbsp; pasted into XML?)" % (path, e.lineno, e.offset + 1))
        raise ScheduleImportError("%s: not well-formed XML: %s at line %d column %d" % (path, why, e.lineno,
                                                                                        e.offset + 1))


def load(path, data, timezone=None, festival_id=None, span=None):
    root = _schedule_root(path, data)
    conf = root.find("conference")
    if conf is None:
        conf = ET.Element("conference")
    b = Builder(path, span)
    zone_name = _text(conf, "time_zone_name") or timezone
    if timezone and _text(conf, "time_zone_name") and timezone != _text(conf, "time_zone_name"):
        # ``timezone``: the organiser's --timezone, or the zone the festival's store holds
        b.warn("schedule says time zone %s; its times are read in the festival's time zone %s "
               "(--timezone changes it)" % (_text(conf, "time_zone_name"), timezone))
        zone_name = timezone
    zone = get_zone(zone_name, path)
    day_change = _text(conf, "day_change")
    change_h = parse_hhmm(day_change, path)[0] if day_change else 0
    z_as_local = z_as_utc = 0
    days = root.findall("day")
    if not days:
        raise ScheduleImportError("%s: no <day> elements; this is not a frab schedule.xml" % path)
    for day in days:
        day_date = parse_date(day.get("date"), "%s <day index=%s>" % (path, day.get("index")))
        for room in day.findall("room"):
            room_name = (room.get("name") or "").strip()
            for ev in room.findall("event"):
                where = "event id=%s" % ev.get("id", "?")
                start, z_read = _start(ev, day_date, zone, change_h, b, path, where)
                z_as_local += z_read == "local"
                z_as_utc += z_read == "utc"
                dur = parse_duration(_text(ev, "duration"), "%s %s" % (path, where))
                guid = ev.get("guid") or _text(ev, "guid")
                ident = guid or (("id-" + ev.get("id")) if ev.get("id") else "")
                b.event(ident, _text(ev, "room") or room_name, _text(ev, "title"), start, dur, _speakers(ev),
                        _text(ev, "track"), _text(ev, "language"), where)
    if z_as_local:
        b.warn("%d <date> values end in 'Z' but match the local <start>; read as %s local time"
               % (z_as_local, zone_name))
    if z_as_utc:
        b.warn("%d <date> values end in 'Z' and match <start>: if they are local times, pass --timezone"
               % z_as_utc)
    name = _text(conf, "title") or _text(conf, "acronym")
    fid = festival_id or _text(conf, "acronym") or None
    return b.result(name, fid and _slug(fid), zone_name, zone)


def _schedule_root(path, data):
    """The <schedule> element, after the expat pre-scan; anything else is refused in one line."""
    _prescan(path, data)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:  # expat already read it once; kept so nothing else can escape
        raise ScheduleImportError("%s: not well-formed XML (%s)" % (path, e))
    if root.tag.lower() == "html" or root.tag.endswith("}html"):  # XHTML
        raise ScheduleImportError("%s: %s" % (path, HTML_PAGE % "frab schedule"))
    if root.tag != "schedule":
        raise ScheduleImportError("%s: XML root is <%s>, expected a frab <schedule>" % (path, root.tag))
    return root


def _start(ev, day_date, zone, change_h, b, path, event):
    """(start epoch, how a 'Z' <date> that matches <start> was read: "local", "utc" where no zone
    is known to read it in, "" for any other) of one <event>: its <date>
    when it has one, else the day's date and <start> (after midnight before day_change: next day).

    Hand-made exports write the local wall-clock time with a bogus 'Z'.  <start> is local time
    in the festival's zone, so a UTC <date> whose hour and minute are <start>'s contradicts it
    wherever the zone is not at UTC+0 then: it is read as local time.  Whichever way the zone is
    known (the file, --timezone, the store), so that every import reads one file alike."""
    where = "%s %s" % (path, event)
    hh, mm = parse_hhmm(_text(ev, "start"), where)
    date_text = _text(ev, "date")
    if date_text:
        dt = aware(date_text, zone, where)
        z_read = ""
        if dt.utcoffset() == datetime.timedelta(0) and (dt.hour, dt.minute) == (hh, mm):
            local = dt.replace(tzinfo=zone) if zone is not None else None
            if local is None:
                z_read = "utc"  # the same doubt, and no zone to read it in: read as UTC, and said
            elif local.utcoffset() != datetime.timedelta(0):
                dt, z_read = local, "local"
        b.note_offset(dt)
        return to_epoch(dt, where), z_read
    if zone is None:
        raise ScheduleImportError(
            "%s: events have no <date> and the schedule names no time zone; "
            "pass --timezone (e.g. Europe/Brussels)" % path)
    if hh < change_h:
        hh += 24
    return local_to_epoch(day_date, hh, mm, zone, where, b.warn, "%s %r" % (event, _text(ev, "title")[:60])), ""


def _speakers(ev):
    speakers = [(p.text or "").strip() for p in ev.findall("persons/person")]
    if not speakers:
        plain = _text(ev, "person")
        speakers = [s.strip() for s in plain.split(",") if s.strip()]
    return speakers


def _slug(x):
    from .common import slug
    return slug(x, "festival")
