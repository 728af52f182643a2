"""Conditions on message body fields (``amount > 500``, ``status = "X"``), as the message
viewer's extended search takes them, and the SQL that tests them on both backends.

A condition is a field path, an operator and a value. The path is validated here (names and
``[n]`` indexes only) and, like the value, reaches the database as a bound parameter: only the
whitelisted operators are ever written into the SQL text. A number compares as a number
(``amount > 500`` matches 900 but not "900"); any other value compares as text.

Bodies are JSON documents (see DESIGN.md); a PersistentMessage's fields are the same JSON
object's fields, so one test serves both.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

# Operators, longest first so "<=" is not read as "<" followed by "=".
OPERATORS = ("contains", "!=", "<=", ">=", "=", "<", ">")
MAX_CONDITIONS = 10
MAX_PATH_PARTS = 8
MAX_TEXT = 1000

_NAME = r"[A-Za-z_][A-Za-z0-9_]{0,99}"
_PATH = re.compile(rf"{_NAME}(?:\[\d{{1,6}}\])*(?:\.{_NAME}(?:\[\d{{1,6}}\])*)*")
_PART = re.compile(rf"({_NAME})|\[(\d+)\]")
_CONDITION = re.compile(
    r"^\s*(?P<path>\S+?)\s*(?P<op>!=|<=|>=|=|<|>|\s+contains\s+)\s*(?P<value>.*?)\s*$",
    re.IGNORECASE | re.DOTALL)
_BARE = re.compile(r"[A-Za-z0-9_.:@/+-][A-Za-z0-9_.:@/+-]*")
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class Condition:
    """One test on a body field: ``path`` (names and list indexes), an operator of
    :data:`OPERATORS`, and the value (a number, a text, a boolean, or None for null)."""

    path: tuple[str | int, ...]
    op: str
    value: float | int | str | bool | None

    def __str__(self) -> str:
        text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path)[1:]
        return f"{text} {self.op} {json.dumps(self.value)}"


def parse_path(text: str) -> tuple[str | int, ...]:
    """``a.b[2].c`` as ("a", "b", 2, "c"); ValueError for anything else."""
    if not _PATH.fullmatch(text):
        raise ValueError(f"field {text[:60]!r} is not a field path (write names joined by "
                         "dots, with [n] for a list item, e.g. order.lines[0].sku)")
    parts: list[str | int] = []
    for name, index in _PART.findall(text):
        parts.append(name if name else int(index))
    if len(parts) > MAX_PATH_PARTS:
        raise ValueError(f"field {text[:60]!r} is deeper than {MAX_PATH_PARTS} levels")
    return tuple(parts)


def _value(text: str, op: str) -> float | int | str | bool | None:
    if text.startswith('"'):
        try:
            value = json.loads(text)
        except ValueError:
            raise ValueError(f"value {text[:60]} is not a closed \"quoted\" text") from None
        if not isinstance(value, str):
            raise ValueError(f"value {text[:60]} is not a closed \"quoted\" text")
        return value
    if op == "contains":
        return text
    if _NUMBER.fullmatch(text):
        number = float(text)
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(f"value {text[:60]} is not a finite number")
        return int(text) if re.fullmatch(r"-?\d{1,18}", text) else number
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    if not _BARE.fullmatch(text):
        raise ValueError(f"value {text[:60]} is not a number, true, false, null, a single word "
                         "or a \"quoted\" text")
    return text  # a bare word is a text: status = shipped


def parse_condition(text: str) -> Condition:
    """One condition written as ``field op value``; ValueError names what is wrong."""
    line = text.strip()
    if len(line) > MAX_TEXT:
        raise ValueError(f"a condition is longer than {MAX_TEXT} characters")
    found = _CONDITION.match(line)
    if not found:
        raise ValueError(f"condition {line[:60]!r} is not 'field operator value' "
                         f"(operators: {', '.join(OPERATORS)}; e.g. amount > 500)")
    op = found["op"].strip().lower()
    value_text = found["value"]
    if value_text == "":
        raise ValueError(f"condition {line[:60]!r} has no value after {op!r}")
    value = _value(value_text, op)
    if value is None and op not in ("=", "!="):
        raise ValueError(f"condition {line[:60]!r}: null can only be compared with = or !=")
    if isinstance(value, bool) and op not in ("=", "!="):
        raise ValueError(f"condition {line[:60]!r}: true/false can only be compared with = "
                         "or !=")
    if op == "contains" and value == "":
        raise ValueError(f"condition {line[:60]!r}: contains needs a text")
    return Condition(parse_path(found["path"]), op, value)


def parse_conditions(text: str) -> tuple[Condition, ...]:
    """Conditions one per line (all must hold); blank lines are skipped."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    if len(lines) > MAX_CONDITIONS:
        raise ValueError(f"at most {MAX_CONDITIONS} conditions, got {len(lines)}")
    return tuple(parse_condition(line) for line in lines)


