"""`python -m iop` runs the command line."""

import sys

from iop.cli.main import main

sys.exit(main())
