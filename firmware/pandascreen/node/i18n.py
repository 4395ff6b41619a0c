"""The screen's words in the festival's language: English, German, French.

WHY here on the Pi (node/) and plain dicts of plain strings: the words live in i18n_words.json
beside this module, read only by a screen that shows a language; a MicroPython satellite
(~120 KB of heap) shows English from core/layout.py and flashes none of this.  The core's
``Controller`` gets ``translate`` from the Pi app.  The language comes from the
config (``language``), else from the festival document (``language``), else English.  Weekday
names and the 12/24-hour clock go by the language: "en_US" uses 12-hour "5:20pm", the rest 24-hour.
A missing word falls back to English, so a new label never shows up blank.
"""

from pandascreen.core import clock as clock_rule
from pandascreen.core.controller import HOME_NOT_IN_PROGRAM
from pandascreen.core import layout

DEFAULT = "en"
LANGUAGES = ("en", "de", "fr")
TWELVE_HOUR = ("en_US", "en-US")


def _base_code(lang):
    return str(lang or DEFAULT).replace("-", "_").split("_")[0].lower()


def base(lang):
    """"de_AT" -> "de"; unknown or empty -> "en"."""
    b = _base_code(lang)
    return b if b in LANGUAGES else DEFAULT


def spoken(lang):
    """True when the screens speak ``lang`` (its base: "de_AT" is German), not English in its place."""
    return _base_code(lang) in LANGUAGES


def not_spoken(lang):
    """None when the screens speak ``lang``; else the line for a ``--language`` that asks for it."""
    if spoken(lang):
        return None
    return "--language %s: the screens speak %s (en_US for a 12-hour clock)" % (lang, ", ".join(LANGUAGES))


_loaded = {}


def _words(lang):
    """``{"labels", "weekdays", "weekdays_long"}`` of ``lang`` (weekdays Monday first), read on first
    use from i18n_words.json beside this module; None when the file is absent."""
    if not _loaded:
        import json
        try:
            with open(__file__.rsplit("/", 1)[0] + "/i18n_words.json") as fh:
                _loaded.update(json.load(fh))
        except OSError:
            _loaded[DEFAULT] = None
    return _loaded.get(base(lang))


def language_for(configured=None, festival=None):
    """The language to show: the config's ``language``, else the festival's, else English."""
    if configured:
        return str(configured)
    lang = (festival or {}).get("language") if isinstance(festival, dict) else None
    return str(lang) if lang else DEFAULT


def labels(lang):
    """Every label of ``lang`` as one dict (English filling any gaps)."""
    out = {}
    for w in (_words(DEFAULT), _words(lang)):
        if w is not None:
            out.update(w["labels"])
    return out


def weekday(days_since_epoch, lang=DEFAULT, long=False):
    """Name of the local weekday of ``days_since_epoch`` (1970-01-01 = day 0, a Thursday)."""
    w = _words(lang) or _words(DEFAULT)
    if w is None:
        return layout.WEEKDAYS[int(days_since_epoch) % 7]
    names = w["weekdays_long" if long else "weekdays"]
    return names[(int(days_since_epoch) + 3) % 7]


def clock(minutes_of_day, lang=DEFAULT):
    """"17:05" (24-hour) or "5:05pm" (12-hour, en_US) for ``minutes_of_day`` (0..1439)."""
    m = int(minutes_of_day) % 1440
    h, mm = m // 60, m % 60
    if str(lang) in TWELVE_HOUR:
        return "%d:%02d%s" % ((h + 11) % 12 + 1, mm, "am" if h < 12 else "pm")
    return "%02d:%02d" % (h, mm)


def _clock_text(hhmm_text, lang):
    """"17:05" rewritten by the locale's clock ("5:05pm" in en_US); anything else unchanged."""
    t = str(hhmm_text or "")
    if len(t) != 5 or t[2] != ":" or str(lang) not in TWELVE_HOUR or not (t[:2] + t[3:]).isdigit():
        return t
    return clock(int(t[:2]) * 60 + int(t[3:]), lang)


