"""A button press on a satellite allocates nothing (board/board.py ``press``, on MicroPython).

WHY: main.py takes presses in its idle, outside ``step()`` and the fault handling there; a
MemoryError in ``press`` would end main.py.  After a fault the board drops the venue offsets
(``free``), and counting the venues must not build them again: ``press`` works with the heap locked.
"""
from pandascreen.core.crypto import public_key
from pandascreen.testing.micropython import run_micropython
from test_board_faults import HEAD, feeds  # noqa: F401  (a pytest fixture)
from test_feed import FID, NOW, ORGANISER

PRESS = HEAD + r"""
s, c = board(saved=FEEDS["first"])
s.step()
first = s.view(t[0])["venue"]
s.free()  # as after a failed step
gc.collect()
micropython.heap_lock()
try:
    try:
        s.press(1)
        pressed = "ok"
    except MemoryError:
        pressed = "MemoryError"
finally:
    micropython.heap_unlock()
s.step()
print("pressed", pressed, s.venue_index, first != s.view(t[0])["venue"])
"""


def test_a_press_needs_no_heap(flashed, feeds):  # noqa: F811  (feeds: the fixture imported above)
    code = PRESS % {"feeds": feeds, "now": NOW, "fid": FID, "org": public_key(ORGANISER).hex()}
    out = run_micropython(code, libs=[flashed])
    assert "pressed ok 1 True" in out, out
