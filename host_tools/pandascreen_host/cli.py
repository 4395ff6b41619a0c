"""``pandascreen-host``: laptop-side tools for pandascreen festival screens.

Exit codes: 0 ok, 2 bad input / usage (``error: ...`` without a traceback), 130 interrupted.

Only ``PandascreenError`` (core/errors.py, the one root every module's errors derive from) is
caught and printed as one line: those are the failures we foresaw and can explain.  Anything
else is a bug and keeps Python's traceback (exit 1), so it gets reported and fixed instead of
being hidden behind "unexpected AttributeError".
"""

import argparse
import importlib
import os
import sys

from pandascreen_host.errors import PandascreenError

EXAMPLES = """examples:
  pandascreen-host boards
  pandascreen-host provision --board pi-zero-2w-ssd1306 --boot /media/$USER/bootfs \\
      --festival-id pandafest-2026 --organiser <organiser public key> \\
      --peer <node id>@10.0.0.2:2025 --wifi-ssid FestivalNet --wifi-country DE
  pandascreen-host flash --board pico-w-ssd1306 --port /dev/ttyACM0
  pandascreen-host preview --board pi-4-inky-phat --schedule fahrplan.xml --at 2026-07-18T14:00+02:00 -o now.png
  pandascreen-host import fahrplan.xml --store festival.db --key organiser.key
  pandascreen-host serve --store festival.db --key organiser.key --watch fahrplan.xml
"""


def _ensure_firmware_importable():
    try:
        import pandascreen  # noqa: F401
        return
    except ImportError:
        pass
    here = os.path.dirname(os.path.abspath(__file__))
    fw = os.path.normpath(os.path.join(here, "..", "..", "firmware"))
    if os.path.isdir(os.path.join(fw, "pandascreen")) and fw not in sys.path:
        sys.path.insert(0, fw)


# Each command's module builds its own parser (``add_parser(subparsers)``) and runs it
# (``run(args)``, returning the exit code or None for 0); this list is their order in --help.
COMMANDS = (
    ("boards", "pandascreen_host.boards_cmd"),
    ("provision", "pandascreen_host.provision"),
    ("flash", "pandascreen_host.flash"),
    ("preview", "pandascreen_host.preview"),
    ("import", "pandascreen_host.import_cmd"),
    ("serve", "pandascreen_host.serve"),
    ("group", "pandascreen_host.group_cmd"),
)


def _module(command):
    return importlib.import_module(dict(COMMANDS)[command])


def build_parser():
    ap = argparse.ArgumentParser(
        prog="pandascreen-host", allow_abbrev=False,
        description="Set up pandascreen festival screens: provision, flash, preview, import schedules.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    for command, _ in COMMANDS:
        _module(command).add_parser(sub)
    ap.commands = sub.choices  # each command's own parser: its usage where its arguments are wrong
    return ap


def unrecognized(extra, parser):
    """The words for arguments ``parser`` does not take: each unknown option by name with the one
    it is closest to, never the values after them (a passphrase typed as an option's value stays
    off the terminal); the rest only counted."""
    import difflib
    known = [o for a in parser._actions for o in a.option_strings if o.startswith("--")]
    said, rest = [], 0
    for word in extra:
        name = word.split("=", 1)[0]
        if name.startswith("--") and len(name) > 2:  # "-Hunter2" may be a value, never said
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            said.append("%s (did you mean %s?)" % (name, close[0]) if close else name)
        else:
            rest += 1
    words = "unrecognized option%s %s" % ("s" if len(said) > 1 else "", ", ".join(said)) if said else ""
    if rest:
        words += "%s%d unexpected argument%s" % ("; " if words else "", rest, "s" if rest > 1 else "")
    return words


def main(argv=None):
    _ensure_firmware_importable()
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:
            command = parser.commands.get(args.command) if args.command else None
            (command or parser).error(unrecognized(extra, command or parser))
    except SystemExit as e:  # argparse: usage errors are 2, --help is 0
        return e.code if isinstance(e.code, int) else 2
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    try:
        result = _module(args.command).run(args)
    except PandascreenError as e:
        sys.stderr.write("error: %s\n" % one_line(e))
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        return 130
    return 0 if result is None else int(result)


def one_line(error):
    """The message on one line: a multi-line cause (e.g. a parser's) must not break ``error: ...``."""
    return " ".join(str(error).split()) or type(error).__name__
