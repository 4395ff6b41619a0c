"""A hide is final for its event: a delete of a participant's booking ("<venue>/<author key>/<name>")
by anyone else (the venue's steward, an organiser) is not undone by the author's later edits, nor
outvoted by a booking the author's phone stamped far in the future.  Last writer wins otherwise:
the author's own delete, and any delete of an event whose id names no author."""

import itertools

from pandascreen.core import operation, schema
from pandascreen.core.crypto import public_key
from pandascreen.core.schedule import Schedule
from pandascreen.core.util import hexlify

LOG = operation.log_id_for_festival("fest")
AUTHOR, STEWARD = bytes(range(32)), bytes(range(3, 35))
BOOKING = "tent/%s/jam" % hexlify(public_key(AUTHOR))


class Log:
    def __init__(self, seed):
        self.seed, self.ops = seed, []

    def sign(self, kind, action, doc_id, fields, at):
        prev = self.ops[-1] if self.ops else None
        op = operation.create(self.seed, schema.make_body(kind, action, doc_id, fields), len(self.ops),
                              prev.hash if prev else None, operation.Extensions(LOG, at * 1000000, False))
        self.ops.append(op)
        return op


def visible_in_every_order(ops):
    organiser = Log(bytes(range(7, 39)))
    ops = ops + [organiser.sign("venue", "create", v, {"name": v.title()}, 50) for v in ("tent", "a")]
    seen = set()
    for order in itertools.permutations(ops):
        s = Schedule()
        for op in order:
            s.apply(op)
        seen.add(tuple(sorted((e.id, e.title) for e in s.all_events())))
    assert len(seen) == 1, seen  # peers converge, whatever order sync brings the operations in
    return seen.pop()


def booking(author, at, title="Jam"):
    return author.sign("event", "create", BOOKING, {"venue": "tent", "title": title, "start": 5000, "end": 6000}, at)


def test_a_stewards_hide_stays_through_the_authors_later_edit():
    author, steward = Log(AUTHOR), Log(STEWARD)
    ops = [booking(author, 100), steward.sign("event", "delete", BOOKING, None, 200),
           author.sign("event", "update", BOOKING, {"title": "Spam is back"}, 300)]
    assert visible_in_every_order(ops) == ()


def test_a_hide_beats_a_booking_stamped_far_in_the_future():
    author, steward = Log(AUTHOR), Log(STEWARD)
    ops = [booking(author, 4000000000), steward.sign("event", "delete", BOOKING, None, 200)]
    assert visible_in_every_order(ops) == ()


def test_the_authors_own_delete_and_an_imported_event_stay_last_writer_wins():
    author, other = Log(AUTHOR), Log(STEWARD)
    ops = [booking(author, 100), author.sign("event", "delete", BOOKING, None, 200),
           author.sign("event", "update", BOOKING, {"title": "Back again"}, 300)]
    assert visible_in_every_order(ops) == ((BOOKING, "Back again"),)
    imported = [other.sign("event", "create", "38c3-1234", {"venue": "a", "title": "Talk", "start": 1, "end": 2}, 100),
                author.sign("event", "delete", "38c3-1234", None, 200),
                other.sign("event", "update", "38c3-1234", {"title": "Restored"}, 300)]
    assert visible_in_every_order(imported) == (("38c3-1234", "Restored"),)
    own_upper = "tent/%s/jam" % hexlify(public_key(AUTHOR)).upper()  # the author's own key, in capitals
    named_no_key = "tent/%s/jam" % ("z" * 64)
    for doc_id in (own_upper, named_no_key):
        ops = [author.sign("event", "create", doc_id, {"venue": "tent", "title": "Jam", "start": 5000, "end": 6000}, 400),
               author.sign("event", "delete", doc_id, None, 500),
               author.sign("event", "update", doc_id, {"title": "Back"}, 600)]
        assert visible_in_every_order(ops) == ((doc_id, "Back"),), doc_id
