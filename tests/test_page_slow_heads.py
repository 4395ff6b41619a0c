"""Phones are not locked out of the program page by a few addresses that fill its whole budget
with requests they never finish (slowloris: a trickled head, reconnected at each timeout).  Over
the total budget, a newcomer takes the place of the oldest connection still sending its first
request head from the address that holds the most, when that address holds more than the
newcomer's, else of the oldest one still coming after ``SLOW_HEAD`` seconds (node/bounded_http.py).  A connection being answered, a stream, and the per-address
bound are as before."""
import socket
import time
import urllib.error

import pytest

from pandascreen.node.bounded_http import BoundedHTTP
from pandascreen.node.poll import until
from pandascreen.testing.clock import Clock
from test_program_page import NOW, Connection, festival, get, page_of


def _trickling(page, source):
    """A connection from ``source`` that has sent part of a request head and no more."""
    s = socket.create_connection(("127.0.0.1", page.port), timeout=10, source_address=(source, 0))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    return s


def _a_phone_gets_in_while_two_addresses_hold_every_place(unfinished):
    """Two addresses hold all four places with ``unfinished(page, source)`` connections; a phone
    from a third still gets the page, and the oldest of them made way."""
    page = page_of(festival(), Clock(NOW), max_connections=4, max_per_address=2, timeout=30).start()
    held = []
    try:
        held.extend(unfinished(page, source) for source in ("127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.3"))
        assert until(lambda: page.open_connections == 4, 10)
        assert until(lambda: len(page._http._heading) == 4, 10)  # none of them finished
        assert get(page, "/")[0] == 200  # was 503 until the attackers' 30 s timeout, and again at once
        assert held[0].recv(100) == b""  # the oldest unfinished one of a heaviest address made way
        assert page.refused == 0
    finally:
        for s in held:
            s.close()
        page.stop()


def test_a_phone_gets_the_page_while_two_addresses_hold_every_place_with_unfinished_requests():
    _a_phone_gets_in_while_two_addresses_hold_every_place(_trickling)


def _stalled_post(page, source):
    """A connection from ``source`` that has sent a whole POST head and only part of its body."""
    s = socket.create_connection(("127.0.0.1", page.port), timeout=10, source_address=(source, 0))
    s.sendall(b"POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" + b"x" * 10)
    return s


def test_a_phone_gets_the_page_while_two_addresses_hold_every_place_with_unfinished_post_bodies():
    """The same with a POST whose body never finishes: its head was read, so it was no longer
    counted as unfinished, and phones got 503 (18 of 20) on a page with a publishing form."""
    _a_phone_gets_in_while_two_addresses_hold_every_place(_stalled_post)


def test_an_unfinished_request_of_an_address_holding_no_more_than_the_newcomers_is_kept():
    http = BoundedHTTP(None, "127.0.0.1", 0, max_connections=2, max_per_address=2)
    assert http._admit("a") and http._admit("b")
    first = Connection()
    http._heading[first] = "a"
    assert not http._admit("b") and not first.closed  # "a" holds 1, as many as "b" would: no churn
    assert http.refused == 1
    assert http._admit("c") is False and not first.closed  # "c" would hold 1 too


def test_a_phone_gets_the_page_while_many_addresses_hold_a_place_each_with_a_slow_head(monkeypatch):
    """520 addresses with one trickled head each locked phones out (503 on 40 of 50 tries): no
    address held more than a newcomer would.  Over the total, a head still coming after
    ``SLOW_HEAD`` seconds (a phone sends its own at once) makes way, the oldest first; younger ones
    are kept, so phones with a request each do not push each other out."""
    from pandascreen.node import bounded_http
    monkeypatch.setattr(bounded_http, "SLOW_HEAD", 0.5)
    page = page_of(festival(), Clock(NOW), max_connections=6, max_per_address=2, timeout=30).start()
    held = []
    try:
        held.extend(_trickling(page, "127.0.1.%d" % n) for n in range(1, 7))
        assert until(lambda: len(page._http._heading) == 6, 10)
        with pytest.raises(urllib.error.HTTPError) as busy:
            get(page, "/")
        assert busy.value.code == 503  # none of them is slow yet
        assert until(lambda: page.open_connections == 6, 10)
        time.sleep(0.6)
        assert get(page, "/")[0] == 200
        assert held[0].recv(100) == b""  # the oldest slow head made way
    finally:
        for s in held:
            s.close()
        page.stop()


@pytest.mark.parametrize("unfinished", [b"GET / HTTP/1.1\r\nHost: x\r\n",
                                        b"POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" + b"x" * 10],
                         ids=["a head", "a POST body"])
def test_addresses_reconnecting_their_heads_faster_than_slow_head_do_not_lock_phones_out(monkeypatch, unfinished):
    """Each of six addresses holds one trickled head (or POST body) and reconnects a little faster
    than SLOW_HEAD: no head was ever slow, and phones got 503 on 22 of 30 tries.  What is slow is an
    address that finished no request for SLOW_HEAD seconds, however often it reconnects."""
    import threading
    from pandascreen.node import bounded_http
    monkeypatch.setattr(bounded_http, "SLOW_HEAD", 0.5)
    page = page_of(festival(), Clock(NOW), max_connections=6, max_per_address=2, timeout=30).start()
    stop = threading.Event()

    def attacker(source):
        for _ in range(200):  # bounded: about 80 s at most; the test stops it long before
            if stop.is_set():
                return
            try:
                s = socket.create_connection(("127.0.0.1", page.port), timeout=5, source_address=(source, 0))
                s.sendall(unfinished)
            except OSError:
                continue
            stop.wait(0.4)  # under SLOW_HEAD: no head of it is ever slow
            s.close()

    threads = [threading.Thread(target=attacker, args=("127.0.1.%d" % n,), daemon=True) for n in range(1, 7)]
    for t in threads:
        t.start()
    try:
        assert until(lambda: page.open_connections == 6, 10)
        time.sleep(0.6)
        ok = 0
        for _ in range(30):
            try:
                ok += get(page, "/")[0] == 200
            except urllib.error.HTTPError as e:
                assert e.code == 503
            time.sleep(0.1)
        assert ok >= 25, "a phone got the page %d of 30 times" % ok
    finally:
        stop.set()
        for t in threads:
            t.join(5)
        page.stop()
