"""[Pi] Where a screen's frames go: the real panel (luma, inky, the framebuffer, through
node/display.py) or, emulated, a PNG with the view it was drawn from beside it (tests, the demo,
the field test and a crew's first try read it).  Its own module so that the app's runtime
(node/app.py) stays the loop, the buttons and the store."""

import json
import os

from pandascreen.core.errors import UserError
from pandascreen.node import log_setup

_log = log_setup.say("pandascreen.app")


class ScreenError(UserError):
    """The screen (or the PNG standing in for it) cannot be written."""


class Screen:
    """Chooses the output: real luma/inky device, or a PNG file (emulated)."""

    def __init__(self, kind, emulate_path=None, screen_cfg=None):
        from pandascreen.node import display
        self.kind = kind
        self.emulate_path = emulate_path
        self._dev = None
        self.size = None  # the board file's nominal size; a real screen says its own
        if emulate_path:
            self._check_writable()
            return
        self._dev = display.open_screen(kind, screen_cfg, log=_log)
        self.kind = self._dev.kind
        self.size = self._dev.size

    def _tmp(self):
        return self.emulate_path + ".tmp.png"

    def _check_writable(self):
        """Fail at start with one line, not with a traceback at the first frame."""
        try:
            with open(self._tmp(), "wb"):
                pass
            os.remove(self._tmp())
        except OSError as e:
            raise ScreenError("cannot write the emulated screen to %s: %s"
                              % (self.emulate_path, e.strerror or e))

    view = None  # what the next image says (Device sets it); emulated, written beside the PNG

    def show(self, image):
        """Put ``image`` on the panel; emulated, the PNG and, beside it as ``<png>.json``, the
        view it was drawn from (what the screen says, for tests and the field test to read)."""
        view, self.view = self.view, None
        if self.emulate_path:
            try:
                # by its ".png" name, not format="PNG": Pillow then loads its PNG writer alone
                image.convert("RGB").save(self._tmp())
                os.replace(self._tmp(), self.emulate_path)
                if view is not None:
                    with open(self._tmp(), "w", encoding="utf-8") as fh:
                        json.dump(view, fh, default=str, sort_keys=True)
                    os.replace(self._tmp(), self.emulate_path + ".json")
            except OSError as e:
                raise ScreenError("cannot write the emulated screen to %s: %s"
                                  % (self.emulate_path, e.strerror or e))
        else:
            self._dev.show(image)

    def set_contrast(self, level):
        """OLED care (node/oled_care.py): the real panel's brightness; False when emulated."""
        return self._dev is not None and self._dev.set_contrast(level)

    def set_power(self, on):
        """OLED care: the real panel on/off; False when emulated (the PNG then shows black)."""
        return self._dev is not None and self._dev.set_power(on)
