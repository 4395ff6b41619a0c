"""voctosched CSV importer: Room,Date,Day,Start,Duration,Title,ID,Abstract,Description,Language,Speakers,File URL."""

import csv
import io
import os

from .common import (Builder, ScheduleImportError, decode_text, get_zone, local_to_epoch, parse_date, parse_duration,
                     parse_hhmm, slug)

REQUIRED = ("Room", "Date", "Start", "Duration", "Title")
DEFAULT_ZONE = "Europe/Berlin"


def load(path, data, timezone=None, festival_id=None, span=None):
    b = Builder(path, span)
    text = decode_text(data, b.warn)
    delimiter = _delimiter(text)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = reader.fieldnames or []
    except csv.Error as e:
        raise ScheduleImportError("%s: not a readable CSV file (%s)" % (path, e))
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ScheduleImportError("%s: CSV header lacks column(s) %s (found: %s)"
                                  % (path, ", ".join(missing), ", ".join(repr(h[:40]) for h in header[:15]) or "nothing"))
    _not_cut_short(path, text, delimiter)
    zone_name = timezone
    if not zone_name:
        zone_name = DEFAULT_ZONE
        b.warn("CSV has no time zone; assuming %s (pass --timezone to change)" % DEFAULT_ZONE)
    zone = get_zone(zone_name, path)
    for row in reader:
        line = reader.line_num
        # a record over several lines (a quoted description) is named by all of them: the line
        # breaks inside its fields say how many
        first = line - sum(v.count("\n") for v in row.values() if isinstance(v, str))
        where = "%s line %d" % (path, line) if first == line else "%s lines %d-%d" % (path, first, line)
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        lacking = [c for c in REQUIRED if row.get(c) is None]  # DictReader's filler for columns a row lacks
        if lacking:  # a hand-made row may leave out empty trailing columns, never these
            raise ScheduleImportError("%s: line %d lacks the column(s) %s; is the file cut short (is the "
                                      "download complete?)" % (path, line, ", ".join(lacking)))
        day = parse_date(row.get("Date"), where)
        hh, mm = parse_hhmm(row.get("Start"), where)
        start = local_to_epoch(day, hh, mm, zone, where, b.warn, "row %d %r" % (line, (row.get("Title") or "")[:60]))
        dur = parse_duration(row.get("Duration"), where)
        speakers = []
        for s in (row.get("Speakers") or "").split(","):
            s = s.strip()
            if ":" in s and s.split(":", 1)[0].strip().isdigit():
                s = s.split(":", 1)[1].strip()
            if s:
                speakers.append(s)
        ident = (row.get("ID") or "").strip()
        b.event(("id-" + ident) if ident else "", row.get("Room"), row.get("Title"), start, dur, speakers, "",
                row.get("Language") or "", "row %d" % line)
    # the file names no festival: the first import names it by --festival-id or the file's name,
    # and a re-import keeps the name the festival has (``name_guessed``: pandascreen_host/import_cmd.py)
    name = festival_id or os.path.splitext(os.path.basename(path))[0]
    out = b.result(name, festival_id and slug(festival_id, "festival"), zone_name, zone)
    out["name_guessed"] = True
    return out


def _delimiter(text):
    """The header line's separator: a comma, or what a spreadsheet saved instead (a semicolon where
    the comma is the decimal mark, a tab for "Unicode text"): whichever it has most of."""
    header = text.split("\n", 1)[0]
    return max((",", ";", "\t"), key=header.count)


def _not_cut_short(path, text, delimiter=","):
    """A file that ends inside a quoted field (a download or copy not finished) is refused; the
    lenient reader the rows are read with would take what is there as the last row."""
    try:
        for _row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as e:
        if "unexpected end of data" in str(e):
            raise ScheduleImportError("%s: the file ends inside a quoted field; it is cut short: is the download "
                                      "complete?" % path)
