"""Fakes that tests, ``make demo`` and ``make bench`` share: one home, so none is written twice.

- ``micropython``: runs a script under real MicroPython 1.27 (the npm WebAssembly port in
  tests/mp, or a named 32-bit unix build) and checks live-heap budgets.
- ``festival``: the made-up Pandafest and the festival the golden images show, as operation
  bodies and as real ``core.schedule.Schedule`` objects.
- ``sockets``: stand-ins for a board's socket (send, readinto, close): a peer answering from
  bytes or a file, and a CPython socket with a board's interface.
- ``canvas``: framebuf-like canvases that keep their pixels for comparison.
- ``clock``: a settable clock that sleeps by moving itself.
- ``screen``: a screen for the app's ``Device`` that keeps every image it is shown.
- ``peers``: a controller's transport and found peers that a test cuts off and brings back.

``festival``, ``sockets`` and ``canvas`` run on MicroPython too (scripts under the harness
import them from firmware/).  This package ships in the wheel (the demo and the bench use it)
but is never flashed to a board (board/manifest.py names what it flashes).
"""
