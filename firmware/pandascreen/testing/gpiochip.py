"""[CPython, tests and the bench] A Raspberry Pi's GPIO chip for a process on a machine that has
none: ``build`` compiles ``gpiochip_shim.c`` (beside this file; what it answers is said there)
with the system's C compiler, ``environment`` preloads it into a child process.  The child's
requests to the kernel are written to a notes file (``notes``), and a test presses a button by
writing an edge event to the pipe that stands for its line (``edge``)."""

import os
import struct
import subprocess
import time

SHIM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gpiochip_shim.c")

# <linux/gpio.h>: enum gpio_v2_line_event_id and the gpio_v2_line_flag bits a button's line uses
RISING_EDGE, FALLING_EDGE = 1, 2
INPUT, EDGE_RISING, EDGE_FALLING, BIAS_PULL_UP, BIAS_DISABLED = 1 << 2, 1 << 4, 1 << 5, 1 << 8, 1 << 10


def build(folder):
    """The shim compiled into ``folder``; its path."""
    library = os.path.join(folder, "gpiochip_shim.so")
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o", library, SHIM, "-ldl"],
                   check=True, capture_output=True, timeout=120)
    return library


def environment(library, notes):
    """Variables that give a child process the fake chip, its requests noted in file ``notes``."""
    return {"LD_PRELOAD": library, "PANDASCREEN_GPIO_SHIM_LINES": notes}


def notes(path):
    """The requests noted so far: dicts with ``kind`` "request" (``offset``, ``fd``, ``writer``)
    or "config" (``fd``), each with the line's ``flags`` and ``debounce_us``."""
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as fh:
        for line in fh:
            parts = line.split()
            if parts[0] == "request":
                offset, fd, writer = (int(p) for p in parts[1:4])
                out.append({"kind": "request", "offset": offset, "fd": fd, "writer": writer,
                            "flags": int(parts[4], 16), "debounce_us": int(parts[5])})
            else:
                out.append({"kind": "config", "fd": int(parts[1]), "flags": int(parts[2], 16),
                            "debounce_us": int(parts[3])})
    return out


def writers(path):
    """{offset: the writer fd of the line's newest request}, from the notes file ``path``: where a
    test writes that line's edges."""
    return {n["offset"]: n["writer"] for n in notes(path) if n["kind"] == "request"}


def edge(offset, rising, seqno=1):
    """A struct gpio_v2_line_event as the kernel queues it on a line's fd (48 bytes)."""
    return struct.pack("=QIIII24x", time.monotonic_ns(), RISING_EDGE if rising else FALLING_EDGE, offset, seqno, seqno)
