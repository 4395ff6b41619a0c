"""A Pi screen's network side, started for ``node/app.py``'s ``main``: plain-TCP sync and the
feed for boards, the program page for phones, the iroh node (festival log and fleet log) and
mDNS.  Every part started is left on the caller's ``contextlib.ExitStack``, so they stop in
reverse order whatever ends the run.
"""

import threading

from pandascreen.core.clock import ALONE_AFTER
from pandascreen.core.errors import ConfigError, UserError
from pandascreen.node.conn_limits import udp_port_busy
from pandascreen.node.device_key import device_seed


class ListenPortError(UserError):
    """A port the screen listens on cannot be had (another program holds it): iroh's UDP port, or
    the plain-TCP sync and the feed it serves boards on."""


def is_iroh_peer(peer):
    return "@" in (peer[0] if isinstance(peer, tuple) else str(peer))


def start_iroh(cfg, store, config_dir, device, serve, fleet_beside=None, say=print):
    """Start the screen's iroh node when a peer or serving needs it; None when not needed or it
    cannot run here (said in one line).  Live updates wake the device's loop at once.  With
    ``fleet_beside`` (the store's path) the node also syncs (and relays) the fleet log in a
    store beside it, and the screen reports its status there (node/fleet_report.py, ticked by
    ``Device.run``) with the node's key; ``device.fleet_report.store`` is then the caller's to close."""
    wanted = [p for p in cfg["peer_addrs"] if is_iroh_peer(p)]
    if not wanted and not (serve and cfg["listen_port"]):
        return None
    from pandascreen.node import fleet_report
    fleet_store = None if fleet_beside is None else open_fleet_store(cfg, fleet_beside, device, say)
    also = [fleet_report.subscription(cfg["festival_id"], fleet_store)] if fleet_store is not None else []
    held = False
    try:
        from pandascreen.node.iroh_transport import device_node
    except ImportError as e:  # no iroh wheel for this platform (32-bit Pi OS, musl)
        node, why = None, "the iroh package cannot be loaded: %s" % e
    else:
        try:
            node, why = device_node(cfg, store, config_dir, serve=serve, on_change=device.wake.set, say=say,
                                    also=also)
        except ConfigError as e:  # no device key: a screen with node-id peers does not start (one line, exit 2),
            # nor one with no peer configured: only iroh (mDNS) brings it the program
            if wanted or not cfg["peer_addrs"]:
                if fleet_store is not None:
                    fleet_store.close()
                raise
            node, why = None, str(e)  # plain-TCP peers only: it runs on them, as it did
        held = node is None and serve and udp_port_busy("0.0.0.0", cfg["listen_port"])
    if node is None:
        if fleet_store is not None:
            fleet_store.close()
        if held:
            raise _held_port(cfg["listen_port"], "UDP: iroh sync with screens and laptops", "listen_port")
        say("iroh unavailable (%s)%s" % (why, "; node-id peers cannot be reached" if wanted else ""))
        if wanted:  # said once here: the sync rounds go to the plain-TCP peers alone
            device.controller._peers = lambda: [p for p in cfg["peer_addrs"] if not is_iroh_peer(p)]
        return None
    if fleet_store is not None:
        device.fleet_report = fleet_report.FleetReport(device.controller, node.seed, fleet_store,
                                                       cfg["festival_id"], log=say)
    device.controller._found = node.live_peers  # mDNS-found peers count in the footer
    node.on_peers = PeerWatch(device.wake)  # the footer says "synced" or "alone since" when peers come or go
    device.node = node  # what a phone publishes here goes to live peers at once (program_page._stored)
    tcp = device.controller.transport
    # background: a dead iroh peer costs the loop one bounded dial, then the node redials alone
    device.controller.transport = lambda peer: (node.sync(peer, background=True) if is_iroh_peer(peer)
                                                else tcp(peer))
    for addr in node.addresses():
        say("listening: node %s at %s" % (node.node_id, addr))
    return node


