"""`pandascreen-host serve --console [HOST:PORT]`: start the console beside the iroh node.

WHY a module of its own: serve.py stays a short list of what runs; this is the one place
that wires the console to serve's store, key and live node.
"""

import os

from pandascreen.core import operation
from pandascreen_host.errors import UserError
from pandascreen_host.laptop_ports import CONSOLE

ENV_TOKEN = "PANDASCREEN_CONSOLE_TOKEN"


def add_arguments(p):
    p.add_argument("--console", nargs="?", const="127.0.0.1:%d" % CONSOLE, metavar="HOST:PORT",
                   help="serve the organiser's console page (default 127.0.0.1:%d; " % CONSOLE +
                        "another address needs --console-token)")
    p.add_argument("--console-token", metavar="TOKEN",
                   help="secret the console page must carry (needed off localhost; every user of the laptop "
                        "sees it in the process list: --console-token-file or $%s keep it out)" % ENV_TOKEN)
    p.add_argument("--console-token-file", metavar="PATH", help="read the console's secret from this file")
    p.add_argument("--console-name", action="append", default=[], metavar="NAME[:PORT]",
                   help="another name the browser may reach the console by (e.g. laptop.local); "
                        "any other Host is refused (repeatable)")


def console_token(args, environ=None):
    """The console's secret: from --console-token-file, else $PANDASCREEN_CONSOLE_TOKEN, else
    --console-token (the one every user of the laptop can read in the process list); None."""
    environ = os.environ if environ is None else environ
    path = getattr(args, "console_token_file", None)
    if path:
        try:
            with open(path, encoding="utf-8") as fh:
                token = fh.read(4096).strip()
        except (OSError, UnicodeError) as e:
            raise UserError("cannot read --console-token-file %s: %s" % (path, getattr(e, "strerror", None) or e))
        if not token:
            raise UserError("--console-token-file %s is empty" % path)
        return token
    return environ.get(ENV_TOKEN) or getattr(args, "console_token", None)


def start(args, store, festival_id, seed, pk, node, say, fleet_store):
    """The running ConsoleServer, or None without --console.  ``fleet_store`` is the fleet
    log serve's node syncs (the screens table; its page updates as a status arrives)."""
    if not getattr(args, "console", None):
        return None
    from pandascreen_host.console.request_guard import LOOPBACK_NAMES
    from pandascreen_host.console.server import ConsoleServer, parse_bind
    from pandascreen_host.console.state import Console
    token = console_token(args)
    host, port = parse_bind(args.console, token)
    log_id = operation.log_id_for_festival(festival_id)
    console = Console(store, log_id, fleet_store, store.authorizer, pk, festival_id)
    server = ConsoleServer(console, seed, host, port, token=token,
                           on_published=node.notify, say=say, names=args.console_name).start()
    say("console: %s" % (server.url if host in LOOPBACK_NAMES
                         else "http://%s:%d/ (token required)" % (host, server.port)))
    return server
