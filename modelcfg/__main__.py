"""
``python -m modelcfg``: the command line.
"""

import sys

from modelcfg._cli import main

sys.exit(main())
