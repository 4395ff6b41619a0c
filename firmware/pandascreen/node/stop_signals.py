"""A stop signal ends a long-running command the way Ctrl-C does.

WHY: systemd stops a screen (``systemctl stop``, a reboot, an upgrade) with SIGTERM, and a
supervisor's timeout does the same to a field test.  Python's default for SIGTERM ends the
process on the spot: no ``finally``, no ExitStack, so live sessions end without a Close (peers
see a timeout 15-30 s later and count a lost link), the pending snapshot and the last known time
are not written, and a field test leaves its screens and namespaces behind.  SIGHUP is the
same stop: a crew member's SSH session that drops hangs up the screen or ``serve`` they started,
unless they started it to outlive the session (``nohup``: a hang-up ignored stays ignored).  Raised as a
``KeyboardInterrupt`` in the main thread, the stop takes the path Ctrl-C takes and every command
already handles: everything started is stopped in reverse order, and the exit is the one a stop
gets (0 for a screen and ``serve``, as systemd expects of a stop).

Once one stop signal (or Ctrl-C) has begun the stop, the next ones are ignored until it ends:
GNU timeout sends TERM to the process and then to its group, a crew presses Ctrl-C twice, a kill
is followed by ``systemctl stop``; a second KeyboardInterrupt raised inside the cleanup cut it
short with a traceback (iroh's Close, mDNS's goodbye half done).  Every part of the stop is
bounded in time, so nothing needs a second signal to end it.
"""

import contextlib
import signal
import threading


@contextlib.contextmanager
def stop_like_ctrl_c(signals=(signal.SIGTERM, signal.SIGHUP)):
    """While inside: the first of ``signals`` or SIGINT raises ``KeyboardInterrupt`` in the main
    thread, and the later ones are ignored.  The handlers before are put back on leaving.  Off
    the main thread (a test calling ``main``) it changes nothing, as Python lets only the main
    thread set handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopping = []

    def _interrupt(_signum, _frame):
        if stopping:
            return  # the stop is under way
        stopping.append(True)
        raise KeyboardInterrupt

    wanted = list(signals) + ([signal.SIGINT] if signal.SIGINT not in signals else [])
    # a hang-up the command was started to ignore stays ignored: ``nohup`` keeps it past the session
    # (SIGINT and SIGTERM are taken whatever: a shell script starts its background jobs ignoring SIGINT)
    before = [(sig, signal.signal(sig, _interrupt)) for sig in wanted
              if not (sig == signal.SIGHUP and signal.getsignal(sig) is signal.SIG_IGN)]
    try:
        yield
    finally:
        for sig, handler in before:
            signal.signal(sig, handler)
