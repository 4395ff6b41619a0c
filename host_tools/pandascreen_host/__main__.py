"""``python -m pandascreen_host`` = ``pandascreen-host``."""

import sys

from pandascreen_host.cli import main

if __name__ == "__main__":
    sys.exit(main())
