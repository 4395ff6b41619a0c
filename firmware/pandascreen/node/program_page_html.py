"""The program page's HTML (node/program_page.py serves it): a schedule's main view -- now and
next per venue, the changes, the whole program by day and venue, in the festival's language and
time zone -- and the page around it, as plain HTML that is complete without JavaScript.

``escape`` is ``html.escape(text, quote=True)``, the same five characters: html's module would
load its 2,000 entities into a screen for its life, for this one call.
"""

import time

from pandascreen.core import font, layout, schema
from pandascreen.node import i18n

MAX_DAYS_LISTED = 7  # days one event is listed on: a festival runs days; a booking a year long is not listed 365 times

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})


def escape(text):
    return str(text).translate(_ESCAPES)


def _clock(epoch, offset, lang):
    return i18n.clock((layout.local_seconds(epoch, offset) // 60) % 1440, lang)


def _day_title(day, lang):
    y, m, d = time.gmtime(day * 86400)[:3]
    return "%s %04d-%02d-%02d" % (i18n.weekday(day, lang, long=True), y, m, d)


def _venues(sched):
    """(id, name) of every venue with events: the venue documents' order, then lanes whose
    venue document has not arrived yet (named by their id)."""
    out = [(v.id, shown(v.name)) for v in sched.venues() if sched.events(v.id)]
    known = set(v for v, _ in out)
    return out + [(lane, shown(lane)) for lane in sched.lanes() if lane not in known and lane]


def shown(text):
    """A writer's text as the screens draw it, one line and no bidi override (core/font.py
    ``clean``): "\u202eEGATS NIAM" would read "MAIN STAGE" on every phone."""
    return " ".join(font.clean(text).split())


def _tag(ev, words):
    """("cancelled" | "moved" | "", the word in the page's language) as the screens mark them."""
    if ev.status == schema.CANCELLED:
        return "cancelled", words["cancelled"]
    if ev.moved():
        return "moved", words["moved"]
    return "", ""


def _span(ev, offset, lang, today):
    """"22:00-02:00" with the day of a start that is not ``today`` (a local day) and of an end on
    another day than its start: "Sat 22:00-Sun 02:00" (a program list: the screens, which show
    the event on now, add an end's day only when it is 12 hours or more away)."""
    first, last = layout.local_day(ev.start, offset), layout.local_day(ev.end, offset)
    start, end = _clock(ev.start, offset, lang), _clock(ev.end, offset, lang)
    if first != today:
        start = "%s %s" % (i18n.weekday(first, lang), start)
    if last != first:
        end = "%s %s" % (i18n.weekday(last, lang), end)
    return "%s\u2013%s" % (start, end)


def _event(ev, offset, lang, words, today, venue_name=None):
    tag, word = _tag(ev, words)
    speakers = shown(layout.field_text(ev.speakers))
    out = ['<li%s>' % (' class="%s"' % tag if tag else ""),
           '<span class="time">%s</span> ' % _span(ev, offset, lang, today),
           '<span class="title">%s</span>' % escape(layout.event_title(ev))]
    if word:
        out.append(' <strong class="tag">%s</strong>' % escape(word))
    if venue_name:
        out.append(' <span class="where">%s</span>' % escape(venue_name))
    if speakers:
        out.append(' <span class="speakers">%s</span>' % escape(speakers))
    out.append("</li>")
    return "".join(out)


def _days_listed(ev, offset):
    """The local days whose program lists ``ev``: the day it starts, and each later day it runs at
    noon (an exhibition from Friday to Sunday is on Saturday's list; a night past midnight is not
    on the next day's); ``MAX_DAYS_LISTED`` days at most."""
    first = layout.local_day(ev.start, offset)
    days = [first]
    for day in range(first + 1, min(layout.local_day(ev.end, offset), first + MAX_DAYS_LISTED - 1) + 1):
        noon = day * 86400 + 43200
        noon -= layout.offset_at(offset, noon) * 60
        if ev.start <= noon < ev.end:
            days.append(day)
    return days


def render_main(sched, now, lang, claimed=True):
    """The page's content (what ``<main>`` holds) for ``sched`` at ``now`` in ``lang``; a time the
    screen does not claim (``claimed`` False: its clock is not set) is not said as the time."""
    words = i18n.labels(lang)
    offset = sched.zone()  # the festival's rule, DST changes included (core/layout.py)
    venues = _venues(sched)
    names = dict(venues)
    updated = words["updated"] % _clock(now, offset, lang) if claimed else words["clock_not_set"]
    today = layout.local_day(now, offset)
    out = ['<p class="updated" id="updated">%s</p>' % escape(updated)]
    if not venues:
        out.append('<p>%s</p>' % escape(words["no_schedule"]))
        return "".join(out)
    # now and next, per venue
    out.append('<section aria-labelledby="now-h"><h2 id="now-h">%s</h2>' % escape(words["now_next"]))
    for vid, name in venues:
        current, nxt = sched.now_next(vid, now)
        out.append('<section class="venue" aria-label="%s"><h3>%s</h3><dl>' % (escape(name), escape(name)))
        out.append('<dt>%s</dt><dd><ul class="events">%s</ul></dd>'
                   % (escape(words["now"]), _event(current, offset, lang, words, today) if current is not None
                      else '<li class="none">%s</li>' % escape(words["nothing_now"])))
        if nxt is not None:
            out.append('<dt>%s</dt><dd><ul class="events">%s</ul></dd>'
                       % (escape(words["next"]), _event(nxt, offset, lang, words, today)))
        out.append('</dl></section>')
    out.append('</section>')
    # the changes still to come (cancelled, moved), as the screens mark them
    changed = [ev for ev in sched.all_events() if ev.end > now and _tag(ev, words)[0]]
    out.append('<section aria-labelledby="changes-h" id="changes"><h2 id="changes-h">%s</h2>' % escape(words["changes"]))
    if changed:
        out.append('<ul class="events">%s</ul>' % "".join(
            _event(ev, offset, lang, words, today, names.get(ev.venue, ev.venue)) for ev in changed))
    else:
        out.append('<p>%s</p>' % escape(words["no_changes"]))
    out.append('</section>')
    # the whole program, by day and venue
    days = {}
    for ev in sched.all_events():
        for day in _days_listed(ev, offset):
            days.setdefault(day, []).append(ev)
    out.append('<section aria-labelledby="program-h" id="program"><h2 id="program-h">%s</h2>' % escape(words["program"]))
    out.append('<nav aria-label="%s"><ul class="days">%s</ul></nav>' % (escape(words["day_nav"]), "".join(
        '<li><a href="#day-%d">%s</a></li>' % (day, escape(i18n.weekday(day, lang, long=True))) for day in sorted(days))))
    for day in sorted(days):
        out.append('<section class="day" id="day-%d" aria-labelledby="day-%d-h"><h3 id="day-%d-h">%s</h3>'
                   % (day, day, day, escape(_day_title(day, lang))))
        for vid, name in venues:
            evs = [ev for ev in days[day] if ev.venue == vid]
            if evs:
                out.append('<h4>%s</h4><ul class="events">%s</ul>'
                           % (escape(name), "".join(_event(ev, offset, lang, words, day) for ev in evs)))
        out.append('</section>')
    out.append('</section>')
    return "".join(out)


PAGE = """<!doctype html>
<html lang="%(lang)s">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%(title)s</title>
<link rel="stylesheet" href="/page.css">
<script src="/page.js" defer></script>
</head>
<body>
<header><h1>%(title)s</h1></header>
<main id="main" data-key="%(key)s" aria-live="off">%(main)s</main>
</body>
</html>
"""
