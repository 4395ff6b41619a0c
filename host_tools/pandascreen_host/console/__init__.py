"""The organiser's console: every screen and the program at a glance in a laptop browser.

WHY: an organiser with ten screens on a site cannot walk to each to see whether it is alive
and what it shows.  ``state.Console`` turns the festival store and the fleet log
(core/fleet.py) into one JSON snapshot and renders each screen's picture with the screens'
own code (node/display.py); ``edits`` checks and publishes a move/retitle/cancel signed with
the organiser key; ``server`` serves the page (static/), the snapshot as server-sent events,
the PNGs and the edit form on 127.0.0.1 unless told otherwise (a LAN bind needs a token);
``request_guard`` keeps other web pages out (own Host/Origin, a secret per edit, bounded bodies).
"""
