"""The open stage's HTTP routes on the program page (node/program_page.py): what a participant's
phone asks (``GET /publish/state``), sends (``POST /publish``) and shows (``GET /publish/key.svg``,
its key as a QR code for whoever invites it), and the one-line refusal of a read-only page.

WHY apart from the page: the page serves every phone the same bytes from one thread; these
routes are per phone and touch the screen's store under its lock, so they run off the serving
thread (``OffLoop``) and answer in one line of the festival's language when they refuse.
"""

import io
import json
import re
import threading
import time

from pandascreen.core.errors import BadInput, DecodeError, SchemaError, Unauthorized
from pandascreen.node.bounded_http import ADDRESS, OffLoop, response

TEXT = "text/plain; charset=utf-8"
# New QR codes drawn (~15 ms of CPU each here, ten times that on a Pi Zero 2 W): for one address,
# QR_PER_SECOND a second after a burst of QR_BURST (a phone asks once for its own key), and for
# all of them QR_ALL_PER_SECOND after QR_ALL_BURST, so one address locks no other phone out and
# many cannot take the screen's CPU
QR_PER_SECOND, QR_BURST = 0.5, 2
QR_ALL_PER_SECOND, QR_ALL_BURST = 4, 8
QR_KEPT = 32       # codes drawn, kept to be sent again (a reload, a second look)
QR_ADDRESSES = 256  # addresses whose budget is kept, the oldest forgotten first
_EVERYONE = object()  # the budget of all addresses together
HOST = re.compile(r"^[A-Za-z0-9.\-]{1,100}(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]{2,60}\](:[0-9]{1,5})?$")
KEY = re.compile(r"^[0-9a-f]{64}$")


def _line(status, text, head=False):
    return response(status, (str(text).splitlines()[0] + "\n").encode("utf-8"), TEXT, head=head, close=True)


def _query(query):
    return dict(p.partition("=")[::2] for p in query.split("&"))


class Stage:
    """Routes of a page with an ``inbox`` (node/phone_inbox.PhoneInbox); ``words()`` gives the
    festival's words for a page without one (then every write is refused in one line)."""

    def __init__(self, inbox, words, clock=time.monotonic):
        self.inbox = inbox
        self.words = words
        self.clock = clock
        self._codes = {}  # (host, key) -> the QR code's response, the newest last (QR_KEPT of them)
        self._budgets = {}  # address (_EVERYONE: all of them) -> [tokens, when last filled], the newest last
        self._lock = threading.Lock()  # OffLoop calls run on the executor's threads

    def route(self, path, query, headers, head):
        """The reply for a GET under ``/publish``, or None (not one of these routes)."""
        if path == "/publish/state":
            if self.inbox is None:
                return OffLoop(self._read_only, head)
            return OffLoop(self._state, query, head)  # the screen's lock: not on the serving thread
        if path == "/publish/key.svg":
            if self.inbox is None:  # nobody publishes here: nobody to invite
                return OffLoop(self._read_only, head)
            return OffLoop(self._key_svg, query, headers.get("host", ""), head, headers.get(ADDRESS))
        return None

    def _read_only(self, head=False):
        return _line(403, self.words()["refused_curated"], head)

    def _state(self, query, head):
        """What a phone needs to sign its next operation (PhoneInbox.state)."""
        try:
            state = self.inbox.state(_query(query).get("key", ""))
        except BadInput as e:
            return response(400, (str(e) + "\n").encode("utf-8"), TEXT, head=head)
        return response(200, json.dumps(state).encode("utf-8"), "application/json", head=head)

    def _key_svg(self, query, host, head, address=None):
        """The phone's key as a QR code of this page's address with ``#invite=KEY``: a steward or
        organiser scans it with the phone's camera and lands on the page with the key filled in.
        Codes drawn are kept; new ones are drawn within a budget per address and for all (``_may_draw``)."""
        import segno
        key = _query(query).get("key", "")
        if not KEY.match(key):
            return _line(400, "key must be 64 lowercase hex characters", head)
        host = host if HOST.match(host) else "pandascreen.local"
        with self._lock:
            body = self._codes.pop((host, key), None)
            if body is None and not self._may_draw(address):
                return response(503, b"busy drawing codes: try again in a moment\n", TEXT, [("Retry-After", "2")],
                                head=head, close=True)
        if body is None:
            out = io.BytesIO()
            segno.make("http://%s/#invite=%s" % (host, key), error="m").save(
                out, kind="svg", scale=4, border=2, xmldecl=False, svgns=True, title="invite " + key[:8])
            body = out.getvalue()
        with self._lock:
            self._codes[(host, key)] = body
            while len(self._codes) > QR_KEPT:
                del self._codes[next(iter(self._codes))]
        return response(200, body, "image/svg+xml", head=head)

    def _may_draw(self, address):
        """A token of ``address``'s budget and one of all addresses', taken when both have one
        (see QR_PER_SECOND), under ``_lock``."""
        now = self.clock()
        mine = self._budget(address, QR_BURST, QR_PER_SECOND, now)
        everyone = self._budget(_EVERYONE, QR_ALL_BURST, QR_ALL_PER_SECOND, now)
        if mine[0] < 1.0 or everyone[0] < 1.0:
            return False
        mine[0] -= 1.0
        everyone[0] -= 1.0
        return True

    def _budget(self, address, burst, rate, now):
        """``[tokens, when filled]`` of ``address``, filled up to ``now`` (under ``_lock``)."""
        budget = self._budgets.pop(address, None) or [float(burst), now]
        budget[0] = min(float(burst), budget[0] + (now - budget[1]) * rate)
        budget[1] = now
        self._budgets[address] = budget
        while len(self._budgets) > QR_ADDRESSES + 1:
            del self._budgets[next(a for a in self._budgets if a is not _EVERYONE)]
        return budget

    def post(self, target, headers, data):
        """A participant's signed operation (POST /publish): stored and relayed, or one line why not.
        Runs off the serving thread: the store may wait for the screen's lock."""
        if target.partition("?")[0] != "/publish":
            if self.inbox is None:  # a read-only page takes no POST but this one's refusal
                return response(405, b"only GET and HEAD\n", TEXT, [("Allow", "GET, HEAD")], close=True)
            return _line(404, "not found")
        if self.inbox is None:
            return self._read_only()
        from pandascreen.node.phone_inbox import Refusal
        try:
            got = self.inbox.submit(data, headers.get("content-type", ""))
        except Refusal as e:
            return _line(e.status, e)
        except (DecodeError, SchemaError) as e:
            return _line(400, e)
        except Unauthorized as e:
            return _line(403, e)
        except BadInput as e:  # the log's rules: replay, fork, gap
            return _line(409, e)
        return response(200, json.dumps({"hash": got}).encode("utf-8"), "application/json", close=True)
