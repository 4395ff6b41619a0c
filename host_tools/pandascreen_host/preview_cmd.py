"""``pandascreen-host preview``'s arguments; the rendering is ``preview.run``."""


def add_parser(sub):
    p = sub.add_parser("preview", allow_abbrev=False, help="render what a screen shows at a given time to PNG or GIF",
                       description="Render a board's screen for a schedule at a given time, without hardware.")
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
    v.add_argument("--all-venues", action="store_true", help="every venue's screen, laid out as a grid")
    p.add_argument("--layout", choices=("now_next", "all_venues"), default="now_next",
                   help="what the screen shows: one venue's now/next, or the all-venues board (large screens)")
    p.add_argument("--gif", action="store_true", help="animate from --at to --until in --step steps")
    p.add_argument("--step", default="15m", help="GIF time step with its unit: 15m, 1h, 90s (default 15m)")
    p.add_argument("--until", metavar="ISO_TIME", help="GIF end time")
    p.add_argument("--frame-ms", type=int, default=600, help="GIF milliseconds per frame (default 600)")
    p.add_argument("--scale", type=int, default=None,
                   help="enlarge pixels N times (default: small screens to about 512 px wide, 1 for large)")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output .png or .gif")
    return p


def run(args):
    from pandascreen_host import preview
    return preview.run(args)
