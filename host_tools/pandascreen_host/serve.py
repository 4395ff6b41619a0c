"""`pandascreen-host serve`: the organiser's p2panda peer (iroh, live mode).

    pandascreen-host serve --store festival.db --key organiser.key [--watch schedule.xml]

Why a command of its own: screens dial the organiser's node id at its address (no discovery
yet), so something on the laptop must listen, say who it is, and push edits while screens are
connected.  It serves the store over ``pandascreen.node.iroh_transport`` (node id = the
organiser's public key, the key screens already trust), re-imports the watched schedule when the
file changes -- through ``import_cmd.run``, the same code as ``pandascreen-host import`` -- and the
new operations reach every connected screen (and screens relaying for it) at once.  It also
syncs the festival's fleet log (core/fleet.py: each screen's signed status, in
``festival.fleet.db`` beside the store, kept only for keys the festival group names), which the
console's screens table reads.

It prints one ``listening: node <node id> at <ip>:<port>`` line per address, then peers
connecting, what each holds and what was sent.  Ctrl-C ends live sessions with Close and exits 0.
"""

import argparse
import contextlib
import os
import sys
import threading
import time

from pandascreen_host import laptop_ports
from pandascreen_host.errors import UserError
from pandascreen_host.own_forks import OwnForks

WATCH_EVERY = 0.25  # seconds between looks at the watched file
SETTLE = 2.0  # ... which is imported once it has stayed the same this long (``Watcher``)


def add_parser(sub):
    p = sub.add_parser("serve", allow_abbrev=False, help="serve a festival store to screens over iroh (live)",
                       description="The organiser's p2panda peer: serve the store to screens over iroh, "
                                   "re-import a watched schedule file when it changes and push the changes live.")
    p.add_argument("--store", default="festival.db", help="festival store (default festival.db)")
    p.add_argument("--key", default="organiser.key", metavar="PATH", help="organiser key (default organiser.key)")
    p.add_argument("--watch", metavar="SCHEDULE", help="schedule file to re-import whenever it changes")
    p.add_argument("--listen", default="0.0.0.0:%d" % laptop_ports.IROH, metavar="IP:PORT",
                   help="UDP address to listen on (default 0.0.0.0:%d; a screen's is 2026)" % laptop_ports.IROH)
    p.add_argument("--tcp", metavar="IP:PORT",
                   help="also serve the sync over plain TCP here, for Pi screens where no iroh wheel loads "
                        "(their host:port peers; MicroPython boards use --feed)")
    p.add_argument("--feed", metavar="IP:PORT",
                   help="also serve the signed screen feed over HTTP here, for satellite boards (Pico W)")
    p.add_argument("--program-page", nargs="?", const="0.0.0.0:%d" % laptop_ports.PROGRAM_PAGE, metavar="IP:PORT",
                   help="also serve the program as a web page for phones on the festival Wi-Fi "
                        "(default 0.0.0.0:%d; a screen's is 8027)" % laptop_ports.PROGRAM_PAGE)
    p.add_argument("--festival-id", help="festival to serve (default: from --watch or the store)")
    p.add_argument("--timezone", help="for --watch: IANA time zone for times without an offset")
    from pandascreen_host.import_cmd import add_identity_arguments, add_span_arguments
    add_span_arguments(p)
    add_identity_arguments(p)
    p.add_argument("--network-id", metavar="HEX", help="p2panda network id (64 hex; default p2panda's)")
    p.add_argument("--no-mdns", action="store_true", help="do not announce this node on the LAN by mDNS")
    from pandascreen_host.console import start as console_start
    console_start.add_arguments(p)
    return p


def _import(args, schedule, out, err):
    from pandascreen_host import import_cmd
    ns = argparse.Namespace(schedule=schedule, store=args.store, key=args.key, festival_id=args.festival_id,
                            timezone=args.timezone, span_from=args.span_from, span_until=args.span_until,
                            new_festival=args.new_festival, keep_edits=args.keep_edits,
                            allow_deletes=getattr(args, "allow_deletes", False), dry_run=False)
    return import_cmd.run(ns, out=out, err=err)


def _festival_id(store, pk, wanted):
    """The festival whose log the organiser writes in this store (there is normally one)."""
    from pandascreen_host import festivals
    if wanted:
        festivals.require(store, wanted, store_name(store))
        return wanted
    found = [fid for fid, _fest, author in festivals.held(store) if author == pk]
    if not found:
        raise UserError("%s holds no festival signed by this organiser key: import a schedule first "
                        "(or pass --watch schedule.xml)" % store_name(store))
    if len(found) > 1:
        raise UserError("%s holds several festivals (%s): choose one with --festival-id"
                        % (store_name(store), ", ".join(sorted(found))))
    return found[0]


