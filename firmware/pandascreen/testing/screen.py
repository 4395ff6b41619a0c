"""A screen for ``node.app.Device`` that keeps what it is shown instead of lighting a panel: the
demo saves its frames, tests look at them."""

import time


class RecordingScreen:
    """``shown``: a copy of every image, in order; ``times``: when each came (time.monotonic).
    ``kind`` and ``size``: what a real screen says of itself (None: the config's display)."""

    def __init__(self, kind=None, size=None):
        self.kind = kind
        self.size = size
        self.shown = []
        self.times = []

    def show(self, image):
        self.times.append(time.monotonic())
        self.shown.append(image.copy())

    def last(self):
        return self.shown[-1]
