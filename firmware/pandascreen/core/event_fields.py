# The one list of event fields (core/schema.py takes it from here and validates bodies by it).
#
# WHY a module of its own: a satellite board draws with core/layout.py, which reads the "view"
# names, but never loads core/schema.py (validation it does not run); this is all of the list a
# board's heap holds.  Tuples and no classes: it runs unchanged under MicroPython.

TEXT = "str"
NUMBER = "int"
TEXT_LIST = "[str]"
MAX_TEXT = 1000  # characters in one text (a title, a speaker's name)

# The one list of event fields: each said once, with where it goes besides the store.
#   name, type, limit (the most an importer keeps: characters of text, entries of a list),
#   where:
#     "import"   the importers read it from schedule files and a re-import diffs it
#                (pandascreen_host/importers)
#     "view"     a view's now/next carries it (core/layout.py build_view) for drawing and words
#     "key"      a change to it redraws an e-paper panel (core/refresh.py content_key)
#     "console"  the console's program list carries it (pandascreen_host/console/state.py)
#     "feed"     the satellite feed carries it; the feed's event is a fixed [start, end, title,
#                speakers] that deployed boards check item by item, so a new field cannot go
#                there without a new feed format (tests/test_event_fields.py holds this)
#   A new field is optional: deployed screens ignore it (core/schema.py), and its empty value
#   ("", 0, ()) is what an event shows until an operation sets it.
EVENT_FIELDS = (
    ("venue", TEXT, MAX_TEXT, ("import", "console")),
    ("title", TEXT, MAX_TEXT, ("import", "view", "key", "console", "feed")),
    ("start", NUMBER, 0, ("import", "console", "feed")),
    ("end", NUMBER, 0, ("import", "console", "feed")),
    ("speakers", TEXT_LIST, 20, ("import", "view", "key", "feed")),
    ("track", TEXT, MAX_TEXT, ("import", "view")),
    ("lang", TEXT, MAX_TEXT, ("import", "view")),
    ("status", TEXT, MAX_TEXT, ("import", "view", "key")),
)
EMPTY = {TEXT: "", NUMBER: 0, TEXT_LIST: ()}


def event_fields(where=None):
    # names of the event fields that go to ``where`` ("import", "view", "key", "console",
    # "feed"; None: all), in EVENT_FIELDS order
    return tuple(f[0] for f in EVENT_FIELDS if where is None or where in f[3])