def store_name(store):
    return getattr(store, "path", "the store")


class Watcher:
    """Re-imports a schedule file when its size or modification time changes (polling: no
    inotify dependency, works for editors that replace the file), once it has stayed the same
    for ``SETTLE`` seconds: scp, a download or an editor write a file in pieces, and the first
    piece imported would take most of the program off every screen until the next."""

    def __init__(self, path, on_change, since=None, clock=time.monotonic, settle=None):
        """``since``: the file's ``signature`` when it was last imported (a change after that
        import and before this watcher is made is seen), else the file as it is now."""
        self.path = path
        self.on_change = on_change
        self.clock = clock
        self.settle = SETTLE if settle is None else settle
        self._sig = since if since is not None else self._signature()
        self._changed = None  # (signature, when first seen) of a change waiting to settle

    @staticmethod
    def signature(path):
        """(modification time in ns, size) of ``path``; None when it cannot be read."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _signature(self):
        return self.signature(self.path)

    def check(self):
        """Import when the file changed and has stayed the same since for ``settle`` seconds;
        True when it did."""
        sig = self._signature()
        if sig is None or sig == self._sig:
            self._changed = None
            return False
        now = self.clock()
        if self._changed is None or self._changed[0] != sig:
            self._changed = (sig, now)  # changed (again): wait for it to stay so
            return False
        if now - self._changed[1] < self.settle:
            return False
        self._sig, self._changed = sig, None
        self.on_change()
        return True


def _ip_port(flag, text, example):
    """``IP:PORT`` given to ``flag`` -> (ip, port); UserError showing ``example`` otherwise."""
    host, _, port = (text or "").rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise UserError("%s must look like IP:PORT, e.g. %s" % (flag, example))
    return host.strip("[]"), int(port)


def iroh_bind(args):
    """Where serve's iroh node listens (UDP), from ``--listen``: (ip, port); UserError."""
    return _ip_port("--listen", args.listen, "IP:PORT")


def tcp_binds(args):
    """Where serve's TCP listeners go: ``{flag: (host, port)}`` for --tcp, --feed, --program-page
    and --console.

    Each default is a port of its own, none of them a screen's (laptop_ports.py).  A browser
    follows the URL serve prints, so the console, left at its default while another listener was
    given that port, moves up to the next port no other listener takes.  Two listeners on one
    port otherwise: UserError naming both."""
    from pandascreen.core.errors import PandascreenError
    from pandascreen.node import program_page
    from pandascreen_host.console.server import parse_bind
    from pandascreen_host.console.start import console_token
    binds = {}
    if args.tcp:
        binds["--tcp"] = _ip_port("--tcp", args.tcp, "0.0.0.0:%d" % laptop_ports.IROH)
    if getattr(args, "feed", None):
        binds["--feed"] = _ip_port("--feed", args.feed, "0.0.0.0:8026")
    if getattr(args, "program_page", None):
        try:
            binds["--program-page"] = program_page.parse_bind(args.program_page,
                                                              default_port=laptop_ports.PROGRAM_PAGE)
        except PandascreenError as e:
            raise UserError(str(e))
    if getattr(args, "console", None):
        console = parse_bind(args.console, console_token(args))
        if console == parse_bind(None):
            for _ in range(len(binds)):  # each other listener can push it up one port at most
                if not any(_overlap(console, b) for b in binds.values()):
                    break
                console = (console[0], console[1] + 1)
            args.console = "[%s]:%d" % console if ":" in console[0] else "%s:%d" % console
        binds["--console"] = console
    flags = list(binds)
    for i, first in enumerate(flags):
        for second in flags[i + 1:]:
            if _overlap(binds[first], binds[second]):
                raise UserError("%s and %s both ask for port %d: give one of them another port"
                                % (first, second, binds[first][1]))
    return binds


def _overlap(one, other):
    """Two (host, port) binds that cannot both be had: one port, and one host or a wildcard."""
    from pandascreen.node.program_page import EVERY_ADDRESS
    if one is None or other is None or not one[1] or one[1] != other[1]:
        return False
    return one[0] == other[0] or one[0] in EVERY_ADDRESS or other[0] in EVERY_ADDRESS


def _busy(flag, bind, example):
    """The one line for a listener whose port another program holds."""
    host, port = bind
    return UserError("%s %s:%d: port %d is already in use (another serve or screen?); choose another with %s %s"
                     % (flag, host, port, port, flag, example))


def _serve_feed(where, store, fid, seed, pk):
    """The signed screen feed (node/feed_server.py), signed with the organiser key (no grant needed)."""
    from pandascreen.node.conn_limits import ListenError
    from pandascreen.node.feed_server import FeedServer, FeedSource
    bind = _ip_port("--feed", where, "0.0.0.0:8026")
    try:
        return FeedServer(FeedSource(store, fid, seed, [pk]), *bind).start()
    except ListenError as e:
        raise _busy("--feed", bind, "IP:PORT") if e.busy else UserError(str(e))


