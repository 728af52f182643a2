"""Text forms of setting and attribute values, as the IRIS export shape stores them."""

from __future__ import annotations

from typing import Any

from iop.production.errors import ProductionError

__all__ = ["bool_text", "flag", "parse_bool", "parse_int", "setting_text"]


def setting_text(value: Any) -> str:
    """A setting value as stored: booleans as ``true``/``false`` (as IoP writes them), None as
    empty text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return bool_text(value)
    return value if isinstance(value, str) else str(value)


def bool_text(value: Any) -> str:
    """An item or production attribute flag as stored: ``true`` or ``false``; text such as
    ``yes``/``off`` is normalized the way IoP normalizes it."""
    if isinstance(value, str):
        lowered = value.strip().lower()
        return {"1": "true", "yes": "true", "on": "true",
                "0": "false", "no": "false", "off": "false"}.get(lowered, lowered)
    return "true" if value else "false"


def flag(value: Any) -> bool:
    """A flag given as a bool or as text (``true``, ``yes``, ``0``...)."""
    return bool_text(value) == "true" if isinstance(value, str) else bool(value)


def parse_bool(value: Any, default: bool, what: str) -> bool:
    """Read an exported flag (``true``/``false``/``1``/``0``); ``what`` names it in errors."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ProductionError(f"{what}: {value!r} is not true or false")


def parse_int(value: Any, default: int, what: str) -> int:
    """Read an exported integer; ``what`` names it in errors."""
    if value is None or value == "":
        return default
    try:
        return int(str(value).strip(), 10)
    except ValueError:
        raise ProductionError(f"{what}: {value!r} is not an integer") from None
