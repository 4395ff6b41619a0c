# What `pandascreen-host flash` puts on a MicroPython board, as a micropython-lib style manifest.
#
# The verbs are those of micropython's tools/manifestfile.py (host_tools/pandascreen_host/mpy_manifest.py
# evaluates them); paths are relative to this file.  Modules are compiled with mpy-cross to
# /lib/<path>.mpy, keeping the package folders (/lib/pandascreen/core/cbor.mpy).  node/ runs on
# CPython only (SQLite, sockets, Pillow) and is never flashed.
metadata(description="pandascreen for MicroPython boards (Pico W + SSD1306)", version="0.1.0", license="MIT")

# the package root and the part of the core the satellite loads (board.py, main.py and what they
# import); the rest of core/ runs on MicroPython too but serves full peers (store, sync, auth), so
# flashing it would only cost flash and compile time.  overview draws every venue at once.
module("pandascreen/__init__.py", base_path="../..")
package("pandascreen/core", files=("__init__.py", "_blake3_py.py", "_ed25519_py.py", "cbor.py", "config.py",
                                   "crypto.py", "errors.py", "event_fields.py", "feed.py", "feed_cursor.py",
                                   "feed_http.py", "festival_time.py", "font.py", "font_bitmaps.py", "font_wide.py",
                                   "frame_parts.py", "layout.py", "operation.py", "overview.py", "clock.py", "screens.py",
                                   "util.py"),
        base_path="../..")

# the board glue, by name: board/ also holds this manifest and main.py
package("pandascreen/board", files=("__init__.py", "board.py", "feed_clock.py", "saved_feed.py"), base_path="../..")

# our SSD1306 driver (written from the datasheet, on framebuf): /lib/pandascreen/board/ssd1306.mpy
module("pandascreen/board/ssd1306.py", base_path="../..")

# MicroPython runs /main.py from the filesystem root after boot: copied as source, not into /lib
root_file("main.py")
