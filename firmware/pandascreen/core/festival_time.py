"""A festival's local time with integer arithmetic only: ``epoch + the festival's UTC offset at
epoch``, with no ``time.localtime``/``strftime`` (whose time zone and epoch differ between CPython
and MicroPython boards) and no tz database (a board has none).  A festival's zone
(``festival_zone``) is its ``utc_offsets`` rule when it has one (the laptop writes its IANA zone's
offsets and change instants around the festival), else its one ``utc_offset``.  Every screen's
times come from here (core/layout.py, core/overview.py, the program page, the console)."""

# 1970-01-01 was a Thursday
WEEKDAYS = ("Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed")


def festival_zone(fest):
    """The zone of a festival dict: its ``utc_offsets`` list ``[from_utc_s, minutes, ...]`` (by
    instant) when it holds one, else its fixed ``utc_offset`` in minutes (0 if none)."""
    fest = fest or {}
    rule = fest.get("utc_offsets")
    if isinstance(rule, (list, tuple)) and len(rule) >= 2 and not len(rule) % 2:
        return rule
    return int(fest.get("utc_offset") or 0)


def offset_at(zone, epoch):
    """Minutes east of UTC at ``epoch`` in ``zone`` (``festival_zone``): a change's offset holds from
    its instant on; before the first change, the first offset."""
    if not isinstance(zone, (list, tuple)):
        return int(zone or 0)
    off = zone[1]
    for i in range(2, len(zone) - 1, 2):
        if epoch < zone[i]:
            break
        off = zone[i + 1]
    return int(off)


def local_seconds(epoch, zone=0):
    return int(epoch) + offset_at(zone, epoch) * 60


def hhmm(epoch, zone=0):
    """"HH:MM" local time of Unix ``epoch`` seconds."""
    m = (local_seconds(epoch, zone) // 60) % 1440
    return "%02d:%02d" % (m // 60, m % 60)


def local_day(epoch, zone=0):
    """Days since 1970-01-01 in local time."""
    return local_seconds(epoch, zone) // 86400


def weekday(epoch, zone=0):
    return WEEKDAYS[local_day(epoch, zone) % 7]


def ceil_minutes(seconds):
    seconds = int(seconds)
    if seconds <= 0:
        return 0
    return (seconds + 59) // 60


def span(minutes):
    """25 -> "25m", 65 -> "1h 5m", 120 -> "2h": the one time-left format on every screen."""
    if minutes < 60:
        return "%dm" % minutes
    h, m = divmod(minutes, 60)
    if m:
        return "%dh %dm" % (h, m)
    return "%dh" % h
