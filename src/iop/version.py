"""The package's version, at the bottom of the layers so that any layer (the server's API
description, ``iop --version``) can read it without importing the public facade."""

__version__ = "0.1.0"
