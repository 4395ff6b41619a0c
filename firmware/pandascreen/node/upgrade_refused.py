"""The name of the file in which ``pandascreen-install`` says why it kept the running venv instead
of installing a damaged bundle: written by the installer (node/install.py), shown by the screen
(node/app.py).  A module of its own so that the screen does not load the installer (and what it
imports to copy, hash and run pip) to read one name."""

REFUSED_NAME = "upgrade-refused"  # in /var/lib/pandascreen