def _serve_tcp(bind, store, topic):
    """Plain-TCP sync (node/tcp.py): the fallback of a Pi screen where no iroh wheel loads."""
    from pandascreen.core import operation
    from pandascreen.node.conn_limits import ListenError
    from pandascreen.node.tcp import SyncServer
    try:
        return SyncServer(store, operation.log_id_for_topic(topic), host=bind[0], port=bind[1], topic=topic).start()
    except ListenError as e:
        raise _busy("--tcp", bind, "IP:PORT") if e.busy else UserError(str(e))


def _start_console(args, store, fid, seed, pk, node, say, fleet_store, bind):
    """The console (pandascreen_host/console), its busy port said in one line."""
    import errno
    from pandascreen_host.console import start as console_start
    try:
        return console_start.start(args, store, fid, seed, pk, node, say, fleet_store)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise _busy("--console", bind, "HOST:PORT")
        raise UserError("--console %s:%d: %s" % (bind[0], bind[1], e.strerror or e))


def _serve_program_page(bind, store, fid, authorizer):
    """The program page for phones (node/program_page.py) at ``bind`` (host, port), rendered from this store."""
    from pandascreen.core import operation
    from pandascreen.core.errors import PandascreenError
    from pandascreen.node import program_page
    from pandascreen.node.conn_limits import ListenError
    host, port = bind
    try:
        sched = program_page.store_schedule(store, operation.log_id_for_festival(fid), authorizer=authorizer)
        return program_page.ProgramPage(program_page.ProgramSource(sched), host, port).start()
    except ListenError as e:
        raise _busy("--program-page", bind, "IP:PORT") if e.busy else UserError(str(e))
    except PandascreenError as e:
        raise UserError(str(e))


def run(args, out=None, err=None, stop=None):
    """Serve until Ctrl-C or SIGTERM (or ``stop`` is set); returns the exit code.

    Each part that starts registers its own stop on one ExitStack, so whatever has started is
    stopped, last started first, however serve ends (Ctrl-C, ``stop``, a refused port)."""
    from pandascreen.node import iroh_backtraces, log_setup
    iroh_backtraces.library_backtraces_off()  # before any thread starts (the module says why)
    from pandascreen.node.stop_signals import stop_like_ctrl_c
    # serve's lines and the node modules' records (iroh, mDNS, plain TCP) go to its output;
    # systemd's or a supervisor's SIGTERM stops it as Ctrl-C does
    with log_setup.sending_to(out or log_setup.STDOUT), stop_like_ctrl_c():
        say = log_setup.say("pandascreen.serve")
        out = out or sys.stdout
        err = err or sys.stderr
        network_id = _network_id(args)
        binds = tcp_binds(args)  # a wrong or clashing address is said before anything runs
        seed = _organiser_seed(args, out, err)
        store = _open_store(args.store)
        with contextlib.ExitStack() as running:
            running.callback(store.close)
            _serve(args, binds, store, seed, network_id, say, out, err, stop or threading.Event(), running)
            say("stopping: closing live sessions")
        say("stopped")
    return 0


def _network_id(args):
    from pandascreen.core.util import unhexlify
    from pandascreen.node.iroh_transport import DEFAULT_NETWORK_ID
    if not args.network_id:
        return DEFAULT_NETWORK_ID
    try:
        network_id = unhexlify(args.network_id)
    except ValueError:
        network_id = b""
    if len(network_id) != 32:
        raise UserError("--network-id must be 64 hex characters")
    return network_id


def _organiser_seed(args, out, err):
    """The organiser key's seed, after importing the watched schedule (which makes the key on first use)."""
    from pandascreen_host.fsutil import load_seed
    if args.watch:
        if not os.path.exists(args.watch):
            raise UserError("cannot watch %s: no such file" % args.watch)
        args.watched_as = Watcher.signature(args.watch)  # before: an edit while serve starts is imported
        _import(args, args.watch, out, err)  # creates the key on first use, like `import`
    if not os.path.exists(args.key):
        raise UserError("no organiser key at %s: run `pandascreen-host import schedule.xml --key %s` first"
                        % (args.key, args.key))
    return load_seed(args.key, "organiser key")


def _open_store(path):
    from pandascreen.core.store import IngestError
    from pandascreen.node.sqlite_store import SqliteStore
    try:
        store = SqliteStore(path)
    except IngestError as e:
        raise UserError(str(e))
    store.path = path
    return store


