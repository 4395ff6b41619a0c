"""The screen's words in the festival's language: English, German, French.

WHY plain dicts of plain strings: this runs on a MicroPython board with no gettext, no locale
module and ~180 KB of heap; three small tables cost a few KB.  The language comes from the
config (``language``), else from the festival document (``language``), else English.  Weekday
names and the 12/24-hour clock go by the language: "en_US" uses 12-hour "5:20pm", the rest 24-hour.
A missing word falls back to English, so a new label never shows up blank.
"""

DEFAULT = "en"

LABELS = {
    "en": {
        "now": "Now", "NOW": "NOW", "next": "Next", "NEXT": "NEXT", "until": "until %s", "left": "%s left",
        "ending": "ending", "in": "in %s", "starts_now": "now", "tomorrow": "tomorrow",
        "cancelled": "cancelled", "moved": "moved", "moved_to": "moved to %s",
        "no_more": "No more events today", "thats_all": "That's all",
        "no_schedule": "No schedule yet \u2014 waiting for sync",
        "clock_not_set": "Clock not set \u2014 waiting for the time", "untitled": "Untitled",
        "offline": "offline", "synced": "synced", "starting": "starting", "no_peers": "no peers",
        "starts": "starts %s", "next_begins": "next begins %s", "closed": "See you next time!",
        "all_venues": "All venues",
    },
    "de": {
        "now": "Jetzt", "NOW": "JETZT", "next": "Danach", "NEXT": "DANACH", "until": "bis %s",
        "left": "noch %s", "ending": "endet", "in": "in %s", "starts_now": "jetzt", "tomorrow": "morgen",
        "cancelled": "abgesagt", "moved": "verlegt", "moved_to": "verlegt nach %s",
        "no_more": "Heute keine Veranstaltungen mehr", "thats_all": "Das war's",
        "no_schedule": "Noch kein Programm \u2014 warte auf Sync",
        "clock_not_set": "Uhrzeit nicht gesetzt \u2014 warte auf die Zeit", "untitled": "Ohne Titel",
        "offline": "offline", "synced": "synchronisiert", "starting": "startet", "no_peers": "keine Peers",
        "starts": "beginnt %s", "next_begins": "weiter um %s", "closed": "Bis zum n\u00e4chsten Mal!",
        "all_venues": "Alle B\u00fchnen",
    },
    "fr": {
        "now": "En cours", "NOW": "EN COURS", "next": "Ensuite", "NEXT": "ENSUITE", "until": "jusqu'\u00e0 %s",
        "left": "encore %s", "ending": "se termine", "in": "dans %s", "starts_now": "maintenant",
        "tomorrow": "demain", "cancelled": "annul\u00e9", "moved": "d\u00e9plac\u00e9", "moved_to": "d\u00e9plac\u00e9 \u00e0 %s",
        "no_more": "Plus d'\u00e9v\u00e9nements aujourd'hui", "thats_all": "C'est tout",
        "no_schedule": "Pas encore de programme \u2014 synchronisation",
        "clock_not_set": "Heure inconnue \u2014 en attente de l'heure", "untitled": "Sans titre",
        "offline": "hors ligne", "synced": "synchronis\u00e9", "starting": "d\u00e9marrage",
        "no_peers": "aucun pair", "starts": "commence %s", "next_begins": "reprise \u00e0 %s",
        "closed": "\u00c0 la prochaine !", "all_venues": "Toutes les sc\u00e8nes",
    },
}

# Monday first (ISO); 1970-01-01 was a Thursday (index 3)
WEEKDAYS = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "de": ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"),
    "fr": ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."),
}
WEEKDAYS_LONG = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
}
TWELVE_HOUR = ("en_US", "en-US")


def base(lang):
    """"de_AT" -> "de"; unknown or empty -> "en"."""
    b = str(lang or DEFAULT).replace("-", "_").split("_")[0].lower()
    return b if b in LABELS else DEFAULT


def language_for(configured=None, festival=None):
    """The language to show: the config's ``language``, else the festival's, else English."""
    if configured:
        return str(configured)
    lang = (festival or {}).get("language") if isinstance(festival, dict) else None
    return str(lang) if lang else DEFAULT


def label(lang, key):
    """The word for ``key`` in ``lang`` (English when that language lacks it)."""
    table = LABELS.get(base(lang)) or LABELS[DEFAULT]
    return table.get(key) or LABELS[DEFAULT][key]


def labels(lang):
    """Every label of ``lang`` as one dict (English filling any gaps)."""
    out = dict(LABELS[DEFAULT])
    out.update(LABELS.get(base(lang)) or {})
    return out


def weekday(days_since_epoch, lang=DEFAULT, long=False):
    """Name of the local weekday of ``days_since_epoch`` (1970-01-01 = day 0, a Thursday)."""
    names = (WEEKDAYS_LONG if long else WEEKDAYS)[base(lang)]
    return names[(int(days_since_epoch) + 3) % 7]


def clock(minutes_of_day, lang=DEFAULT):
    """"17:05" (24-hour) or "5:05pm" (12-hour, en_US) for ``minutes_of_day`` (0..1439)."""
    m = int(minutes_of_day) % 1440
    h, mm = m // 60, m % 60
    if str(lang) in TWELVE_HOUR:
        return "%d:%02d%s" % ((h + 11) % 12 + 1, mm, "am" if h < 12 else "pm")
    return "%02d:%02d" % (h, mm)
