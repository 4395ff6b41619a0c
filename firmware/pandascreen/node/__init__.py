"""The Raspberry Pi peer (CPython): SQLite store, transport, displays, buttons, app, installer."""
