"""``pandascreen-host preview``: what a board's screen shows at a given moment, as PNG or GIF.

The pixels come from ``pandascreen.node.display.render_schedule_image`` -- the same code the screens
run -- and the schedule from a store (``--store festival.db``) or straight from a schedule file
(``--schedule``, parsed by ``pandascreen_host.importers.load``).

Small screens are enlarged by default (``--scale``: 128 px wide comes out 4x) so the picture is
readable on a laptop; ``--each-venue`` lays every venue's own now/next screen out side by side;
``--layout overview`` shows the overview (core/overview.py: every venue at once, on one screen)
that a large screen can hang instead of now/next.  A GIF's ``--step`` needs its unit (``30m``,
``90s``): a bare ``30`` is refused rather than guessed.
"""

import argparse
import functools
import math

import datetime
import os
import re
import sys

from pandascreen_host import boards as boardsmod
from pandascreen_host.errors import UserError
from pandascreen_host.importers import diff as neutral_diff  # bound here: a test stands in for importers.load
from pandascreen_host.progress import Progress

MAX_FRAMES = 300       # a festival day at 5-minute steps; more is a mistake, not a preview
DEFAULT_WIDTH = 512    # --scale default: enlarge small screens to about this many pixels wide


# -- schedule sources -----------------------------------------------------------------------------
def schedule_from_neutral(neutral):
    """A ``Schedule`` holding what ``import`` would publish from the importers' neutral dict
    (festival / venues / events): the same changes and bodies (``importers.diff``,
    ``schema.make_body``), so a file is previewed as the screens will show it, its zone's
    offsets over the festival included."""
    from pandascreen.core import schema
    from pandascreen.core.schedule import Schedule
    s = Schedule()
    for n, (kind, action, doc_id, fields) in enumerate(neutral_diff(None, neutral), 1):
        s.apply(schema.parse_body(schema.make_body(kind, action, doc_id, fields)), 1, n.to_bytes(4, "big"))
    return s


def load_schedule_file(path, err):
    if not os.path.isfile(path):
        raise UserError("schedule file %s does not exist" % path)
    try:
        from pandascreen_host import importers
    except ImportError as e:
        raise UserError("reading schedule files needs pandascreen_host.importers (%s)" % e)
    neutral = importers.load(path)
    for w in neutral.get("warnings") or []:
        err.write("warning: %s\n" % w)
    return schedule_from_neutral(neutral)


def load_schedule_store(path, festival_id=None):
    if not os.path.isfile(path):
        raise UserError("store %s does not exist (create one with `pandascreen-host import`)" % path)
    from pandascreen.core import operation
    from pandascreen.core.schedule import Schedule
    from pandascreen.node.sqlite_store import SqliteStore
    store = SqliteStore(path)
    try:
        if festival_id:
            log_id = operation.log_id_for_festival(festival_id)
        else:
            logs = set()
            for per_author in store.heights().values():
                logs.update(per_author.keys())
            if not logs:
                raise UserError("store %s holds no operations" % path)
            if len(logs) > 1:
                raise UserError("store %s holds %d festival logs; pass --festival-id with one of: %s"
                                % (path, len(logs), ", ".join(festival_ids(store, logs))))
            log_id = logs.pop()
        sched = Schedule.from_store(store, log_id)
    finally:
        close = getattr(store, "close", None)
        if close:
            close()
    if not sched.venues():
        raise UserError("no venues for %s in store %s" % (
            ("festival %r" % festival_id) if festival_id else "the festival", path))
    return sched


def festival_ids(store, log_ids):
    """"id (name)" of the festival in each log, sorted; a log without a festival document is
    named by its log id."""
    from pandascreen.core.schedule import Schedule
    out = []
    for log_id in log_ids:
        fest = Schedule.from_store(store, log_id).festival or {}
        if fest.get("id"):
            name = fest.get("name")
            out.append("%s (%s)" % (fest["id"], name) if name and name != fest["id"] else str(fest["id"]))
        else:
            out.append("log %s" % (log_id.hex() if isinstance(log_id, bytes) else log_id))
    return sorted(out)


# -- time -----------------------------------------------------------------------------------------
def festival_tz(schedule):
    """tzinfo of the festival: its IANA zone if known here, else its fixed UTC offset, else UTC."""
    fest = schedule.festival or {}
    name = fest.get("timezone")
    if name:
        try:
            from zoneinfo import ZoneInfo
            return ZoneInfo(name)
        except Exception:  # zoneinfo missing, or zone unknown on this machine
            pass
    off = int(fest.get("utc_offset") or 0)
    return datetime.timezone(datetime.timedelta(minutes=off))


def parse_time(text, tz, what="--at"):
    """Unix time from ISO 8601 (``2026-07-18T14:00+02:00``, ``...Z``, or naive = festival time)."""
    raw = (text or "").strip()
    if re.match(r"^@\d+$", raw):
        return int(raw[1:])
    iso = raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw
    try:
        dt = datetime.datetime.fromisoformat(iso)
    except ValueError:
        raise UserError("%s %r is not an ISO 8601 time such as 2026-07-18T14:00+02:00" % (what, text))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    return int(dt.timestamp())


