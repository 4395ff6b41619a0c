"""``pandascreen-host boards``: list the board files (board_files/*.toml), or show one in detail.

The listing keeps going past a broken board file and marks it INVALID with the reason, so one
bad file does not hide the others."""

import sys

from pandascreen_host import boards
from pandascreen_host.errors import UserError


def add_parser(sub):
    p = sub.add_parser("boards", allow_abbrev=False, help="list the supported boards (or show one)",
                       description="List the board + screen combinations in boards/, or show one.")
    p.add_argument("name", nargs="?", help="board to show in detail")
    return p


def run(args, out=None):
    out = out or sys.stdout
    if args.name:
        show(boards.load_board(args.name), out)
        return 0
    names = boards.list_boards()
    if not names:
        raise UserError("no board files found in %s" % boards.boards_dir())
    rows = []
    for n in names:
        try:
            b = boards.load_board(n)
            rows.append((n, b["platform"], b["screen"]["kind"], b["description"]))
        except UserError as e:
            rows.append((n, "?", "?", "INVALID: %s" % e))
    w = max(len(r[0]) for r in rows)
    for r in rows:
        out.write("%-*s  %-15s  %-17s  %s\n" % (w, r[0], r[1], r[2], r[3]))
    return 0


def show(b, out):
    """One board in detail: its screen, where the screen is wired, its pins and its enclosure."""
    out.write("%s: %s\n" % (b["name"], b["description"]))
    out.write("  platform:  %s\n" % b["platform"])
    s = b["screen"]
    where = ("I2C%d address 0x%02X" % (s["i2c_port"], s["address"])) if s["bus"] == "i2c" \
        else "SPI%d" % s["spi_port"]
    out.write("  screen:    %s on %s\n" % (s["kind"], where))
    label = "GP" if b["platform"] == "micropython" else "GPIO"
    out.write("  pins:      %s\n" % ", ".join("%s=%s%d" % (k, label, v) for k, v in b["pins"].items()))
    out.write("  enclosure: enclosures/%s\n" % b["enclosure"])
