"""Peers a test cuts off and brings back: ``transport(peer)`` is a controller's sync with one
configured peer (it returns, or raises like an unreachable host), ``found()`` names the peers in
live sessions found by other means (mDNS), as core/controller.py takes them."""


class FakePeers:
    """``configured``: the peers a screen's config lists (all answering at first); ``found``: the
    peers live by other means.  ``live=True``: a sync leaves a live session (iroh), which
    ``found()`` lists too and the sync's stats say (``"live"``); else it is a one-off (plain TCP).
    ``cut()`` makes every one unreachable, ``heal()`` brings them back."""

    def __init__(self, configured=(), found=(), live=False):
        self.configured = list(configured)
        self.answering = set(self.configured)
        self.live = list(found) + (list(self.configured) if live else [])
        self.sessions = live
        self._cut = None

    def transport(self, peer):
        if peer not in self.answering:
            raise OSError("%s: no route to host" % (peer,))
        return {"ops_new": 0, "live": self.sessions}

    def found(self):
        return list(self.live)

    def cut(self):
        self._cut = (set(self.answering), list(self.live))
        self.answering, self.live = set(), []

    def heal(self):
        if self._cut is not None:
            self.answering, self.live = self._cut
            self._cut = None
