"""A venue keeps its id from one import of a festival to the next.

WHY: a screen at a venue's entrance is provisioned with its id (``--home-venue``) and every talk
names it, but a schedule file names rooms only by their names (frab, iCal, CSV), and the ids an
import makes come from those names (``common.slug``).  Read alone, a file cannot tell a room added
above the others, or a room renamed, from new rooms: the screens would show another hall, or
mark every talk "moved".  So the file's venues are matched with what the festival held before
(the last import's record and the store): by name first; then a name the festival did not have
whose talks (by their ids) mostly sat in one venue whose name the file no longer has is that venue
renamed; any other venue is new and takes an id no venue had before.
"""

from collections import Counter


def keep_venue_ids(new, *before):
    """``new`` (a neutral schedule, ``importers.load``) with its venues' ids those of ``before``
    (neutral schedules, the last import's first; None skipped) where they are the same venue, and
    the lines that say which were renamed."""
    names_of, held = {}, {}
    for old in before:
        for v in (old or {}).get("venues") or ():
            names_of.setdefault(v["id"], []).append(v["name"])
        for e in (old or {}).get("events") or ():
            held.setdefault(e["id"], e.get("venue"))
    if not names_of:
        return new, []
    names = set(v["name"] for v in new["venues"])
    mapping, taken = {}, set()
    for old in before:  # by name: the last import's names first, then the store's (a console rename)
        for v in (old or {}).get("venues") or ():
            for mine in new["venues"]:
                if mine["name"] == v["name"] and mine["id"] not in mapping and v["id"] not in taken:
                    mapping[mine["id"]] = v["id"]
                    taken.add(v["id"])
    gone = set(vid for vid, old_names in names_of.items() if not names.intersection(old_names)) - taken
    said = []
    for v in new["venues"]:
        if v["id"] in mapping:
            continue
        talks = [e["id"] for e in new["events"] if e.get("venue") == v["id"]]
        were = Counter(held[t] for t in talks if held.get(t) in gone).most_common(1)
        if were and 2 * were[0][1] > len(talks):
            mapping[v["id"]] = were[0][0]
            gone.discard(were[0][0])
            said.append("%s is now called %s: the same venue (its talks are the same), its id %s kept"
                        % (names_of[were[0][0]][0], v["name"], were[0][0]))
        else:
            vid, n = v["id"], 2
            while vid in names_of or vid in taken:
                vid, n = "%s-%d" % (v["id"], n), n + 1
            mapping[v["id"]] = vid
        taken.add(mapping[v["id"]])
    venues = [dict(v, id=mapping[v["id"]]) for v in new["venues"]]
    events = [dict(e, venue=mapping.get(e.get("venue"), e.get("venue"))) for e in new["events"]]
    return dict(new, venues=venues, events=events), said