# ------------------------------------------------------------------ SQL, per backend

def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number" if isinstance(value, (int, float)) else "string"


def sqlite_terms(conditions: tuple[Condition, ...]) -> tuple[list[str], list[Any]]:
    """WHERE terms on ``b.data`` (SQLite's JSON functions) and their args."""
    terms: list[str] = []
    args: list[Any] = []
    kinds = {"number": "IN ('integer', 'real')", "string": "= 'text'",
             "boolean": "IN ('true', 'false')", "null": "= 'null'"}
    for c in conditions:
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f'."{p}"' for p in c.path)
        kind = _json_kind(c.value)
        typed = "json_type(b.data, ?)"
        value = f"CASE WHEN {typed} {kinds[kind]} THEN json_extract(b.data, ?) END"
        if kind == "null":
            terms.append(f"{typed} = 'null'" if c.op == "=" else
                         f"{typed} IS NOT NULL AND {typed} != 'null'")
            args += [path] if c.op == "=" else [path, path]
        elif c.op == "contains":
            terms.append(f"{value} LIKE ? ESCAPE '\\'")
            args += [path, path, _like_pattern(str(c.value))]
        else:
            terms.append(f"{value} {c.op} ?")
            args += [path, path, int(c.value) if isinstance(c.value, bool) else c.value]
    return terms, args


def sqlite_body_exists(conditions: tuple[Condition, ...]) -> tuple[str, list[Any]]:
    """An EXISTS term testing every condition on the header's body (SQLite)."""
    terms, args = sqlite_terms(conditions)
    # json_valid first, in its own CASE: the JSON functions raise on a body that is not JSON.
    return ("EXISTS (SELECT 1 FROM bodies b WHERE b.id = h.body_id AND CASE WHEN "
            f"json_valid(b.data) THEN ({' AND '.join(terms)}) ELSE 0 END)"), args


def postgres_body_exists(conditions: tuple[Condition, ...]) -> tuple[str, list[Any]]:
    """An EXISTS term testing every condition on the header's body (PostgreSQL jsonb; the
    body's text becomes jsonb once per row, and only when it looks like a JSON object)."""
    terms: list[str] = []
    args: list[Any] = []
    casts = {"number": "numeric", "boolean": "boolean", "string": "text"}
    for c in conditions:
        path = [str(p) for p in c.path]
        kind = _json_kind(c.value)
        typed = "jsonb_typeof(x.j #> %s::text[])"
        if kind == "null":
            terms.append(f"{typed} = 'null'" if c.op == "=" else
                         f"{typed} IS NOT NULL AND {typed} != 'null'")
            args += [path] if c.op == "=" else [path, path]
            continue
        value = f"CASE WHEN {typed} = '{kind}' THEN (x.j #>> %s::text[])::{casts[kind]} END"
        if c.op == "contains":
            terms.append(f"{value} ILIKE %s ESCAPE '\\'")
            args += [path, path, _like_pattern(str(c.value))]
        else:
            terms.append(f"{value} {c.op} %s")
            operand = c.value
            args += [path, path, operand]
    # jsonb refuses the NUL character (JSON's \u0000) that text allows: such a body is
    # never cast, so it fails the conditions instead of failing the search.
    sql = ("EXISTS (SELECT 1 FROM bodies b CROSS JOIN LATERAL (SELECT CASE WHEN b.data ~ "
           "'^\\s*\\{' AND strpos(b.data, '\\u0000') = 0 THEN b.data::jsonb END AS j) x "
           "WHERE b.id = h.body_id AND "
           f"{' AND '.join(terms)})")
    return sql, args
