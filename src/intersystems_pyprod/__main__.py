"""``python -m intersystems_pyprod FILE``: same as the ``intersystems_pyprod`` command."""

import sys

from intersystems_pyprod.cli import main

sys.exit(main())
