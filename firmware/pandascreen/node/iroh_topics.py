"""The topics an iroh node syncs beside the festival's (the screens' fleet log): when each is
dialled with a peer, and which peers it may be synced with.

Why its own module: the festival topic decides when a peer is reached (node/iroh_peers.py); the
other topics follow it, at every way a festival session begins (a sync, one still under way when
its caller stopped waiting, a redial) and when the festival group changes while one runs.  A
screen whose fleet topic was dialled at one of these only never reported to the laptop after
the others.  ``TopicFollower`` is a part of ``IrohNode`` (node/iroh_transport.py) and uses its
attributes (``subs``, ``links``, ``_no_topic``, ``_dialling``, ...).
"""

import time

from pandascreen.core.errors import SyncError
from pandascreen.core.util import hexlify
from pandascreen.node import liveness
from pandascreen.node.iroh_address import PeerAddr


class TopicFollower:
    """The other topics of an ``IrohNode`` follow its festival sessions."""

    def _other_topics(self, peer_spec, peer, timeout, new_session):
        """Sync the topics beside the festival's (the fleet's) with a peer whose festival session
        runs, in the background; each becomes wanted there.  Asked at each ``sync`` with the peer
        (a key the group added since is dialled then) and whenever a live festival session we
        dialled reaches its sync (``_festival_synced``): a first sync still under way when its
        caller stopped waiting, or a redial, has the group by then."""
        now = time.monotonic()
        for sub in self.subs[1:]:
            key = (sub.topic, peer.who)
            refused = self._no_topic.get(key)
            # a new festival session (the peer restarted), or refused long enough ago: ask again
            # (the refusal may have been a group that had not caught up yet)
            if refused is not None and (new_session or now - refused >= liveness.NO_TOPIC_AGAIN):
                del self._no_topic[key]
            if key not in self._no_topic and key not in self._dialling and not self._linked(sub, peer) \
                    and self._may_sync(sub, peer):
                self._spawn(self._sync_quietly(sub, peer_spec, peer, timeout))

    def _may_sync(self, sub, peer):
        """Whether the topic's guard lets us sync it with ``peer`` (core/fleet.FleetGuard: the
        festival group names it), and would let the peer sync it with us (the same group must
        name this node too).  Asked before dialling: either end would drop the session right
        after its topic handshake anyway (node/iroh_session.py), a QUIC handshake for nothing;
        at a festival whose screens are not in the group yet, every screen dialled the laptop's
        fleet topic so.  Asked at every ``sync`` with the peer (an mDNS find, the periodic sync of
        configured peers), so a key the group added since is dialled at the next one."""
        may_sync = getattr(sub.store.authorizer, "may_sync", None)
        return may_sync is None or (may_sync(self.node_id_bytes)
                                    and any(may_sync(node_id) for node_id in peer.node_ids))

    async def _sync_quietly(self, sub, peer_spec, peer, timeout):
        try:
            await self._sync_topic(sub, peer_spec, peer, timeout, background=True)
        except SyncError as e:
            if "redialling in the background" not in str(e):  # the redial says its own errors
                self._record_error("%s topic with %s: %s" % (sub.label, peer, e))

    def _listen_to_rights(self, on=True):
        """Hear (``on``) or stop hearing when the festival group's rights change: a key the group
        adds while a session runs (``group add`` after a screen went live) may sync the other
        topics now, and waiting for the next festival session would leave its status unsent."""
        listeners = getattr(self.subs[0].store.authorizer, "listeners", None)
        if listeners is None or len(self.subs) < 2:
            return
        if on and self._rights_changed not in listeners:
            listeners.append(self._rights_changed)
        elif not on and self._rights_changed in listeners:
            listeners.remove(self._rights_changed)

    def _rights_changed(self):
        """The group changed, in whatever thread stored it: look again on the node's loop."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._other_topics_of_live_peers)
            except RuntimeError:  # the loop stopped meanwhile
                pass

    def _other_topics_of_live_peers(self):
        for link in list(self.links):
            if not link.ended and link.session is not None and link.session.in_live_mode:
                self._festival_synced(link, new_session=False)

    def _festival_synced(self, link, new_session=True):
        """A live festival session we dialled reached its sync: the other topics with its peer."""
        if link.sub is self.subs[0] and link.dialled is not None and len(self.subs) > 1:
            peer = PeerAddr([link.remote_id], link.dialled.host, link.dialled.port)
            self._other_topics("%s@%s" % (hexlify(link.remote_id), peer.addr), peer,
                               self.timeout + self.connect_timeout, new_session=new_session)
