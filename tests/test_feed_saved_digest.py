"""A feed whose bytes hash to what a board recorded when it checked them itself (its saved feed at
boot, ``Checker.recorded``) is taken without walking its venues again or verifying its signature:
those bytes passed every check once, and the walk is most of a boot's work after the imports.
What it recorded is bound to the festival and keys it checked against: other keys check it all."""
from pandascreen.bench import feed as feed_bench
from pandascreen.core import feed


def _walks(monkeypatch):
    calls = []
    real = feed._check_venue
    monkeypatch.setattr(feed, "_check_venue", lambda c: calls.append(1) or real(c))
    return calls


def test_a_feed_with_its_saved_digest_is_taken_without_a_venue_walk(monkeypatch):
    data, org, fid, log_id, issued, counts, _ = feed_bench.signed_feed()
    first = feed.Checker(fid, [org], log_id).check(data, len(data))
    calls = _walks(monkeypatch)
    checker = feed.Checker(fid, [org], log_id)
    again = checker.check(data, len(data), checker.recorded(first.digest))
    assert calls == [] and again.digest == first.digest
    assert (again.venue_count, again.venues_at, again.issued_at) == (first.venue_count, first.venues_at, first.issued_at)


def test_changed_bytes_under_a_saved_digest_are_walked_and_refused(monkeypatch):
    data, org, fid, log_id, issued, counts, _ = feed_bench.signed_feed()
    first = feed.Checker(fid, [org], log_id).check(data, len(data))
    bad = bytearray(data)
    bad[first.venues_at + 3] ^= 0x20  # a byte inside the first venue
    calls = _walks(monkeypatch)
    try:
        checker = feed.Checker(fid, [org], log_id)
        checker.check(bad, len(bad), checker.recorded(first.digest))
        raise AssertionError("changed bytes were taken")
    except feed.FeedError:
        pass
    assert calls  # walked: the digest no longer matched


def test_what_was_recorded_under_other_keys_is_checked_in_full(monkeypatch):
    data, org, fid, log_id, issued, counts, _ = feed_bench.signed_feed()
    first = feed.Checker(fid, [org], log_id).check(data, len(data))
    recorded = feed.Checker(fid, [bytes(32)], log_id).recorded(first.digest)
    calls = _walks(monkeypatch)
    feed.Checker(fid, [org], log_id).check(data, len(data), recorded)
    assert calls  # walked and verified: recorded against another key
    assert recorded != feed.Checker(fid, [org], log_id, trust_anyone=True).recorded(first.digest)
