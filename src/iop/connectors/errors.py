"""Errors of the connectors."""

from __future__ import annotations

from iop.errors import ConnectorError

__all__ = ["ConnectorError", "MissingLibrary"]


class MissingLibrary(ConnectorError):
    """A connector's client library is not installed; the message names the pip extra."""


def require(module: str, extra: str) -> object:
    """Import ``module`` (a connector's client library) or raise MissingLibrary naming the
    extra that installs it: ``pip install 'iop-engine[<extra>]'``."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingLibrary(f"this connector needs the Python package {module.split('.')[0]}: "
                             f"pip install 'iop-engine[{extra}]'") from exc
