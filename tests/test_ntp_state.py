"""The screen asks the kernel about NTP for every frame: that must cost one system call, not a
process (ctypes.util.find_library runs ``ldconfig -p``), also the first time."""
import ctypes
import ctypes.util

from pandascreen.node import ntp_state


def test_asking_the_kernel_starts_no_process_not_even_the_first_time(monkeypatch):
    monkeypatch.setattr(ntp_state, "_libc", [])  # as in a screen that just started
    looked_up = []
    real = ctypes.util.find_library
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: looked_up.append(name) or real(name))
    for _ in range(50):
        ntp_state.kernel_synced()
    assert looked_up == []


def test_the_answer_is_the_kernels_as_the_c_library_found_by_name_reads_it():
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    state = libc.adjtimex(ctypes.create_string_buffer(ntp_state._TIMEX_BYTES))
    assert ntp_state.kernel_synced() == (None if state < 0 or state == ntp_state.TIME_ERROR else True)