def _serve(args, binds, store, seed, network_id, say, out, err, stop, running):
    """Start every listener serve was asked for, each stop on ``running``, then serve until ``stop``."""
    from pandascreen.core import auth, operation
    from pandascreen.core.crypto import public_key
    from pandascreen.core.store import IngestError
    from pandascreen.node import fleet_report, program_page
    pk = public_key(seed)
    fid = _festival_id(store, pk, args.festival_id)
    topic = operation.festival_topic(fid)
    # the laptop keeps (and so relays) only what the festival group lets write,
    # like a screen: a hostile peer dialling serve directly gets nothing stored here
    group = auth.guard(store, auth.for_authors([pk]), operation.log_id_for_topic(topic))
    try:
        fleet_store = fleet_report.open_fleet_store(args.store, group, log=say)
    except IngestError as e:
        raise UserError(str(e))
    running.callback(fleet_store.close)
    # the TCP listeners first: a port they cannot have stops serve before iroh starts
    tcp = feed_server = None
    if "--tcp" in binds:
        tcp = _serve_tcp(binds["--tcp"], store, topic)
        running.callback(tcp.stop)
    if "--feed" in binds:
        feed_server = _serve_feed(args.feed, store, fid, seed, pk)
        running.callback(feed_server.stop)
    node = _start_node(args, store, topic, seed, network_id, say, fleet_report.subscription(fid, fleet_store),
                       running)
    try:  # serving from here: a Ctrl-C (or SIGTERM) stops serve, whichever part it lands in
        say("serving festival %r from %s: %d operations, organiser %s" % (fid, args.store, store.count(), pk.hex()))
        for addr in node.addresses():
            say("listening: node %s at %s" % (node.node_id, addr))
        say("fleet: screens' status syncs into %s (%d screen(s) so far)"
            % (fleet_report.fleet_store_path(args.store), len(fleet_store.heights())))
        if tcp is not None:
            say("listening: plain TCP sync (for Pi screens without iroh) at %s:%d" % (tcp.host, tcp.port))
        if feed_server is not None:
            say("listening: signed screen feed for satellite boards at http://%s:%d/pandascreen/feed/%s"
                % (feed_server.host, feed_server.port, fid))
        if "--console" in binds:
            console = _start_console(args, store, fid, seed, pk, node, say, fleet_store, binds["--console"])
            if console is not None:
                running.callback(console.stop)
        if "--program-page" in binds:
            phone_page = _serve_program_page(binds["--program-page"], store, fid, group)
            running.callback(phone_page.stop)
            say("listening: program page for phones at %s" % program_page.phone_url(phone_page.host, phone_page.port))
        _serve_until_stopped(args, node, say, out, err, stop, running)
    except KeyboardInterrupt:
        pass


def _start_node(args, store, topic, seed, network_id, say, fleet_subscription, running):
    """The organiser's iroh node, live (its stop registered before it starts); it gives
    ``ORGANISER_PEERS`` places to screens, which relay to the others (node/liveness.py)."""
    from pandascreen.core.errors import PandascreenError
    from pandascreen.node.iroh_transport import IrohNode
    from pandascreen.node.liveness import ORGANISER_PEERS
    node = IrohNode(store, topic, seed, bind=args.listen, network_id=network_id, live=True,
                    reconnect=False, say=say, also=[fleet_subscription], max_linked=ORGANISER_PEERS)
    running.callback(node.stop)
    try:
        node.start()
    except PandascreenError as e:
        from pandascreen.node.conn_limits import udp_port_busy
        try:
            bind = iroh_bind(args)
        except UserError:
            bind = None  # iroh's own words say what is wrong with it
        if bind is not None and udp_port_busy(*bind):
            raise _busy("--listen", bind, "IP:PORT")
        raise UserError(str(e))
    return node


def _serve_until_stopped(args, node, say, out, err, stop, running):
    """Announce the node on the LAN and re-import the watched file when it changes, until ``stop`` (or
    Ctrl-C, which ``_serve`` catches)."""
    from pandascreen.core.errors import PandascreenError

    def reimport():
        say("%s changed: importing" % args.watch)
        try:
            _import(args, args.watch, out, err)
        except PandascreenError as e:
            say("error: %s (still serving the previous schedule)" % " ".join(str(e).split()))
            return
        node.notify()

    watcher = Watcher(args.watch, reimport, since=getattr(args, "watched_as", None)) if args.watch else None
    forks = OwnForks(node.store, node.node_id_bytes, say)
    if not getattr(args, "no_mdns", False):  # screens find us with no address typed
        from pandascreen.node.discovery import start_for_node
        mdns = start_for_node(node, say=say)
        if mdns is not None:
            running.callback(mdns.stop)
    while not stop.is_set():
        if watcher is not None:
            watcher.check()
        forks.check()
        stop.wait(WATCH_EVERY)
