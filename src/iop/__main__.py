"""`python -m iop` runs the command line."""

from iop.cli.main import main

main()
