"""A stop signal ends a command as Ctrl-C does (node/stop_signals.py), except one the command was
started to ignore: ``nohup pandascreen ...`` outlives the SSH session that started it."""
import signal

import pytest

from pandascreen.node.stop_signals import stop_like_ctrl_c


def test_sighup_and_sigterm_stop_like_ctrl_c():
    before = signal.signal(signal.SIGHUP, signal.SIG_DFL)  # as a shell starts a command (the suite may run under nohup)
    try:
        with stop_like_ctrl_c():
            for sig in (signal.SIGHUP, signal.SIGTERM):
                assert signal.getsignal(sig) not in (signal.SIG_DFL, signal.SIG_IGN)
            with pytest.raises(KeyboardInterrupt):
                signal.raise_signal(signal.SIGHUP)
    finally:
        signal.signal(signal.SIGHUP, before)


def test_a_signal_ignored_by_nohup_stays_ignored():
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with stop_like_ctrl_c():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            signal.raise_signal(signal.SIGHUP)  # ignored: nothing happens
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, before)
