"""The idle section's report (bench/idle.py): each screen's CPU, RSS and wake-ups, then its RSS
split into the floors measured in the same window: its code, the stack it is built on, and for the
screen as on a Pi the stack with luma, gpiozero and gpiod, and its buttons through lgpio beside it."""

# the rows' labels, which bench/idle.py runs under
STACK_FLOOR = "floor: the stack, an iroh endpoint bound"
IMPORTS_FLOOR = "floor: a screen's imports, an iroh endpoint bound"
PI_STACK_FLOOR = "floor: the stack as on a Pi, an endpoint bound"
SCREEN_38C3 = "screen, 38c3"
SCREEN_20K = "screen, 20k events"
PI_SCREEN = "screen, 38c3, as on a Pi"
PI_SCREEN_LGPIO = "screen, 38c3, as on a Pi, buttons through lgpio"


def report(r):
    lines = ["idle: one screen process, no changes, %d s window after %d s to settle" % (r["window_s"], r["settle_s"])]
    for label, m in r["processes"].items():
        top = ", ".join("%s %.0f" % kv for kv in list(m["wakeups_per_minute"].items())[:4])
        lines.append("  %-50s CPU %6.3f%% of a core  RSS %5.1f MB (anon %5.1f, files %5.1f)  wake-ups/min: %s"
                     % (label, m["cpu_percent"], m["rss_mb"], m.get("rss_anon_mb", 0), m.get("rss_file_mb", 0), top))
        if m["exited"] is not None:
            lines.append("    EXITED during the window: %s" % " / ".join(m["exited"]))
    lines += where_it_goes(r)
    lines += on_a_pi(r)
    return "\n".join(lines)


def _above(m, floor):
    """``m``'s RSS, anon and files, MB, each less ``floor``'s."""
    return m["rss_mb"] - floor["rss_mb"], m["rss_anon_mb"] - floor["rss_anon_mb"], m["rss_file_mb"] - floor["rss_file_mb"]


def _emulated(procs):
    """(label, figures) of the emulated screens."""
    return [(label, m) for label, m in procs.items() if label.startswith("screen") and label not in (PI_SCREEN, PI_SCREEN_LGPIO)]


def on_a_pi(r):
    """The lines setting the screen run as on a Pi beside the emulated 38c3 screen and beside the
    stack as on a Pi (``PI_STACK``)."""
    pi, emulated = r["processes"].get(PI_SCREEN), r["processes"].get(SCREEN_38C3)
    if pi is None:
        return []
    return ((_beside_the_emulated(pi, emulated, r.get("pi_environment", ())) if emulated is not None else [])
            + _above_the_pi_stack(pi, r["processes"].get(PI_STACK_FLOOR))
            + _lgpio_instead(pi, r["processes"].get(PI_SCREEN_LGPIO)))


def _lgpio_instead(pi, lgpio):
    """The line setting the screen whose buttons lgpio reads beside the one whose gpiod reads."""
    if lgpio is None:
        return []
    if lgpio["exited"] is not None or pi["exited"] is not None:
        return ["    (the buttons through lgpio are not set beside gpiod's: one of the screens exited)"]
    mine = pi["wakeups_per_minute"]
    more = sorted(((n - mine.get(name, 0), name) for name, n in lgpio["wakeups_per_minute"].items()), reverse=True)[:2]
    return ["    its buttons through lgpio (gpiozero's choice on Raspberry Pi OS) instead of gpiod: CPU %+.3f%% of a core, "
            "wake-ups %+.0f a minute (%s), RSS %+.1f MB"
            % (lgpio["cpu_percent"] - pi["cpu_percent"],
               sum(lgpio["wakeups_per_minute"].values()) - sum(mine.values()),
               ", ".join("%s %+.0f" % (name, n) for n, name in more), lgpio["rss_mb"] - pi["rss_mb"])]


