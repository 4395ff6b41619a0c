import sys

from pandascreen.node.app import main

sys.exit(main())
