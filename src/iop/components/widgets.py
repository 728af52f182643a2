"""Which editor a setting gets, read from its ``controls`` string (seed 001, "Control Helpers"),
and the checks a value edited with that editor must pass.

Pure metadata, shared by the portal (to draw the editor) and the clients (to validate a save),
so what the page offers and what a save accepts cannot disagree.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from urllib.parse import parse_qs

# Character sets offered by the character set editor: IRIS's names first, then common codecs.
CHARACTER_SETS = ("Native", "Binary", "UTF-8", "UTF-16", "Latin1", "cp1252", "ASCII",
                  "ISO-8859-15", "Shift_JIS", "EUC-JP", "GB18030", "Big5", "KOI8-R")
_IRIS_CHARSETS = {"native", "binary", "@utf8", "latin1", "rawbytes"}

# Framing choices of TCP adapters (IRIS's display list for Framing).
FRAMINGS = ("None", "Flexible", "MLLP", "MLLP11", "MLLP12", "AsciiLF", "AsciiCR", "AsciiCRLF",
            "LengthPrefix", "LittleEndian", "BigEndian")

_SCHEDULE_PART = re.compile(
    r"^(START|STOP)\s*:\s*[A-Z0-9*]+(-[A-Z0-9*]+){0,2}T\d{1,2}:\d{2}(:\d{2})?$", re.IGNORECASE)


@dataclass(frozen=True)
class Widget:
    """How a setting is edited. ``kind`` is one of: text, bool, number, json, directory, file,
    item, credentials, schedule, charset, framing, interface, rule, dtl, ssl, schema,
    search_table."""

    kind: str
    targets: bool = True  # item: only items that can receive messages (processes, operations)
    multi: bool = False  # item: several names, comma-separated
    context: str = ""  # the raw control string, shown as a hint for editors we cannot fill


_SIMPLE = {"directorySelector": "directory", "fileSelector": "file",
           "credentialsSelector": "credentials", "ruleSelector": "rule", "dtlSelector": "dtl",
           "scheduleSelector": "schedule", "sslConfigSelector": "ssl"}
_CONTEXTS = {"Ens.ContextSearch/CharacterSets": "charset",
             "Ens.ContextSearch/getDisplayList": "framing",
             "Ens.ContextSearch/TCPLocalInterfaces": "interface",
             "Ens.ContextSearch/SchemaCategories": "schema",
             "Ens.ContextSearch/SearchTableClasses": "search_table"}


def widget_for(control: str | None, python_type: str = "str", is_target: bool = False,
               category: str | None = None) -> Widget:
    """The editor for a setting with ``control`` (a controls helper's string), type and
    category."""
    if control:
        if control in _SIMPLE:
            return Widget(_SIMPLE[control], context=control)
        if control.startswith("selector?"):
            query = control[len("selector?"):]
            multi = "multiSelect=1" in query.split("context=")[0]
            found = re.search(r"context=\{([^}?]*)(?:\?([^}]*))?\}", query)
            if found:
                name, args = found.group(1), parse_qs(found.group(2) or "")
                if name == "Ens.ContextSearch/ProductionItems":
                    targets = (args.get("targets") or ["1"])[0] != "0"
                    return Widget("item", targets=targets, multi=multi, context=control)
                if name in _CONTEXTS:
                    return Widget(_CONTEXTS[name], context=control)
        return Widget("text", context=control)
    # pyprod's IRISProperty(settings="Target") names the category only; seed 002 has the
    # user pick the destination item in the portal, so it gets the item picker.
    if is_target or (category or "").strip().lower() == "target":
        return Widget("item")
    if python_type == "bool":
        return Widget("bool")
    if python_type in ("int", "float"):
        return Widget("number")
    if python_type in ("list", "dict"):
        return Widget("json")
    return Widget("text")


def check_schedule(text: str) -> str | None:
    """Why ``text`` is not a schedule (``@Name`` or ``START:…T08:00,STOP:…T17:00``), or None."""
    value = text.strip()
    if not value or re.fullmatch(r"@[\w.-]+", value):
        return None
    for part in value.split(","):
        if not _SCHEDULE_PART.match(part.strip()):
            return (f"{part.strip()!r} is not a schedule entry; write START:*-*-*T08:00:00 or "
                    "STOP:*-*-*T17:00:00 (comma-separated), or @ScheduleName")
    return None


def check_charset(text: str) -> str | None:
    """Why ``text`` is not a character set IRIS or Python knows, or None."""
    value = text.strip()
    if not value or value.lower() in _IRIS_CHARSETS:
        return None
    try:
        codecs.lookup(value.lstrip("@"))
    except LookupError:
        return f"{value!r} is not a known character set"
    return None


def item_names(text: str) -> list[str]:
    """The item names of a production-item setting's value (comma-separated)."""
    return [name.strip() for name in text.split(",") if name.strip()]
