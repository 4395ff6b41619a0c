"""A stop signal ends a long-running command the way Ctrl-C does.

WHY: systemd stops a screen (``systemctl stop``, a reboot, an upgrade) with SIGTERM, and a
supervisor's timeout does the same to a field test.  Python's default for SIGTERM ends the
process on the spot: no ``finally``, no ExitStack, so live sessions end without a Close (peers
see a timeout 15-30 s later and count a lost link), the pending snapshot and the last known time
are not written, and a field test leaves its screens and namespaces behind.  Raised as a
``KeyboardInterrupt`` in the main thread, the stop takes the path Ctrl-C takes and every command
already handles: everything started is stopped in reverse order, and the exit is the one a stop
gets (0 for a screen and ``serve``, as systemd expects of a stop).
"""

import contextlib
import signal
import threading


@contextlib.contextmanager
def stop_like_ctrl_c(signals=(signal.SIGTERM,)):
    """While inside: each of ``signals`` raises ``KeyboardInterrupt`` in the main thread.  The
    handlers before are put back on leaving.  Off the main thread (a test calling ``main``) it
    changes nothing, as Python lets only the main thread set handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _interrupt(_signum, _frame):
        raise KeyboardInterrupt

    before = [(sig, signal.signal(sig, _interrupt)) for sig in signals]
    try:
        yield
    finally:
        for sig, handler in before:
            signal.signal(sig, handler)
