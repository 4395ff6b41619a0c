"""One logging setup for every CPython entry point: the screen (``node/app.py``), the organiser's
``pandascreen-host serve``, the demo and the benchmarks.

Why one: the node modules report through ``logging`` (iroh links, mDNS, the plain-TCP fallback)
and each entry point also says its own progress lines.  Here both go through the same handler to
the same stream, one plain line each (no level or time prefix: systemd's journal adds the time on
a Pi, and a terminal needs neither), from any thread without interleaving.

    say = log_setup.say("pandascreen.app")            # lines on stderr
    say = log_setup.say("pandascreen.demo", STDOUT)   # lines on stdout
    say("listening: ...")
    with log_setup.sending_to(out):                   # a command's lines on its output, then as before
        ...

The stream is looked up when a line is written (``STDERR``/``STDOUT``), so a redirected or
captured ``sys.stderr`` gets the lines written after the redirect.
"""

import contextlib
import logging
import sys

ROOT = "pandascreen"  # every logger of the project is named below it
STDERR = "stderr"
STDOUT = "stdout"


class _LineHandler(logging.StreamHandler):
    """A StreamHandler whose stream is ``sys.stderr``/``sys.stdout`` as it is at each line, or a
    file object given once."""

    def __init__(self, stream):
        super().__init__()
        self.target = stream

    @property
    def stream(self):
        return getattr(sys, self.target) if self.target in (STDERR, STDOUT) else self.target

    @stream.setter
    def stream(self, _value):  # StreamHandler.__init__ sets it; the target decides instead
        pass


def setup(stream=STDERR, level=logging.INFO):
    """Send the project's log records at ``level`` and above to ``stream``, one plain line each.

    Idempotent: a second call with another stream replaces the handler of the first, so the
    records never go out twice.  Returns the handler."""
    logger = logging.getLogger(ROOT)
    for handler in list(logger.handlers):
        if isinstance(handler, _LineHandler):
            if handler.target is stream and handler.level == level:
                return handler
            logger.removeHandler(handler)
    handler = _LineHandler(stream)
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
    return handler


@contextlib.contextmanager
def sending_to(stream, level=logging.INFO):
    """``setup(stream)`` for the length of a ``with`` block, then the setup from before it back:
    a command run inside a longer-lived process (a test, a script) leaves its logging as it was."""
    logger = logging.getLogger(ROOT)
    before, level_before = installed(), logger.level
    handler = setup(stream, level)
    try:
        yield handler
    finally:
        if handler is not before:
            logger.removeHandler(handler)
            if before is not None:
                logger.addHandler(before)
        logger.setLevel(level_before)


def installed():
    """The handler ``setup`` installed, or None."""
    return next((h for h in logging.getLogger(ROOT).handlers if isinstance(h, _LineHandler)), None)


def say(name, stream=None):
    """An entry point's ``say(line)``: one line at INFO through the logger ``name``.

    With a ``stream`` the setup sends every record there now; without one, the first line sets
    up stderr unless an entry point has already chosen a stream."""
    logger = logging.getLogger(name)
    if stream is not None:
        setup(stream)

    def say_line(line):
        if installed() is None:
            setup()
        logger.info("%s", line)
    return say_line
