"""The screen asks the kernel about NTP for every frame: that must cost one system call, not a
process (ctypes.util.find_library runs ``ldconfig -p``), also the first time."""
import ctypes.util

from pandascreen.node import ntp_state


def test_asking_the_kernel_starts_no_process_not_even_the_first_time(monkeypatch):
    monkeypatch.setattr(ntp_state, "_libc", [])  # as in a screen that just started
    looked_up = []
    real = ctypes.util.find_library
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: looked_up.append(name) or real(name))
    answers = {ntp_state.kernel_synced() for _ in range(50)}
    assert answers <= {True, None}
    assert looked_up == []


def test_the_answer_is_the_kernels():
    ntp_state.kernel_synced()
    assert ntp_state._libc[0].adjtimex is not None  # found in the process's own libc
