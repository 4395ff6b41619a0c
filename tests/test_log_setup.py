"""node/log_setup.py: the one logging setup the screen, serve and the demo share: the node modules'
records and the entry point's own lines reach one stream, one plain line each, never twice, and
whole from many threads."""

import io
import logging
import threading

import pytest

from pandascreen.node import log_setup


@pytest.fixture(autouse=True)
def no_handler_left():
    """Each test starts and ends without the handler (other tests in this process never see it)."""
    logger = logging.getLogger(log_setup.ROOT)
    level = logger.level

    def clear():
        while log_setup.installed() is not None:
            logger.removeHandler(log_setup.installed())
    clear()
    yield
    clear()
    logger.setLevel(level)


def test_an_entry_points_lines_and_the_node_modules_records_share_one_stream(capsys):
    say = log_setup.say("pandascreen.app")
    say("listening: node abc at 127.0.0.1:2026")
    logging.getLogger("pandascreen.node.discovery").info("mDNS: found peer %s at %s", "ab12", ["10.0.0.2"])
    logging.getLogger("pandascreen.node.iroh").debug("below the level: not shown")
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "listening: node abc at 127.0.0.1:2026\nmDNS: found peer ab12 at ['10.0.0.2']\n"


def test_the_stream_is_the_one_of_the_moment(monkeypatch):
    """stderr is looked up per line: a redirect made after the setup still gets the lines."""
    say = log_setup.say("pandascreen.app")
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stderr", first)
    say("first")
    monkeypatch.setattr("sys.stderr", second)
    say("second")
    assert (first.getvalue(), second.getvalue()) == ("first\n", "second\n")


def test_a_second_setup_replaces_the_first_so_nothing_goes_out_twice(capsys):
    buf = io.StringIO()
    log_setup.setup()
    log_setup.setup()
    say = log_setup.say("pandascreen.serve", buf)  # serve: its lines on its own output
    say("serving festival 'f'")
    logging.getLogger("pandascreen.node.tcp").warning("sync server: %s", "too many sessions")
    assert buf.getvalue() == "serving festival 'f'\nsync server: too many sessions\n"
    assert capsys.readouterr().err == ""
    assert len([h for h in logging.getLogger(log_setup.ROOT).handlers if h is log_setup.installed()]) == 1


def test_stdout_is_a_stream_too(capsys):
    say = log_setup.say("pandascreen.demo", log_setup.STDOUT)
    say("1. organiser ab… signed 30 operations")
    assert capsys.readouterr() == ("1. organiser ab… signed 30 operations\n", "")


def test_percent_signs_in_a_line_are_text():
    buf = io.StringIO()
    log_setup.say("pandascreen.serve", buf)("battery 50%s %d")
    assert buf.getvalue() == "battery 50%s %d\n"


def test_lines_from_many_threads_stay_whole():
    buf = io.StringIO()
    say = log_setup.say("pandascreen.serve", buf)
    threads, per_thread = 8, 200

    def talk(n):
        for i in range(per_thread):
            say("thread %d line %d %s" % (n, i, "x" * 50))
    workers = [threading.Thread(target=talk, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    lines = buf.getvalue().splitlines()
    assert len(lines) == threads * per_thread
    assert sorted(lines) == sorted("thread %d line %d %s" % (n, i, "x" * 50)
                                   for n in range(threads) for i in range(per_thread))


def test_a_command_run_inside_a_process_leaves_its_logging_as_it_was(capsys):
    """serve run in-process (tests, scripts): its lines go to its output while it runs, then the
    setup from before is back."""
    log_setup.setup()
    before = log_setup.installed()
    buf = io.StringIO()
    with log_setup.sending_to(buf):
        log_setup.say("pandascreen.serve")("serving")
        logging.getLogger("pandascreen.node.iroh").info("synced with a screen")
    logging.getLogger("pandascreen.node.iroh").info("after serve")
    assert buf.getvalue() == "serving\nsynced with a screen\n"
    assert capsys.readouterr().err == "after serve\n"
    assert log_setup.installed() is before
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C in serve: the setup is back all the same
        with log_setup.sending_to(buf):
            raise KeyboardInterrupt
    assert log_setup.installed() is before