def _above_the_pi_stack(pi, stack):
    if stack is None:
        return []
    if stack["exited"] is not None or pi["exited"] is not None:
        return ["    (the screen as on a Pi is not set beside the stack as on a Pi: one of them exited)"]
    return ["    the stack as on a Pi (the stack, luma's OLED device on I2C, gpiozero, gpiod), no pandascreen code: "
            "%.1f MB (anon %.1f, files %.1f); the screen as on a Pi is %+.1f MB above it (anon %+.1f, files %+.1f)"
            % ((stack["rss_mb"], stack["rss_anon_mb"], stack["rss_file_mb"]) + _above(pi, stack))]


def _beside_the_emulated(pi, emulated, environment):
    if pi["exited"] is not None or emulated["exited"] is not None:
        return ["  (the screen as on a Pi is not set beside the emulated one: one of them exited)"]
    return ["  as on a Pi (luma and smbus2 on a bus with no device, whose writes take no time; OLED care; two buttons "
            "through gpiod on a fake GPIO chip; the unit's %s; no PNG written) beside the emulated "
            "38c3 screen: RSS %+.1f MB (anon %+.1f, files %+.1f), "
            "CPU %+.3f%% of a core, wake-ups %+.0f a minute"
            % ((" ".join(environment) or "environment (not recorded)",) + _above(pi, emulated)
               + (pi["cpu_percent"] - emulated["cpu_percent"],
                  sum(pi["wakeups_per_minute"].values()) - sum(emulated["wakeups_per_minute"].values())))]


def where_it_goes(r):
    """Lines splitting each screen's RSS into its floors: python3, iroh imported, an endpoint bound,
    the rest of what it imports (together: its code, the imports' floor), and above that what it
    holds while running (data, threads, caches, the code pages running touches)."""
    procs = r["processes"]
    bare = procs.get("floor: python3, sleep")
    iroh = procs.get("floor: python3, import iroh, sleep")
    endpoint = procs.get("floor: python3, an iroh endpoint, sleep")
    imports = procs.get(IMPORTS_FLOOR)
    if r.get("loaded_error"):
        return ["  (no imports floor: the 38c3 screen did not come up to list its modules: %s)"
                % r["loaded_error"].strip().splitlines()[-1:]] + above_the_stack(r)
    if not (bare and iroh and endpoint and imports):
        return above_the_stack(r)
    out = ["  where a screen's RSS goes: python3 %.1f MB, iroh imported +%.1f, an endpoint bound +%.1f (anon +%.1f), "
           "the screen's other imports (%d modules) +%.1f = %.1f MB of code before it runs"
           % (bare["rss_mb"], iroh["rss_mb"] - bare["rss_mb"], endpoint["rss_mb"] - iroh["rss_mb"],
              endpoint["rss_anon_mb"] - iroh["rss_anon_mb"], r.get("modules", 0), imports["rss_mb"] - endpoint["rss_mb"],
              imports["rss_mb"])]
    for label, m in _emulated(procs):
        out.append("    %-40s running and its data: %+.1f MB above its code (anon %+.1f, files %+.1f)"
                   % ((label,) + _above(m, imports)))
    return out + above_the_stack(r)


def above_the_stack(r):
    """Lines setting each screen's RSS beside the stack it is built on (``STACK``): above it are
    pandascreen's code, the modules its code chooses to load, its threads and data, and the
    running state of the libraries it drives (zeroconf's cache, SQLite's page cache, Pillow's
    images)."""
    procs = r["processes"]
    stack = procs.get(STACK_FLOOR)
    if stack is None:
        return []
    out = ["  the stack a screen is built on, no pandascreen code (iroh with an endpoint bound, zeroconf, "
           "Pillow's drawing, PyNaCl, blake3, sqlite3): %.1f MB (anon %.1f, files %.1f)"
           % (stack["rss_mb"], stack["rss_anon_mb"], stack["rss_file_mb"])]
    for label, m in _emulated(procs):
        out.append("    %-40s pandascreen's code, running, and its data: %+.1f MB above that stack "
                   "(anon %+.1f, files %+.1f)" % ((label,) + _above(m, stack)))
    return out
