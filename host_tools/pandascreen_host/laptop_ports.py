"""The ports ``serve`` listens on by default, none of them a screen's.

WHY: an organiser may run a screen beside serve on one machine (a Pi at the info desk that is
both, a laptop trying a screen out).  A screen takes UDP and TCP 2026 (config ``listen_port``),
TCP 8026 (the satellites' feed, core/feed.FEED_PORT) and TCP 8027 (the phones' program page,
node/program_page.PORT) by default, so serve's defaults are other ports.  ``--feed`` has no
default: boards look for the feed on FEED_PORT, and on a machine that is also a screen, the
screen serves it.
"""

IROH = 2025  # UDP: iroh sync with screens and other laptops (--listen)
PROGRAM_PAGE = 8025  # the phones' program page (--program-page)
CONSOLE = 8028  # the organiser's console (--console), on 127.0.0.1 unless told otherwise
