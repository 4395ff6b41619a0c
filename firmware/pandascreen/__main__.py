import sys

from pandascreen.app import main

sys.exit(main())
