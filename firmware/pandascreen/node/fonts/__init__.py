"""Where the TrueType face for large screens comes from (see ``pandascreen.node.ttf``).

DejaVu Sans Bold from the system, by name: Debian's and Raspberry Pi OS's ``fonts-dejavu-core``
installs it (``apt-get install fonts-dejavu-core``; Raspberry Pi OS images have it).  Nothing
is bundled.  ``$PANDASCREEN_FONT`` names another file.  Bold because thin strokes vanish on
e-paper and from three metres away.
"""
import os

from pandascreen.core.errors import UserError

FILE = "DejaVuSans-Bold.ttf"
SEARCH = (
    "/usr/share/fonts/truetype/dejavu",   # Debian, Ubuntu, Raspberry Pi OS (fonts-dejavu-core)
    "/usr/share/fonts/dejavu",            # Fedora, Arch (dejavu-sans-fonts, ttf-dejavu)
    "/usr/share/fonts/TTF",
    "/usr/local/share/fonts",
    os.path.expanduser("~/.local/share/fonts"),
    "/Library/Fonts",
)


class FontMissing(UserError):
    pass


def bold():
    """Path of DejaVu Sans Bold ($PANDASCREEN_FONT, else the system's); FontMissing saying how to get it."""
    env = os.environ.get("PANDASCREEN_FONT")
    if env:
        if not os.path.isfile(env):
            raise FontMissing("PANDASCREEN_FONT=%s: no such font file" % env)
        return env
    for folder in SEARCH:
        path = os.path.join(folder, FILE)
        if os.path.isfile(path):
            return path
    raise FontMissing("%s not found (looked in %s): install it with `apt-get install fonts-dejavu-core`, "
                      "or set PANDASCREEN_FONT to a TrueType file" % (FILE, ", ".join(SEARCH)))
