"""MicroPython board glue that gets flashed: the board loop, drivers and the entry point."""