def parse_step(text):
    """Seconds from ``15m``, ``1h``, ``1h30m`` or ``90s``; a number without a unit is an error
    (``--step 30`` once meant 30 seconds and made a 421-frame GIF of a 3.5-hour slot)."""
    t = (text or "").strip().lower()
    if t.isdigit():
        raise UserError("--step %s has no unit: write %sm for minutes or %ss for seconds" % (t, t, t))
    m = re.match(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$", t)
    if not t or not m:
        raise UserError("--step %r must look like 15m, 1h, 1h30m or 90s" % text)
    n = int(m.group(1) or 0) * 3600 + int(m.group(2) or 0) * 60 + int(m.group(3) or 0)
    if n <= 0:
        raise UserError("--step must be longer than zero")
    return n


def frame_times(start, until, step):
    if until < start:
        raise UserError("--until is before --at")
    count = (until - start) // step + 1
    if count > MAX_FRAMES:
        raise UserError("--at to --until in steps of %s is %d frames; at most %d: use a larger --step "
                        "or an earlier --until" % (_span(step), count, MAX_FRAMES))
    return [start + i * step for i in range(count)]


def _span(seconds):
    h, rest = divmod(int(seconds), 3600)
    m, s = divmod(rest, 60)
    return "".join("%d%s" % (v, u) for v, u in ((h, "h"), (m, "m"), (s, "s")) if v) or "0s"


def resolve_venue(spec, venues):
    listing = ", ".join("%d=%s" % (i, v.name) for i, v in enumerate(venues))
    s = str(spec).strip()
    if re.match(r"^-?\d+$", s):
        i = int(s)
        if not 0 <= i < len(venues):
            raise UserError("--venue %s is out of range; the schedule has %d venues: %s" % (s, len(venues), listing))
        return i
    for i, v in enumerate(venues):
        if s == v.id or s.lower() == (v.name or "").lower():
            return i
    raise UserError("no venue %r; venues are: %s" % (s, listing))


# -- images ---------------------------------------------------------------------------------------
def _renderer():
    try:
        from pandascreen.node.display import render_schedule_image
    except ImportError as e:
        raise UserError("preview needs pandascreen.node.display and Pillow (%s)" % e)
    return render_schedule_image


def default_scale(width):
    """Enlargement that makes a ``width``-pixel screen about ``DEFAULT_WIDTH`` wide (1 for large)."""
    return max(1, min(8, DEFAULT_WIDTH // max(1, width)))


def grid_columns(count, width, height):
    """Columns for ``count`` screens of ``width`` x ``height``: the sheet comes out near 4:3."""
    def off(cols):
        rows = (count + cols - 1) // cols
        return abs(math.log(cols * width / float(rows * height) / (4.0 / 3.0)))
    return min(range(1, max(1, count) + 1), key=off)


def compose(images, scale=1, gap=2):
    """Lay images out as a grid (grey gaps between them) and enlarge ``scale`` times; RGB result."""
    from PIL import Image
    rgb = [im.convert("RGB") for im in images]
    cw = max(im.width for im in rgb)
    ch = max(im.height for im in rgb)
    cols = grid_columns(len(rgb), cw, ch)
    rows = (len(rgb) + cols - 1) // cols
    width = cols * cw + gap * (cols - 1)
    height = rows * ch + gap * (rows - 1)
    sheet = Image.new("RGB", (width, height), (96, 96, 96))
    for i, im in enumerate(rgb):
        r, c = divmod(i, cols)
        sheet.paste(im, (c * (cw + gap), r * (ch + gap)))
    if scale != 1:
        sheet = sheet.resize((width * scale, height * scale), Image.NEAREST)
    return sheet


def _save_atomic(save, path):
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UserError("output folder %s does not exist" % directory)
    tmp = os.path.join(directory, ".%s.%d.tmp" % (os.path.basename(path), os.getpid()))
    try:
        save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def add_parser(sub):
    """``pandascreen-host preview`` and its options (cli.py lists the commands)."""
    p = sub.add_parser("preview", allow_abbrev=False, help="render what a screen shows at a given time to PNG or GIF",
                       description="Render a board's screen for a schedule at a given time, without hardware.")
    add_arguments(p)
    return p


def add_arguments(p):
    """The ``preview`` command's options."""
    from pandascreen.core import config
    p.add_argument("--board", required=True, help="board name (decides the screen)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--store", metavar="PATH", help="SQLite store (festival.db) to read the schedule from")
    src.add_argument("--schedule", metavar="FILE", help="schedule file (frab XML/JSON, pretalx, iCal, CSV)")
    p.add_argument("--festival-id", help="festival in --store (needed when it holds several)")
    p.add_argument("--at", required=True, metavar="ISO_TIME",
                   help="moment to show, e.g. 2026-07-18T14:00+02:00 (no offset: festival time)")
    v = p.add_mutually_exclusive_group()
    v.add_argument("--venue", default="0", metavar="N",
                   help="venue number (0 = first, as the buttons count) or venue id/name")
    v.add_argument("--each-venue", action="store_true", help="every venue's own screen, side by side")
    # the name this option had before the overview took "all venues": kept for scripts, not shown
    v.add_argument("--all-venues", dest="each_venue", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--layout", choices=config.LAYOUTS, default=config.NOW_NEXT,
                   type=lambda name: config.LAYOUT_ALIASES.get(name, name),
                   help="what the screen shows: one venue's now/next, or the overview (every venue at once; "
                        "large screens)")
    p.add_argument("--language", metavar="LANG",
                   help="the screens' language (de, fr, en_US, ...; default: the festival's, as on a screen)")
    p.add_argument("--gif", action="store_true", help="animate from --at to --until in --step steps")
    p.add_argument("--step", default="15m", help="GIF time step with its unit: 15m, 1h, 90s (default 15m)")
    p.add_argument("--until", metavar="ISO_TIME", help="GIF end time")
    p.add_argument("--frame-ms", type=int, default=600, help="GIF milliseconds per frame (default 600)")
    p.add_argument("--scale", type=int, default=None,
                   help="enlarge pixels N times (default: small screens to about 512 px wide, 1 for large)")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output .png or .gif")


def _output_options(args):
    """(gif, scale, frame_ms) from the output options, refusing combinations that make no sense."""
    output = args.output
    ext = os.path.splitext(output)[1].lower()
    if ext not in (".png", ".gif"):
        raise UserError("-o must end in .png or .gif, not %r" % (ext or output))
    gif = bool(getattr(args, "gif", False)) or ext == ".gif"
    if gif and ext != ".gif":
        raise UserError("--gif writes an animation; name the output *.gif")
    if gif and not getattr(args, "until", None):
        raise UserError("a GIF needs --until (and optionally --step, default 15m)")
    if not gif and getattr(args, "until", None):
        raise UserError("--until only makes sense with --gif / a .gif output")
    scale = getattr(args, "scale", None)
    if scale is not None and not 1 <= scale <= 16:
        raise UserError("--scale must be between 1 and 16")
    frame_ms = getattr(args, "frame_ms", 600) or 600
    if frame_ms < 20:
        raise UserError("--frame-ms must be at least 20")
    return gif, scale, frame_ms


def _save(frames, output, gif, frame_ms):
    if gif:
        def save(path):
            frames[0].save(path, format="GIF", save_all=True, append_images=frames[1:],
                           duration=frame_ms, loop=0)
    else:
        def save(path):
            frames[0].save(path, format="PNG")
    _save_atomic(save, output)


def run(args, out=None, err=None):
    from pandascreen.core import config
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    gif, scale, frame_ms = _output_options(args)
    view = getattr(args, "layout", None) or config.NOW_NEXT
    each_venue = bool(getattr(args, "each_venue", False))
    board = boardsmod.load_board(args.board)
    kind = board["screen"]["kind"]
    if view == config.OVERVIEW and each_venue:
        raise UserError("--layout overview already shows every venue; drop --each-venue")
    render = _renderer()
    if getattr(args, "store", None):
        schedule = load_schedule_store(args.store, getattr(args, "festival_id", None))
    else:
        schedule = load_schedule_file(args.schedule, err)
    venues = schedule.venues()
    if not venues:
        raise UserError("the schedule has no venues to show")
    tz = festival_tz(schedule)
    start = parse_time(args.at, tz)
    if getattr(args, "language", None):
        from pandascreen.node import i18n
        if not i18n.spoken(args.language):
            raise UserError(i18n.not_spoken(args.language))
    render = functools.partial(render, language=getattr(args, "language", None) or (schedule.festival or {}).get("language"))
    if each_venue:
        indices = list(range(len(venues)))
    else:
        indices = [0 if view == config.OVERVIEW else resolve_venue(getattr(args, "venue", "0"), venues)]
    times = frame_times(start, parse_time(args.until, tz, "--until"), parse_step(args.step)) if gif else [start]
    if scale is None:
        scale = default_scale(render(schedule, indices[0], start, kind, view=view).width)
    frames = []
    prog = Progress("rendering", len(times), unit="frames", stream=err) if gif else None
    for n, t in enumerate(times):
        frames.append(compose([render(schedule, i, t, kind, view=view) for i in indices], scale=scale))
        if prog:
            prog.update(n + 1)
    if prog:
        prog.done()
    _save(frames, args.output, gif, frame_ms)
    when = datetime.datetime.fromtimestamp(start, tz).strftime("%Y-%m-%d %H:%M %z")
    if view == config.OVERVIEW:
        which = "the overview"
    else:
        which = "all %d venues" % len(venues) if len(indices) > 1 else "venue %d (%s)" % (
            indices[0], venues[indices[0]].name)
    w, h = frames[0].size
    if gif:
        out.write("wrote %s: %d frames, %dx%d (%dx), %s, from %s every %s\n"
                  % (args.output, len(frames), w, h, scale, which, when, _span(parse_step(args.step))))
    else:
        out.write("wrote %s: %dx%d (%dx), %s at %s\n" % (args.output, w, h, scale, which, when))
    return 0
