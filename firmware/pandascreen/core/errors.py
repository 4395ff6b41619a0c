"""One root for every error pandascreen raises on purpose, so a caller can catch ours alone.

Modelled on gpiozero's ``exc.py``: each leaf also inherits the builtin it refines
(``ValueError`` for bad input, ``OSError`` for I/O trouble), so code that already catches
the builtin keeps working.  The command-line tools catch ``PandascreenError`` and print its
one-line message; anything else is a bug and keeps its traceback.

On MicroPython a class cannot have two native exception bases ("instance lay-out
conflict"), so there the leaves inherit the root only: core code therefore catches our own
classes, never the builtin, which keeps it correct on both runtimes.
"""


class PandascreenError(Exception):
    """Base of all pandascreen errors."""


try:
    class _ValueErrorBase(PandascreenError, ValueError):
        pass
except TypeError:  # MicroPython
    class _ValueErrorBase(PandascreenError):
        pass


class BadInput(_ValueErrorBase):
    """Data from outside (a file, a peer, a user) is malformed or not allowed."""


class DecodeError(BadInput):
    """Bytes do not decode as the format they claim (CBOR, postcard, operation)."""


class CBORError(DecodeError):
    """Malformed or non-canonical CBOR."""


class OperationError(DecodeError):
    """A p2panda operation header or body that does not validate."""


class PostcardError(DecodeError):
    """A sync message that is not valid postcard."""


class GroupOpError(DecodeError):
    """A group operation body (p2panda-auth wire form) that does not parse."""


class SchemaError(BadInput):
    """An operation body that is not a festival, venue or event document."""


class ConfigError(BadInput):
    """A device configuration that is missing something or holds a wrong value."""


class IngestError(BadInput):
    """An operation a store refuses (fork, gap, bad backlink, not decodable)."""


class CannotStore(IngestError):
    """A store cannot write now (its disk is full, read-only or failing): nothing of that write
    was stored.  Not a refusal of the operation and not damage: the same write succeeds once the
    disk can take it, so no one skips the operation's log for it."""


class Unauthorized(IngestError):
    """An operation the festival group does not let its author make (or over a size limit)."""


class ScheduleImportError(BadInput):
    """A schedule file that cannot be imported; the message names the file and the cause."""


class SyncError(PandascreenError):
    """A sync session with a peer failed (protocol violation, unexpected message, timeout)."""


class InstallError(PandascreenError):
    """The Pi first-boot installer cannot do what it was asked."""


class UserError(PandascreenError):
    """A laptop-tool command cannot go on; the message says what to do."""