def serve_boards(cfg, store, config_dir, device, say=print):
    """Plain-TCP sync on ``listen_port`` (the iroh port's number: MicroPython boards sync from Pi
    screens) and the signed feed for satellite boards on ``feed_port`` (core/feed.FEED_PORT; 0:
    none).  Returns (sync server, feed server or None); ListenPortError naming the port and the
    config key that changes it when one cannot be had."""
    from pandascreen.core.feed import FEED_PORT
    from pandascreen.node.conn_limits import ListenError
    from pandascreen.node.feed_server import start_for_screen
    from pandascreen.node.tcp import SyncServer
    what, key = "plain-TCP sync for boards", "listen_port"
    server = feed_server = None
    try:
        server = SyncServer(store, device.log_id, host="0.0.0.0", port=cfg["listen_port"], topic=device.topic).start()
        what, key = "the feed for satellite boards", "feed_port"
        if cfg.get("feed_port", FEED_PORT):
            feed_server = start_for_screen(cfg, store, config_dir, device, say, port=cfg.get("feed_port", FEED_PORT))
    except ListenError as e:
        if server is not None:
            server.stop()
        if e.busy:
            raise _held_port(e.port, what, key)
        raise ListenPortError("%s; %s" % (e, _change(key)))
    return server, feed_server


def _change(key):
    return "change \"%s\" in config.json%s" % (key, " (0: no feed)" if key == "feed_port" else "")


def _held_port(port, what, key):
    """The one line for a port another program holds: which, for what, and the key that moves it."""
    return ListenPortError("port %d (%s) is already in use: is another pandascreen running? Or %s"
                           % (port, what, _change(key)))


def open_fleet_store(cfg, store_path, device, say=print):
    """The fleet store beside the festival store, guarded by the festival group (a demo's
    trust_anyone group lets any key report); None (said) when it cannot open."""
    from pandascreen.core import auth
    from pandascreen.core.store import IngestError
    from pandascreen.node import fleet_report
    try:
        return fleet_report.open_fleet_store(store_path, device.controller.authorizer or auth.from_config(cfg),
                                             log=say)
    except IngestError as e:
        say("fleet: not reporting this screen's status: %s" % e)
        return None


class PeerWatch:
    """Wakes a screen's loop when its iroh node's festival peers come or go (the node's
    ``on_peers``): at once, so a peer that answers again says "synced" at once, and once more
    ALONE_AFTER after the last one went, so "alone since" is drawn then rather than at the next
    minute (core/controller.py decides what the footer says; this only wakes the loop)."""

    def __init__(self, wake):
        self.wake = wake
        self._timer = None

    def __call__(self, live):
        self.wake.set()
        self.stop()
        if not live:
            self._timer = threading.Timer(ALONE_AFTER + 1, self.wake.set)
            self._timer.daemon = True
            self._timer.start()

    def stop(self):
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()


def start_serving(cfg, base, device, stack, say=print):
    """Plain-TCP sync and the feed for boards (a port another program holds stops the screen in
    one line, before iroh starts), and the program page for phones."""
    server, feed_server = serve_boards(cfg, device.store, base, device, say)
    stack.callback(server.stop)
    if feed_server is not None:
        stack.callback(feed_server.stop)
    from pandascreen.node import program_page as program_page_mod  # the program for phones
    program_page = program_page_mod.start_for_screen(cfg, device, say)
    if program_page is not None:
        stack.callback(program_page.stop)
        device.page_url = program_page_mod.address_for_screen(cfg, program_page.port)
        device.program_page = program_page  # the device's loop says when the schedule changed


def close_fleet_store(device):
    if device.fleet_report is not None:
        device.fleet_report.store.close()


def start(cfg, base, store_path, device, stack, serve, once, say=print):
    """The whole network side of ``device`` (config folder ``base``), each part's stop left on
    ``stack``.  Pi screens speak iroh (p2panda-net 0.7, live) with peers written
    <node id>@host:port and, with ``serve``, accept peers; a plain host:port peer is a plain TCP
    peer.  Beside the festival log they sync the fleet log (status of the screens; not ``once``)
    and find peers on the LAN by mDNS (configured ones stay a fallback)."""
    if any(is_iroh_peer(p) for p in cfg["peer_addrs"]):
        device_seed(cfg, base)  # no key: one line before anything listens (iroh needs it for these peers)
    if serve and cfg["listen_port"]:
        start_serving(cfg, base, device, stack, say)
    stack.callback(close_fleet_store, device)  # after the node that syncs it has stopped
    node = start_iroh(cfg, device.store, base, device, serve=serve, fleet_beside=None if once else store_path, say=say)
    if node is None:
        return
    stack.callback(node.on_peers.stop)  # after the node stopped (last in, first out): it calls no more
    stack.callback(node.stop)
    if not once:
        from pandascreen.node.discovery import start_for_node
        mdns = start_for_node(node, say=say)
        if mdns is not None:
            stack.callback(mdns.stop)


