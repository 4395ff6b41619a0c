"""The wire form of a group operation: p2panda-auth 0.7's ``GroupsExtensionArgs`` as the CBOR
body of an operation in the festival's own log (docs/AUTH.md).

Why a module of its own: tools that publish group operations (the laptop's ``group`` command,
the demo) and the parser that every peer runs on them need the bytes and nothing of the rights.
Encoded field by field, so a body is byte-identical with ciborium's on both runtimes, and parsed
strictly: a body that does not re-encode to the same bytes is refused.
"""

from pandascreen.core import cbor, quota
from pandascreen.core.errors import GroupOpError, SchemaError
from pandascreen.core.group_model import LEVEL_NAMES, LIMITS, MAX_DEPENDENCIES, MAX_MEMBERS


def _key(b, what):
    b = bytes(b)
    if len(b) != 32:
        raise GroupOpError("%s must be 32 bytes, got %d" % (what, len(b)))
    return b


def create(initial):
    """Action: ``initial`` is a list of ``(key, level)`` or ``(key, level, is_group)``."""
    return ("Create", [(_key(m[0], "member"), m[1], bool(m[2]) if len(m) > 2 else False) for m in initial])


def add(member, level, group=False, quota=None):
    """Action; ``quota``: ``(bytes, operations, events)`` for the member's access conditions
    (core/quota.py), None for the screens' default."""
    return ("Add", _key(member, "member"), bool(group), level, _quota(quota))


def remove(member, group=False):
    return ("Remove", _key(member, "member"), bool(group), None, None)


def promote(member, level, group=False, quota=None):
    """Action: a higher level, or the same level with a larger ``quota`` (see add)."""
    return ("Promote", _key(member, "member"), bool(group), level, _quota(quota))


def demote(member, level, group=False, quota=None):
    """Action: a lower level, or the same level with a smaller ``quota`` (see add)."""
    return ("Demote", _key(member, "member"), bool(group), level, _quota(quota))


def _quota(q):
    if q is None:
        return None
    try:
        return quota.parse(dict(zip(quota.NAMES, q)))
    except SchemaError as e:
        raise GroupOpError(str(e))


def _text(s, out):
    out.extend(cbor.dumps(s))


def _bstr(b, out):
    out.extend(cbor.dumps(bytes(b)))


def _array_head(n, out):
    # the generic encoder would need the items; lists here hold at most MAX_MEMBERS
    if n < 24:
        out.append(0x80 | n)
    elif n < 0x100:
        out.extend(bytes((0x98, n)))
    else:
        out.extend(bytes((0x99, n >> 8, n & 0xFF)))


def _member(member, is_group, out):
    out.append(0xA1)
    _text("Group" if is_group else "Individual", out)
    _bstr(_key(member, "member"), out)


def _access(level, out, limits=None):
    out.append(0xA2)
    _text("conditions", out)
    if limits is None:
        out.append(0xF6)
    else:  # Access<Quota>: the struct's fields in declaration order
        out.append(0xA3)
        for name, n in zip(quota.NAMES, limits):
            _text(name, out)
            out.extend(cbor.dumps(n))
    _text("level", out)
    _text(LEVEL_NAMES[level], out)


def group_body(group_id, action, dependencies=()):
    """The body bytes of a group operation (ciborium's bytes for GroupsExtensionArgs).

    Written field by field, in Rust declaration order, because MicroPython dicts do not keep
    insertion order and the generic encoder would then not be byte-stable.
    """
    out = bytearray()
    out.append(0xA3)
    _text("group_id", out)
    _bstr(_key(group_id, "group_id"), out)
    _text("action", out)
    out.append(0xA1)
    kind = action[0]
    _text(kind, out)
    if kind == "Create":
        out.append(0xA1)
        _text("initial_members", out)
        _array_head(len(action[1]), out)
        for member, level, is_group in action[1]:
            out.append(0x82)
            _member(member, is_group, out)
            _access(level, out)
    else:
        out.append(0xA1 if kind == "Remove" else 0xA2)
        _text("member", out)
        _member(action[1], action[2], out)
        if kind != "Remove":
            _text("access", out)
            _access(action[3], out, action[4])
    _text("dependencies", out)
    _array_head(len(dependencies), out)
    for d in dependencies:
        _bstr(_key(d, "dependency"), out)
    return bytes(out)


