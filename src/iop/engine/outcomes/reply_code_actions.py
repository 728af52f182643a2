"""ReplyCodeActions: what a business operation does with a failed or empty reply.

The setting uses IRIS's syntax, a comma-separated list of ``<code>=<actions>`` or
``(<code>,<code>)=<actions>``:

* codes: ``E`` any error, ``E#<status>`` an error with that status code (an exception's
  ``code`` / ``status_code`` attribute, or ``#<status>`` in its text as in ``ERROR #6301``),
  ``E*<text>`` an error whose text contains ``<text>``, ``X`` no reply message at all,
  ``*`` any error or missing reply not matched otherwise; and IRIS's HL7 codes
  ``:<pattern>`` (``:?R``, ``:AE``, ``:*``, ``:~``), matched with ``?``/``*`` wildcards
  against an error's code, which an HL7 operation sets to the peer's MSA-1
  (``iop.connectors.hl7.hl7_operations``);
* actions, alone or combined: ``C`` completed OK, ``W`` log a warning (completed OK unless
  another action applies), ``R`` retry every RetryInterval until FailureTimeout, then fail
  unless ``S`` or ``D`` is also given, ``S`` suspend the message, ``D`` disable the item and
  put the message back in its queue, ``F`` fail with an error.

As in IRIS, every matching rule whose actions are only ``W`` logs its warning; of the
others the first (left to right) that matches decides. With no rule matching, an error
fails (``F``) and an empty reply completes (``C``).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from iop.engine.errors import EngineError

_ACTIONS = frozenset("CWRSDF")
_STATUS_IN_TEXT = re.compile(r"#\s*([A-Za-z0-9<>_.]+)")


class BadReplyCodeActions(EngineError):
    """The ReplyCodeActions setting cannot be parsed."""


@dataclass(frozen=True)
class Failure:
    """What a handler produced that the rules look at."""

    error: str | None  # the error text, None for success
    code: str | None = None  # an explicit status code, when the error carries one
    has_reply: bool = True

    def status_codes(self) -> set[str]:
        codes = {m.group(1) for m in _STATUS_IN_TEXT.finditer(self.error or "")}
        if self.code is not None:
            codes.add(str(self.code))
        return codes


@dataclass(frozen=True)
class Decision:
    """The actions that apply to one reply, plus the warnings to log."""

    actions: str
    warnings: tuple[str, ...] = ()

    @property
    def retry(self) -> bool:
        return "R" in self.actions

    @property
    def suspend(self) -> bool:
        return "S" in self.actions

    @property
    def disable(self) -> bool:
        return "D" in self.actions

    @property
    def completes(self) -> bool:
        """Treated as completed OK: only C and W (or nothing) apply."""
        return not (set(self.actions) & set("RSDF"))

    def final(self) -> str:
        """What happens once retrying is over, or at once without R: C, S, D or F."""
        for action in "SDF":
            if action in self.actions:
                return action
        return "F" if self.retry else "C"


@dataclass(frozen=True)
class _Rule:
    codes: tuple[str, ...]
    actions: str
    text: str

    def matches(self, failure: Failure) -> bool:
        return any(_code_matches(code, failure) for code in self.codes)


def _code_matches(code: str, failure: Failure) -> bool:
    if code == "X":
        return failure.error is None and not failure.has_reply
    if code == "*":
        return failure.error is not None or not failure.has_reply
    if failure.error is None:
        return False
    if code == "E":
        return True
    if code.startswith("E#"):
        return code[2:] in failure.status_codes()
    if code.startswith("E*"):
        return code[2:].lower() in failure.error.lower()
    if code.startswith(":"):
        # IRIS's HL7 codes: MSA-1 of a negative ACK, the error's code (HL7NackError); ?
        # stands for one character, * for any code, ~ for a reply without MSA-1.
        return failure.code is not None and fnmatch.fnmatchcase(failure.code, code[1:])
    return False


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise BadReplyCodeActions(f"ReplyCodeActions {text!r}: unbalanced ')'")
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if depth:
        raise BadReplyCodeActions(f"ReplyCodeActions {text!r}: unbalanced '('")
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _check_code(code: str, whole: str) -> str:
    if code in ("E", "X", "*") or (code[:2] in ("E#", "E*") and len(code) > 2):
        return code
    if code.startswith(":") and len(code) > 1:
        return code
    raise BadReplyCodeActions(f"ReplyCodeActions {whole!r}: unknown reply code {code!r} "
                              "(expected E, E#<status>, E*<text>, X, * or :<ACK code>)")


class ReplyCodeActions:
    """The parsed setting of one item."""

    def __init__(self, text: str | None) -> None:
        self.text = (text or "").strip()
        self.rules: list[_Rule] = []
        for entry in _split_top_level(self.text):
            left, sep, right = entry.partition("=")
            if not sep:
                raise BadReplyCodeActions(f"ReplyCodeActions {self.text!r}: {entry!r} has no "
                                          "'=<actions>'")
            left, actions = left.strip(), right.strip().upper()
            if not actions or set(actions) - _ACTIONS:
                raise BadReplyCodeActions(f"ReplyCodeActions {self.text!r}: actions {right!r} "
                                          "must be letters among C, W, R, S, D, F")
            if left.startswith("(") and left.endswith(")"):
                codes = tuple(_check_code(c.strip(), self.text)
                              for c in left[1:-1].split(",") if c.strip())
            else:
                codes = (_check_code(left, self.text),)
            self.rules.append(_Rule(codes, actions, entry))

    def decide(self, failure: Failure) -> Decision:
        warnings = []
        for rule in self.rules:
            if not rule.matches(failure):
                continue
            if set(rule.actions) == {"W"}:
                warnings.append(rule.text)
                continue
            if "W" in rule.actions:
                warnings.append(rule.text)
            return Decision(rule.actions.replace("W", "") or "C", tuple(warnings))
        if warnings:
            return Decision("C", tuple(warnings))
        return Decision("F" if failure.error is not None else "C")
