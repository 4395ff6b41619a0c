"""pandascreen: a slim p2panda peer that shows a festival's live program on a small screen."""

__version__ = "0.1.0"
