"""The screen asks the kernel about NTP for every frame: that must cost one system call, not a
process (ctypes.util.find_library runs ``ldconfig -p``)."""
import ctypes.util

from pandascreen.node import ntp_state


def test_asking_the_kernel_at_every_frame_starts_no_process(monkeypatch):
    ntp_state.kernel_synced()  # the first call may look libc up
    looked_up = []
    real = ctypes.util.find_library
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: looked_up.append(name) or real(name))
    answers = {ntp_state.kernel_synced() for _ in range(50)}
    assert answers <= {True, None}
    assert looked_up == []
