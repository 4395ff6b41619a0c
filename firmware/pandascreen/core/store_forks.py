"""The forks a store saw: evidence for the organiser, and whether an author's changes stop arriving.

A log is a chain, so a store keeps the branch of an author's log it saw first and refuses the
other.  Then the author signed two operations at one place in its log (a second laptop with the
organiser's key, or the laptop's store lost and the program imported again): the organiser
should know (``forks``, the console's notes), and a screen should say that this author's changes
made on the other history do not arrive here (``forked``).  A mixin of ``core/store.BaseStore``,
in a module of its own to keep that one small; runs on MicroPython too.
"""

MAX_FORKS = 32  # forks a store remembers for the organiser (the newest)


def log_key(log_id):
    return b"" if log_id is None else bytes(log_id)


class ForkRecord:
    # forks seen: [(author, log_id, seq_num, kept hash, other hash)], the newest MAX_FORKS.
    # A log is a chain, so the store keeps the branch it saw first and refuses the other;
    # the author signed two operations at one place in its log, and the organiser should know.
    forks = ()
    # {(author, log key): the seq_num its log held here when another history was last offered}
    # (the newest MAX_FORKS logs), for ``forked``
    fork_held = None

    def _fork(self, op, seq, kept, other):
        held = self.latest(op.public_key, op.log_id)
        if self.fork_held is None:
            self.fork_held = {}
        key = (bytes(op.public_key), log_key(op.log_id))
        self.fork_held.pop(key, None)
        self.fork_held[key] = -1 if held is None else held.seq_num
        while len(self.fork_held) > MAX_FORKS:
            for oldest in self.fork_held:  # CPython: the oldest; MicroPython: any
                del self.fork_held[oldest]
                break
        entry = (op.public_key, log_key(op.log_id), seq, bytes(kept), bytes(other))
        if entry in self.forks:
            return
        if not self.forks:
            self.forks = []
        self.forks.append(entry)
        if len(self.forks) > MAX_FORKS:
            self.forks.pop(0)

    def forked(self, authors, log_id):
        """Whether another history of one of ``authors``' ``log_id`` logs was offered here and
        that log has not grown since: this store refuses the other history, so that author's
        changes made on it do not arrive."""
        if not self.fork_held:
            return False
        log = log_key(log_id)
        for author in authors:
            then = self.fork_held.get((bytes(author), log))
            if then is not None:
                held = self.latest(author, log_id)
                if held is None or held.seq_num <= then:
                    return True
        return False
