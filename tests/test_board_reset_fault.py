"""A satellite whose reset itself fails for want of memory (board/board.py ``restart``, on MicroPython).

WHY: ``step()`` never raises, and its last resort is ``reset`` (main.py logs "resetting", then
``machine.reset()``): when the heap is so full that the log line cannot be built, the MemoryError
must not leave ``step()`` and end main.py; the next steps fail again and try the reset again.
Seen on the 32-bit unix port at a 120 KB hard heap with a 600-venue festival.
"""
from pandascreen.core.crypto import public_key
from pandascreen.testing.micropython import run_micropython
from test_board_faults import HEAD, feeds  # noqa: F401  (a pytest fixture)
from test_feed import FID, NOW, ORGANISER

RESET_FAILS = HEAD + r"""
class Broken(Canvas):
    def fill_rect(self, x, y, w, h, c):
        raise MemoryError("no frame fits")

tries = []
class FirstFails:
    # HEAD's reset appends to ``resets``: the first reset fails as main.py's would without heap
    def __init__(self):
        self.done = []
    def append(self, v):
        tries.append(v)
        if len(tries) == 1:
            raise MemoryError("no heap for the log line")
        self.done.append(v)
    def __len__(self):
        return len(self.done)
resets = FirstFails()

s, c = board(canvas=Broken())
escaped = 0
for i in range(2 * B.FAULTS_BEFORE_RESET):
    try:
        s.step()
    except MemoryError:
        escaped += 1
    t[0] += 10
print("escaped", escaped, "tries", len(tries), "resets", len(resets))
"""


def test_a_reset_that_fails_never_escapes_a_step(flashed, feeds):  # noqa: F811  (feeds: the fixture imported above)
    code = RESET_FAILS % {"feeds": feeds, "now": NOW, "fid": FID, "org": public_key(ORGANISER).hex()}
    out = run_micropython(code, libs=[flashed])
    assert "escaped 0 tries 2 resets 1" in out, out
