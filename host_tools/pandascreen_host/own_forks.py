"""Tells the organiser, once for each, that a peer holds another history of the organiser's own
log: the laptop's store was lost and the program imported again with the same key (a new log
from seq_num 0), or a second ``serve`` runs with this key.  Screens keep the history they saw
first and refuse the other as a fork, so this laptop's changes stop reaching the screens that
hold the other one -- while everything else looks fine.  The store records every fork it refused
(core/store.py ``forks``); this turns the organiser's own into one line on ``serve``'s output."""

from pandascreen.core.util import hexlify

ADVICE = ("screens holding the other history refuse this laptop's changes: stop any other serve with this key, "
          "or restore this store from a backup")


class OwnForks:
    """``check()`` says each fork of ``key``'s logs in ``store`` not said yet."""

    def __init__(self, store, key, say):
        self.store = store
        self.key = bytes(key)
        self.say = say
        self._said = set(self._own())  # recorded before this start: said once, as such
        if self._said:
            say("warning: this store recorded %d fork(s) of this organiser's log %s before (the console lists them); "
                "if peers still hold the other history, %s" % (len(self._said), hexlify(self.key)[:16], ADVICE))

    def _own(self):
        return [(bytes(a), seq, bytes(kept), bytes(other)) for a, _log, seq, kept, other in list(self.store.forks)
                if bytes(a) == self.key]

    def check(self):
        for entry in self._own():
            if entry in self._said:
                continue
            self._said.add(entry)
            _, seq, kept, other = entry
            self.say("warning: a peer holds another history of this organiser's log %s (at seq_num %d: kept %s, "
                     "refused %s); %s" % (hexlify(self.key)[:16], seq, hexlify(kept)[:16], hexlify(other)[:16], ADVICE))
