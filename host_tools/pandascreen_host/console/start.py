"""`pandascreen-host serve --console [HOST:PORT]`: start the console beside the iroh node.

WHY a module of its own: serve.py stays a short list of what runs; this is the one place
that wires the console to serve's store, key and live node.
"""

from pandascreen.core import operation
from pandascreen_host.laptop_ports import CONSOLE


def add_arguments(p):
    p.add_argument("--console", nargs="?", const="127.0.0.1:%d" % CONSOLE, metavar="HOST:PORT",
                   help="serve the organiser's console page (default 127.0.0.1:%d; " % CONSOLE +
                        "another address needs --console-token)")
    p.add_argument("--console-token", metavar="TOKEN",
                   help="secret the console page must carry (needed off localhost)")
    p.add_argument("--console-name", action="append", default=[], metavar="NAME[:PORT]",
                   help="another name the browser may reach the console by (e.g. laptop.local); "
                        "any other Host is refused (repeatable)")


def start(args, store, festival_id, seed, pk, node, say, fleet_store):
    """The running ConsoleServer, or None without --console.  ``fleet_store`` is the fleet
    log serve's node syncs (the screens table; its page updates as a status arrives)."""
    if not getattr(args, "console", None):
        return None
    from pandascreen_host.console.request_guard import LOOPBACK_NAMES
    from pandascreen_host.console.server import ConsoleServer, parse_bind
    from pandascreen_host.console.state import Console
    host, port = parse_bind(args.console, args.console_token)
    log_id = operation.log_id_for_festival(festival_id)
    console = Console(store, log_id, fleet_store, store.authorizer, pk, festival_id)
    server = ConsoleServer(console, seed, host, port, token=args.console_token,
                           on_published=node.notify, say=say, names=args.console_name).start()
    say("console: %s" % (server.url if host in LOOPBACK_NAMES
                         else "http://%s:%d/ (token required)" % (host, server.port)))
    return server