def _state_text(status, states, words, lang):
    """A sync state ("synced 14:05") in ``lang``; any other text as it is."""
    for state in states:
        if status == state or status.startswith(state + " "):
            return (words[states[state]] + " " + _clock_text(status[len(state) + 1:], lang)).strip()
    return status


def _translate_now(now, absolute, words, lang):
    """The event on now (core/layout.py ``_now_entry``) in ``lang``: its times, and how long it
    has left or until when (with its day when it ends another day)."""
    now["start"] = _clock_text(now["start"], lang)
    now["end"] = _clock_text(now["end"], lang)
    until = now["end"]
    if now.get("end_day") in layout.WEEKDAYS:  # layout.WEEKDAYS, as for the next event's day
        until = "%s %s" % (weekday(layout.WEEKDAYS.index(now["end_day"]), lang), until)
    now["time"] = "%s\u2013%s" % (now["start"], until)
    if now.get("status") == layout.CANCELLED:
        now["left"] = words["cancelled"]
    elif absolute:
        now["left"] = words["until"] % until
    elif now.get("minutes_left"):
        now["left"] = words["left"] % layout.span(now["minutes_left"])
    else:
        now["left"] = words["ending"]


def translate(view, lang):
    """``layout.build_view``'s English ``view`` in ``lang``, in place (and returned).

    WHY after the fact instead of inside build_view: layout stays English and small, so a 120 KB
    satellite that shows English never loads a word of this module.
    """
    if base(lang) == DEFAULT and str(lang) not in TWELVE_HOUR:
        return view
    words = labels(lang)
    if not words:
        return view  # no word file on this device: English as built
    messages = {layout.NO_MORE: "no_more", layout.THATS_ALL: "thats_all", layout.NO_SCHEDULE: "no_schedule",
                layout.CLOSED: "closed", layout.NOT_IN_PROGRAM: "not_in_program",
                HOME_NOT_IN_PROGRAM: "home_not_in_program"}
    states = {clock_rule.STARTING: "starting", clock_rule.SYNCED: "synced", clock_rule.OFFLINE: "offline",
              clock_rule.NO_PEERS: "no_peers", clock_rule.CLOCK_NOT_SET: "clock_not_set", clock_rule.STALE: "stale",
              clock_rule.ALONE: "alone_since", clock_rule.DISK_FULL: "disk_full",
              clock_rule.CANNOT_STORE: "cannot_store", clock_rule.FORKED: "program_forked",
              clock_rule.STORE_RESET: "store_reset", clock_rule.BUTTONS_OFF: "buttons_off"}
    view["label_now"] = words["NOW"]
    view["label_next"] = words["next"]
    key = messages.get(view.get("message"))
    if key:
        view["message"] = words[key]
    elif view.get("say"):  # "Starts Friday 16:00", "Break until 15:15"
        view["message"] = layout.message_text(view, words, lambda d: weekday(d, lang), lambda t: _clock_text(t, lang))
    if view.get("status"):  # each part of "warning | state | trouble" (core/controller.py) on its own
        view["status"] = " | ".join(_state_text(part, states, words, lang) for part in str(view["status"]).split(" | "))
    if view.get("clock") and view["clock"] != clock_rule.NO_CLOCK:
        view["clock"] = _clock_text(view["clock"], lang)
    if view.get("now"):
        _translate_now(view["now"], view.get("absolute"), words, lang)
    nxt = view.get("next")
    if nxt:
        nxt["start"] = _clock_text(nxt["start"], lang)
        english = nxt.get("in") or ""
        if english in (layout.CANCELLED, layout.MOVED):
            nxt["in"] = words[english]
        elif nxt.get("soon"):
            if english:
                until = nxt.get("minutes_until")
                nxt["in"] = words["in"] % layout.span(until) if until else words["starts_now"]
        elif nxt.get("days") == 1:
            nxt["in"] = words["tomorrow"]
        elif (nxt.get("days") or 0) >= 7:
            nxt["in"] = words["in_days"] % nxt["days"]
        elif english in layout.WEEKDAYS:
            # layout.WEEKDAYS starts on Thursday (1970-01-01), which is day 0 here too
            nxt["in"] = weekday(layout.WEEKDAYS.index(english), lang)
    return view
