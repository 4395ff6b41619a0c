"""Errors the host tools report to the user as ``error: ...`` (exit code 2), without a traceback."""


class UserError(Exception):
    """Bad input or a problem the user can fix (wrong path, unknown board, busy serial port...)."""