def _one(d, what):
    if not isinstance(d, dict) or len(d) != 1:
        raise GroupOpError("%s must be a map with one entry" % what)
    for k in d:
        return k, d[k]


def _fields(d, names, what):
    if not isinstance(d, dict) or len(d) != len(names):
        raise GroupOpError("%s must be a map of %s" % (what, ", ".join(names)))
    for n in names:
        if n not in d:
            raise GroupOpError("%s lacks %r" % (what, n))
    return [d[n] for n in names]


def _parse_member(value):
    tag, key = _one(value, "member")
    if tag not in ("Individual", "Group") or not isinstance(key, bytes) or len(key) != 32:
        raise GroupOpError("member must be Individual or Group with a 32-byte key")
    return key, tag == "Group"


def _parse_access(value, conditions_allowed=True):
    """``(level, quota or None)``: the only conditions pandascreen knows are a quota."""
    conditions, level = _fields(value, ("conditions", "level"), "access")
    limits = None
    if conditions is not None:
        if not conditions_allowed:
            raise GroupOpError("access conditions in a Create are not used by pandascreen (must be null)")
        try:
            limits = quota.parse(conditions, "access conditions")
        except SchemaError as e:
            raise GroupOpError(str(e))
    if level not in LEVEL_NAMES:
        raise GroupOpError("unknown access level %r" % (level,))
    return LEVEL_NAMES.index(level), limits


def parse_group_body(data):
    """Bytes -> ``(group_id, action, dependencies)`` (action as built by add/remove/...).

    Raises only GroupOpError (CBOR errors included)."""
    if data is None or len(data) > LIMITS["group"]:
        raise GroupOpError("group operation body missing or over %d bytes" % LIMITS["group"])
    try:
        value = cbor.loads(data)
    except cbor.CBORError as e:
        raise GroupOpError("group operation is not valid CBOR: %s" % e)
    group_id, action, deps = _fields(value, ("group_id", "action", "dependencies"), "group operation")
    if not isinstance(group_id, bytes) or len(group_id) != 32:
        raise GroupOpError("group_id must be 32 bytes")
    if not isinstance(deps, list) or len(deps) > MAX_DEPENDENCIES:
        raise GroupOpError("dependencies must be a list of at most %d hashes" % MAX_DEPENDENCIES)
    for d in deps:
        if not isinstance(d, bytes) or len(d) != 32:
            raise GroupOpError("a dependency must be a 32-byte hash")
    kind, args = _one(action, "action")
    if kind == "Create":
        (initial,) = _fields(args, ("initial_members",), "Create")
        if not isinstance(initial, list) or len(initial) > MAX_MEMBERS:
            raise GroupOpError("initial_members must be a list of at most %d" % MAX_MEMBERS)
        members = []
        for pair in initial:
            if not isinstance(pair, list) or len(pair) != 2:
                raise GroupOpError("an initial member must be [member, access]")
            key, is_group = _parse_member(pair[0])
            members.append((key, _parse_access(pair[1], False)[0], is_group))
        parsed = ("Create", members)
    elif kind == "Remove":
        (member,) = _fields(args, ("member",), "Remove")
        key, is_group = _parse_member(member)
        parsed = ("Remove", key, is_group, None, None)
    elif kind in ("Add", "Promote", "Demote"):
        member, access = _fields(args, ("member", "access"), kind)
        key, is_group = _parse_member(member)
        level, limits = _parse_access(access)
        parsed = (kind, key, is_group, level, limits)
    else:
        raise GroupOpError("unknown group action %r" % (kind,))
    if group_body(group_id, parsed, deps) != bytes(data):
        raise GroupOpError("group operation is not in canonical form")
    return group_id, parsed, deps
