"""`pandascreen-host serve`'s TCP listeners (--tcp, --feed, --console): the README's ports work
together, and a port that cannot be had is one line naming it and the flag that changes it,
exit 2, before iroh starts.  Loopback only; what needs iroh is in iroh_serve_cases.py."""
import socket

import pytest

from pandascreen.core.feed import FEED_PORT
from pandascreen_host import laptop_ports
from pandascreen_host.cli import build_parser, main
from pandascreen_host.errors import UserError
from pandascreen_host.serve import tcp_binds
from iroh_serve_cases import CAMP


def _args(*extra):
    return build_parser().parse_args(["serve"] + list(extra))


def test_the_readme_feed_and_console_ports_go_together():
    args = _args("--feed", "0.0.0.0:%d" % FEED_PORT, "--console", "--program-page")
    assert tcp_binds(args) == {"--feed": ("0.0.0.0", FEED_PORT), "--console": ("127.0.0.1", laptop_ports.CONSOLE),
                               "--program-page": ("0.0.0.0", laptop_ports.PROGRAM_PAGE)}
    assert args.console == "127.0.0.1:%d" % laptop_ports.CONSOLE  # what the console then binds


@pytest.mark.parametrize("extra, named", [
    (("--tcp", "127.0.0.1:9000", "--feed", "0.0.0.0:9000"), "--tcp and --feed both ask for port 9000"),
    (("--feed", "127.0.0.1:8026", "--console", "0.0.0.0:8026", "--console-token", "s"),
     "--feed and --console both ask for port 8026"),
    (("--tcp", "0.0.0.0:8027", "--feed", "0.0.0.0:8026", "--console", "0.0.0.0:8027", "--console-token", "s"),
     "--tcp and --console both ask for port 8027"),
])
def test_two_listeners_on_one_port_are_named(extra, named):
    with pytest.raises(UserError, match=named):
        tcp_binds(_args(*extra))
    assert tcp_binds(_args("--tcp", "127.0.0.1:9000", "--feed", "127.0.0.2:9000"))  # other hosts: fine


@pytest.fixture
def festival(tmp_path):
    store, key = tmp_path / "f.db", tmp_path / "org.key"
    assert main(["import", CAMP, "--store", str(store), "--key", str(key)]) == 0
    return ["serve", "--store", str(store), "--key", str(key), "--listen", "127.0.0.1:0", "--no-mdns"]


@pytest.mark.parametrize("flag", ["--feed", "--tcp", "--program-page"])
def test_a_busy_port_is_one_line_and_exit_2(festival, flag, capsys):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    try:
        capsys.readouterr()
        code = main(festival + [flag, "127.0.0.1:%d" % port])
    finally:
        holder.close()
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "port %d is already in use" % port in err and "choose another with %s" % flag in err, err


def test_a_program_page_given_a_host_alone_takes_the_laptops_port_not_a_screens():
    assert tcp_binds(_args("--program-page", "192.168.1.5")) == {"--program-page": ("192.168.1.5", laptop_ports.PROGRAM_PAGE)}


def test_the_console_left_at_its_default_moves_past_the_listeners_given_its_port():
    console = laptop_ports.CONSOLE
    args = _args("--feed", "0.0.0.0:%d" % console, "--program-page", "0.0.0.0:%d" % (console + 1), "--console")
    binds = tcp_binds(args)
    assert binds["--console"] == ("127.0.0.1", console + 2) and binds["--program-page"] == ("0.0.0.0", console + 1)
    assert args.console == "127.0.0.1:%d" % (console + 2)
    # a --tcp on the port the console would move to pushes it one further
    binds = tcp_binds(_args("--tcp", "0.0.0.0:%d" % (console + 1), "--feed", "0.0.0.0:%d" % console, "--console"))
    assert binds["--console"] == ("127.0.0.1", console + 2)


def _screen_defaults():
    """(protocol, port) a Pi screen binds with its defaults: iroh (UDP) and boards' plain-TCP sync
    on listen_port, the feed for satellites, the program page for phones."""
    from pandascreen.core import config
    from pandascreen.node import program_page
    port = config.DEFAULTS["listen_port"]
    return {("udp", port), ("tcp", port), ("tcp", FEED_PORT), ("tcp", program_page.PORT)}


def _serve_defaults():
    """(protocol, port) serve binds with its defaults, every listener on that takes no port."""
    from pandascreen_host.serve import iroh_bind
    args = _args("--console", "--program-page")
    return {("udp", iroh_bind(args)[1])} | {("tcp", port) for _, port in tcp_binds(args).values()}


def test_a_laptop_and_a_screen_on_one_machine_take_no_port_of_each_other_by_default():
    """An organiser who runs a screen beside serve (a Pi that is both, a laptop trying a screen
    out): neither takes a port the other wants, whatever each runs with its defaults."""
    assert not _screen_defaults() & _serve_defaults(), _screen_defaults() & _serve_defaults()


def test_a_bad_organiser_key_is_called_the_organiser_key(festival, tmp_path, capsys):
    key = tmp_path / "short.key"
    key.write_bytes(b"short")
    code = main(festival[:3] + ["--key", str(key)] + festival[5:])
    err = capsys.readouterr().err
    assert code == 2 and "organiser key %s must be exactly 32 bytes" % key in err, err


def test_the_console_secret_can_stay_out_of_the_process_list(tmp_path, monkeypatch):
    """--console-token SECRET is in every user's `ps`; the secret may come from a file
    (--console-token-file) or $PANDASCREEN_CONSOLE_TOKEN instead."""
    from pandascreen_host.console.start import ENV_TOKEN, console_token
    lan = ("--console", "0.0.0.0:9100")
    monkeypatch.delenv(ENV_TOKEN, raising=False)
    with pytest.raises(UserError, match="--console-token"):
        tcp_binds(_args(*lan))
    secret = tmp_path / "console.token"
    secret.write_text("s3cret\n")
    args = _args(*lan, "--console-token-file", str(secret))
    assert tcp_binds(args)["--console"] == ("0.0.0.0", 9100) and console_token(args) == "s3cret"
    monkeypatch.setenv(ENV_TOKEN, "from-env")
    args = _args(*lan)
    assert tcp_binds(args)["--console"] == ("0.0.0.0", 9100) and console_token(args) == "from-env"
    secret.write_text("\n")
    with pytest.raises(UserError, match="is empty"):
        console_token(_args(*lan, "--console-token-file", str(secret)))
