"""[CPython] Rust library backtraces off in a process that runs iroh, unless asked for by name.

WHY: iroh's Python bindings turn some of iroh's errors into ``IrohError`` by formatting them
with their backtrace.  When ``RUST_BACKTRACE=1`` is in the environment (many developers export
it; the machine these figures come from had it), Rust captures a backtrace at every such error,
and the formatting symbolizes it: it reads and inflates the debug sections of
``libiroh_ffi.so``.  Dial failures and closed connections are ordinary events on a festival
network: in a 50-screen field test, after half the screens came back from a cut, this was
about half of their CPU (perf: ``miniz_oxide``, ``gimli``, ``addr2line`` under
``IrohError::from``), and the heal took 9.7 s (p50) instead of 1.8 s with the backtraces off.
Nothing here ever shows those backtraces: node/iroh_address.py keeps only the last line of an
error.

``RUST_LIB_BACKTRACE=0`` turns off the backtraces that libraries capture (``anyhow``,
``std::backtrace``) and leaves ``RUST_BACKTRACE`` for panics, which still print theirs.  Rust
reads it at the first capture: the screen and ``serve`` set it first thing, before any thread
starts (glibc's ``setenv`` beside another thread's ``getenv`` is not safe), and the iroh node's
module once more on import, for every other user, before any endpoint exists.  Someone who
wants the library backtraces sets ``RUST_LIB_BACKTRACE=1``; an empty value is no choice (Rust
would read it as on).
"""

import os


def library_backtraces_off(environ=os.environ):
    """``RUST_LIB_BACKTRACE=0`` in ``environ`` unless it names a value already."""
    if not environ.get("RUST_LIB_BACKTRACE"):
        environ["RUST_LIB_BACKTRACE"] = "0"
