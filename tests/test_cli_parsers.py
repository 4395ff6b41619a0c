"""The ``pandascreen-host`` parser, pinned: every command's arguments, groups, defaults and help
texts, as recorded in golden/cli_parsers.json.  Each command builds its own parser next to its
``run``; this is what proves that moving a parser between modules changed nothing a user sees.

The record is argparse's own description of each argument (not the rendered --help text, whose
wrapping differs between Python versions), so --help and what a command line parses to are fixed
by it.  After a deliberate change to an option, rewrite the record:
``PANDASCREEN_PIN_PARSERS=1 python -m pytest tests/test_cli_parsers.py``."""

import argparse
import json
import os

from pandascreen_host.cli import build_parser, main

PINNED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "cli_parsers.json")


def _value(v):
    if callable(v):
        return "<%s>" % getattr(v, "__name__", type(v).__name__)
    if isinstance(v, (list, tuple)):
        return [_value(x) for x in v]
    return v


def _action(a):
    return {"kind": type(a).__name__, "options": list(a.option_strings), "dest": a.dest, "nargs": a.nargs,
            "const": _value(a.const), "default": _value(a.default), "type": _value(a.type),
            "choices": None if a.choices is None or isinstance(a.choices, dict) else _value(list(a.choices)),
            "required": a.required, "help": a.help, "metavar": _value(a.metavar)}


def describe(parser):
    """Everything argparse knows about ``parser`` and its subcommands, as JSON-able data."""
    out = {"prog": parser.prog, "usage": parser.usage, "description": parser.description,
           "epilog": parser.epilog, "formatter": parser.formatter_class.__name__,
           "allow_abbrev": parser.allow_abbrev, "add_help": parser.add_help,
           "groups": [{"title": g.title, "description": g.description,
                       "actions": [_action(a) for a in g._group_actions]} for g in parser._action_groups],
           "exclusive": [{"required": g.required, "dests": [a.dest for a in g._group_actions]}
                         for g in parser._mutually_exclusive_groups],
           "order": [a.dest for a in parser._actions],  # the usage line's order
           "commands": {}}
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            out["commands"] = {name: describe(p) for name, p in a.choices.items()}
            out["command_help"] = [(c.dest, c.help, c.metavar) for c in a._choices_actions]
    return out


def test_every_command_keeps_its_arguments_and_help():
    got = json.loads(json.dumps(describe(build_parser())))
    if os.environ.get("PANDASCREEN_PIN_PARSERS"):
        with open(PINNED, "w", encoding="utf-8") as fh:
            json.dump(got, fh, indent=1, sort_keys=True)
            fh.write("\n")
    with open(PINNED, encoding="utf-8") as fh:
        pinned = json.load(fh)
    assert sorted(got["commands"]) == sorted(pinned["commands"])
    for name in pinned["commands"]:
        assert got["commands"][name] == pinned["commands"][name], name
    assert got == pinned


def test_the_record_covers_every_command_and_option():
    """A record that missed a command or an option could not fail: check it holds them all."""
    with open(PINNED, encoding="utf-8") as fh:
        pinned = json.load(fh)
    assert sorted(pinned["commands"]) == ["boards", "flash", "group", "import", "preview", "provision", "serve"]
    options = [o for g in pinned["commands"]["provision"]["groups"] for a in g["actions"] for o in a["options"]]
    assert "--wifi-psk-file" in options and "--bundle-cache" in options and len(options) > 30


def test_help_of_every_command_exits_0(capsys):
    assert main(["--help"]) == 0
    listing = capsys.readouterr().out
    for name in ("boards", "provision", "flash", "preview", "import", "serve", "group"):
        assert name in listing
        assert main([name, "--help"]) == 0
        assert capsys.readouterr().out.startswith("usage: pandascreen-host %s " % name)
