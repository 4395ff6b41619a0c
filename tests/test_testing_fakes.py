"""pandascreen.testing: the fakes tests, the demo and the bench share behave as the real parts do."""
import os
import socket
import threading

import pytest

from pandascreen.core import operation
from pandascreen.core.schedule import Schedule
from pandascreen.core.store import MemoryStore
from pandascreen.testing import festival, micropython, sockets
from pandascreen.testing.clock import Clock
from pandascreen.testing.screen import RecordingScreen


def test_the_harness_is_found_in_this_clone_and_says_how_to_install_it_when_missing(monkeypatch, tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    assert micropython.HARNESS_DIR == (os.environ.get("PANDASCREEN_MP_HARNESS") or os.path.join(root, "tests", "mp"))
    assert micropython.FIRMWARE == os.path.join(root, "firmware")
    assert micropython.wasm_ready()  # make test installs it (npm ci --prefix tests/mp)
    monkeypatch.setattr(micropython, "HARNESS_DIR", str(tmp_path))
    with pytest.raises(micropython.MicroPythonError, match=r"npm ci --prefix tests/mp.*PANDASCREEN_MP_HARNESS"):
        micropython.run_micropython("print(1)")


def test_the_demo_festival_published_is_the_demo_schedule():
    store = MemoryStore()
    log = operation.log_id_for_festival(festival.FESTIVAL_ID)
    ops = festival.publish(store, bytes(range(32)), log)
    assert len(ops) == store.count() == len(festival.bodies())
    got, want = Schedule.from_store(store, log), festival.demo_schedule()
    assert got.festival == want.festival
    assert [(e.id, e.venue, e.title, e.start, e.end) for e in got.all_events()] == \
        [(e.id, e.venue, e.title, e.start, e.end) for e in want.all_events()]


def test_the_golden_festival_changed_has_a_cancelled_and_a_moved_talk():
    plain, changed = festival.golden_schedule(), festival.golden_schedule(changed=True)
    assert [v.name for v in plain.venues()] == ["Main Stage", "Hack Lab", "Garden Tent"]
    now, nxt = changed.now_next("main", festival.GOLDEN_DAY + 600)
    assert now.status == "cancelled" and nxt.moved() and not nxt.status
    now, nxt = plain.now_next("main", festival.GOLDEN_DAY + 600)
    assert not now.status and not nxt.moved()
    assert festival.schedule().festival is None and festival.schedule().venues() == []


def test_bytes_conn_reads_at_most_the_buffer_and_the_trickle():
    conn = sockets.BytesConn(sockets.http_ok(b"x" * 50), trickle=7)
    buf = bytearray(5)
    assert conn.readinto(memoryview(buf)) == 5 and conn.taken == 5
    big = bytearray(100)
    assert conn.readinto(memoryview(big)) == 7 and conn.taken == 12
    while conn.readinto(memoryview(big)):
        pass
    assert conn.taken == len(sockets.http_ok(b"x" * 50)) and conn.reads > 3


def test_file_conn_answers_from_its_file_and_is_down_without_one(tmp_path):
    (tmp_path / "feed.http").write_bytes(b"HTTP/1.0 200 OK\r\n\r\nhi")
    conn = sockets.FileConn(str(tmp_path / "feed"))
    conn.send(b"GET /")
    buf = bytearray(64)
    assert bytes(buf[:conn.readinto(memoryview(buf))]).endswith(b"hi") and conn.sent == b"GET /"
    conn.close()
    with pytest.raises(OSError, match="Wi-Fi down"):
        sockets.FileConn(None)


def test_socket_conn_is_a_bounded_board_socket_on_loopback():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    got = []

    def answer():
        peer, _ = server.accept()
        got.append(peer.recv(100))
        peer.sendall(b"0123456789")
        peer.close()

    t = threading.Thread(target=answer)
    t.start()
    try:
        conn = sockets.SocketConn("127.0.0.1", server.getsockname()[1])
        conn.send(b"hello")
        t.join(5)
        buf = bytearray(4)
        assert conn.readinto(memoryview(buf)) == 4 and bytes(buf) == b"0123" and got == [b"hello"]
        conn.close()
    finally:
        server.close()


def test_clock_is_set_by_hand_and_sleeps_by_moving():
    c = Clock(100)
    assert c() == 100
    c.sleep(2.5)
    c.t += 1
    assert c() == 103.5


def test_recording_screen_keeps_a_copy_of_every_image():
    from PIL import Image
    screen = RecordingScreen("ssd1306_128x64")
    img = Image.new("1", (4, 4))
    screen.show(img)
    img.putpixel((0, 0), 1)
    screen.show(img)
    assert len(screen.shown) == len(screen.times) == 2 and screen.last().getpixel((0, 0))
    assert not screen.shown[0].getpixel((0, 0))  # a copy: a later change to the image is not in it
    assert (screen.kind, screen.size) == ("ssd1306_128x64", None)
