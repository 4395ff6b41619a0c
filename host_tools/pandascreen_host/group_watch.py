"""serve's festival group kept current with what other programs write into its store.

WHY: ``pandascreen-host group add`` (the command a screen outside the group names in its log)
and ``provision --store`` write the group operation through their own handle on the file while
serve runs.  serve's authorizer learns of operations as its own handle stores them, so it would
never name that screen: its fleet topic would refuse the screen and hold the screen's status.
"""


class GroupWatch:
    """``check()`` (serve's loop, every second or so): when the store's version moved, the group
    operations stored since that the authorizer does not know yet are observed; True when that
    changed someone's rights."""

    def __init__(self, store, authorizer, log_id):
        self.store = store
        self.authorizer = authorizer
        self.log_id = log_id
        self.seen = store.version

    def check(self):
        version = self.store.version
        if version == self.seen:
            return False
        ops = self.store.operations_since(self.seen, self.log_id)
        if ops is None:  # a prune dropped part of what changed since: look at the whole log
            ops = self.store.pages(self.log_id)
        self.seen = version
        return self.authorizer.catch_up(ops)
