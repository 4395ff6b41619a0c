"""Pure core: runs unchanged on CPython and MicroPython; imports nothing outside core."""
