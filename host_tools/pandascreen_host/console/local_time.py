"""The festival's local day and time, both ways, for the console's form and lists.

WHY: an organiser thinks "Saturday 14:30 in Berlin", never in Unix seconds.  The page shows and
takes a day (YYYY-MM-DD) and a time (HH:MM) in the festival's zone, the same zone the screens
draw with (core/layout.py ``festival_zone``: the ``utc_offsets`` rule the importer wrote, or the
one ``utc_offset``), so the console and the screens never disagree about a time, also across a
daylight saving change.  A local time that does not exist (the hour the clocks jump forward)
is refused in one line; one that exists twice (the hour they fall back) is its first instant.
"""

import datetime
import re

from pandascreen.core import layout
from pandascreen.core.errors import BadInput

EPOCH_DAY = datetime.date(1970, 1, 1)


class LocalTimeError(BadInput):
    """A day or time in the console's form that is not one (the message is shown as is)."""


def date_of(epoch, zone):
    """The festival-local date of ``epoch`` as YYYY-MM-DD."""
    return (EPOCH_DAY + datetime.timedelta(days=layout.local_day(epoch, zone))).isoformat()


def day_label(date_text):
    """"Sat 18 Jul" for "2026-07-18": the day as the page names it."""
    d = datetime.date.fromisoformat(date_text)
    return d.strftime("%a %d %b").replace(" 0", " ")


def when(epoch, zone):
    """"Sat 18 Jul 14:05": an instant as the page shows it, in the festival's local time."""
    return "%s %s" % (day_label(date_of(epoch, zone)), layout.hhmm(epoch, zone))


def parse_day(text):
    try:
        return datetime.date.fromisoformat(str(text).strip())
    except ValueError:
        raise LocalTimeError("the day %r is not a date like 2026-07-18" % (text,))


def parse_time(text, what):
    """``(hours, minutes)`` of "HH:MM" (what the page's time field sends)."""
    m = re.match(r"^\s*(\d{1,2}):(\d{2})\s*$", str(text))
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise LocalTimeError("the %s %r is not a time like 14:30" % (what, text))
    return int(m.group(1)), int(m.group(2))


def _offsets(zone):
    if isinstance(zone, (list, tuple)):
        return sorted(set(int(zone[i]) for i in range(1, len(zone), 2)))
    return [int(zone or 0)]


def to_epoch(day, hours, minutes, zone, what="time"):
    """Unix seconds of local ``day`` (a date) ``hours:minutes`` in ``zone``; LocalTimeError if the
    clocks skip that minute.  Tries each offset the zone has and keeps those that read back."""
    local = ((day - EPOCH_DAY).days * 1440 + hours * 60 + minutes) * 60
    found = [local - off * 60 for off in _offsets(zone)]
    found = sorted(e for e in found if layout.local_seconds(e, zone) == local)
    if not found:
        raise LocalTimeError("the %s %02d:%02d on %s does not exist in the festival's time zone "
                             "(the clocks jump forward then)" % (what, hours, minutes, day_label(day.isoformat())))
    return found[0]


def days(schedule, zone):
    """The festival's days from its first event to its last, as [{"date", "label"}]."""
    bounds = schedule.bounds()
    if bounds is None:
        return []
    first = layout.local_day(bounds[0], zone)
    last = layout.local_day(max(bounds[0], bounds[1] - 1), zone)
    out = []
    for n in range(first, min(last, first + 366) + 1):
        date = (EPOCH_DAY + datetime.timedelta(days=n)).isoformat()
        out.append({"date": date, "label": day_label(date)})
    return out
