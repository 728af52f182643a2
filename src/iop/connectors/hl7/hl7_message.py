"""EnsLib.HL7.Message: an HL7 v2 message in ER7 (pipe-and-hat) form.

The message is kept as its segments' text; fields are split only when a path is read or
written, so a message passed through unedited is stored and sent byte for byte as it came
(segments joined with ``\\r``; ``\\n`` and ``\\r\\n`` between segments are accepted on input
and become ``\\r``). Escape sequences (``\\F\\``, ``\\S\\``, ...) are left as they are.

**Paths** follow IRIS's virtual property syntax, numbers only (no schema names):

* ``"PID"`` the whole segment; ``"PID:5"`` a field; ``"PID:5.1"`` a component;
  ``"PID:5.1.2"`` a subcomponent;
* ``"PID:3(2).1"`` the second repetition of a field (``(*)`` counts them,
  ``(1)`` is the default);
* ``"OBX(2):5"`` the second OBX segment (``"OBX(*)"`` counts them); ``"3:5"`` the third
  segment, whatever its name;
* ``MSH:1`` is the field separator and ``MSH:2`` the encoding characters, as in HL7.

``GetValueAt(path)`` / ``SetValueAt(value, path)`` are IRIS's names; ``msg["PID:5.1"]``
(``msg["PID-5.1"]`` too, HL7's dash notation) reads and assigns the same paths.

**Stored** as its ER7 text: the body of an ``EnsLib.HL7.Message`` in the message store
is the raw message, not JSON (``_iop_encode_raw`` / ``_iop_decode_raw``, used by
``iop.messages.codec``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from iop.errors import MessageError
from iop.messages.base import Message
from iop.messages.codec import register_message_class

__all__ = ["HL7Error", "HL7Message", "Separators", "python_charset"]

_SEGMENT_BREAK = re.compile(r"\r\n|\r|\n")
_SEGMENT_NAME = re.compile(r"^[A-Z0-9]{3}$")
_PATH_PART = re.compile(r"^([^()]+)(?:\((\*|\d+)\))?$")


class HL7Error(MessageError):
    """Text that is not an HL7 v2 message, or a path that names nothing."""


@dataclass(frozen=True)
class Separators:
    """The five ER7 delimiters, from MSH-1 and MSH-2."""

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    @classmethod
    def of(cls, msh: str) -> Separators:
        """The separators an MSH segment declares: MSH-1, then MSH-2 (component, repetition,
        escape, subcomponent; the last two default to ``\\`` and ``&`` when absent)."""
        if len(msh) < 4 or not msh.startswith("MSH"):
            raise HL7Error("the message does not start with an MSH segment")
        field = msh[3]
        encoding = msh[4:].split(field, 1)[0]
        if len(encoding) < 2 or field.isalnum() or field.isspace() \
                or any(ch.isalnum() or ch.isspace() for ch in encoding):
            raise HL7Error("MSH-1/MSH-2 do not hold valid separators")
        escape = encoding[2] if len(encoding) > 2 else "\\"
        subcomponent = encoding[3] if len(encoding) > 3 else "&"
        return cls(field, encoding[0], encoding[1], escape, subcomponent)

    @property
    def encoding(self) -> str:
        return self.component + self.repetition + self.escape + self.subcomponent


@dataclass
class HL7Message(Message):
    """EnsLib.HL7.Message: an HL7 v2 message; ``RawContent`` is its ER7 text."""

    RawContent: str = ""
    _iop_class_name: ClassVar[str] = "EnsLib.HL7.Message"

    def __post_init__(self) -> None:
        text = self.RawContent or ""
        self._doc_type: str | None = None
        self._trailing = bool(text) and text[-1] in "\r\n"
        lines = _SEGMENT_BREAK.split(text)
        if self._trailing:
            lines = lines[:-1]
        self._segments: list[str] = [line for line in lines if line != ""] if text else []
        if not self._segments:
            self.Separators = Separators()
            return
        self.Separators = Separators.of(self._segments[0])
        for seg in self._segments:
            if not _SEGMENT_NAME.match(seg[:3]) or (len(seg) > 3 and seg[3] != self.Separators.field):
                raise HL7Error(f"segment {seg[:20]!r} has no valid segment name")
        self._sync()

    # ------------------------------------------------------------ building and output
    @classmethod
    def ImportFromString(cls, text: str) -> HL7Message:
        """IRIS's name: the message parsed from its ER7 text (HL7Error when it is not)."""
        return cls(RawContent=text)

    def OutputToString(self) -> str:
        """The message's ER7 text, segments joined with ``\\r``."""
        return self.RawContent

    def _sync(self) -> None:
        self.RawContent = "\r".join(self._segments) + ("\r" if self._trailing else "")

    def _iop_encode_raw(self) -> str:
        return self.RawContent

    @classmethod
    def _iop_decode_raw(cls, text: str | None) -> HL7Message:
        return cls(RawContent=text or "")

    # ------------------------------------------------------------ what the message is
    @property
    def SegCount(self) -> int:
        return len(self._segments)

    def GetSegmentAt(self, index: int | str) -> str:
        """A segment's text by 1-based index or by name (the first of that name)."""
        position = self._segment_index(str(index), None)
        return self._segments[position] if position is not None else ""

    def SegmentNames(self) -> list[str]:
        return [seg[:3] for seg in self._segments]

    def segment_fields(self) -> list[tuple[str, list[str]]]:
        """Each segment's name and its fields by HL7 number (index 0 is the name, so
        ``fields[5]`` is PID-5; MSH-1 is the field separator): what a viewer lays out."""
        return [(seg[:3], self._fields(seg)) for seg in self._segments]

    @property
    def Name(self) -> str:
        """The message type, e.g. ``ADT_A01`` (MSH-9.1 ``_`` MSH-9.2)."""
        event = self.GetValueAt("MSH:9.2")
        code = self.GetValueAt("MSH:9.1")
        return f"{code}_{event}" if event else code

    @property
    def MessageType(self) -> str:
        return self.Name

    @property
    def TypeVersion(self) -> str:
        """MSH-12.1, the HL7 version the message says it follows."""
        return self.GetValueAt("MSH:12.1")

    @property
    def Identifier(self) -> str:
        """MSH-10, the message control ID."""
        return self.GetValueAt("MSH:10")

    @property
    def DocTypeCategory(self) -> str:
        return self.DocType.split(":", 1)[0] if ":" in self.DocType else ""

    @property
    def DocTypeName(self) -> str:
        return self.DocType.split(":", 1)[-1]

    @property
    def DocType(self) -> str:
        """``<category>:<structure>``, e.g. ``2.5:ADT_A01``: the category is the service's
        MessageSchemaCategory when it set one, else MSH-12; the structure MSH-9.3 when the
        message gives one, else the message type."""
        if self._doc_type:
            return self._doc_type
        structure = self.GetValueAt("MSH:9.3") or self.Name
        version = self.TypeVersion
        return f"{version}:{structure}" if version else structure

    @DocType.setter
    def DocType(self, value: str) -> None:
        self._doc_type = value or None

    def PokeDocType(self, value: str) -> None:
        """IRIS's name for setting DocType."""
        self.DocType = value

    def set_schema_category(self, category: str) -> None:
        """DocType with ``category`` (a service's MessageSchemaCategory) as its category."""
        if category:
            structure = self.GetValueAt("MSH:9.3") or self.Name
            self._doc_type = f"{category}:{structure}"

    # ------------------------------------------------------------ paths
    def GetValueAt(self, path: str) -> str:
        """The value at ``path`` ("" when absent); ``(*)`` gives a count."""
        seg_part, _, rest = str(path).partition(":")
        if seg_part.endswith("(*)") and not rest:
            name = seg_part[:-3]
            return str(sum(1 for s in self._segments if s[:3] == name))
        position = self._segment_index(seg_part, None)
        if position is None:
            return ""
        segment = self._segments[position]
        if not rest:
            return segment
        fields = self._fields(segment)
        steps = rest.split(".")
        field_no, repeat = self._field_step(steps[0], path)
        if field_no >= len(fields):
            return "0" if repeat == "*" else ""
        value = fields[field_no]
        if segment[:3] == "MSH" and field_no <= 1:
            return value  # MSH-1 and MSH-2 are the separators themselves
        sep = self.Separators
        repetitions = value.split(sep.repetition)
        if repeat == "*":
            return str(len(repetitions) if value else 0)
        if len(steps) == 1 and repeat is None:
            return value
        index = (repeat or 1) - 1
        if index >= len(repetitions):
            return ""
        value = repetitions[index]
        for depth, step in enumerate(steps[1:3]):
            number = self._number(step, path)
            parts = value.split(sep.component if depth == 0 else sep.subcomponent)
            value = parts[number - 1] if number <= len(parts) else ""
        if len(steps) > 3:
            raise HL7Error(f"path {path!r} goes deeper than a subcomponent")
        return value

    def SetValueAt(self, value: Any, path: str) -> None:
        """Set the value at ``path``, adding the segment, fields, repetitions or components
        it needs; a segment path (``"PID"``) replaces the whole segment."""
        text = "" if value is None else str(value)
        seg_part, _, rest = str(path).partition(":")
        position = self._segment_index(seg_part, path, create=True)
        assert position is not None
        if not rest:
            if not _SEGMENT_NAME.match(text[:3]):
                raise HL7Error(f"{text[:20]!r} is not a segment")
            self._segments[position] = text
            if position == 0:
                self.Separators = Separators.of(text)
            self._sync()
            return
        segment = self._segments[position]
        fields = self._fields(segment)
        steps = rest.split(".")
        field_no, repeat = self._field_step(steps[0], path)
        if repeat == "*":
            raise HL7Error(f"path {path!r}: (*) counts, it cannot be set")
        if segment[:3] == "MSH" and field_no <= 2:
            raise HL7Error("MSH-1 and MSH-2 (the separators) cannot be set by path")
        if len(steps) > 3:
            raise HL7Error(f"path {path!r} goes deeper than a subcomponent")
        while len(fields) <= field_no:
            fields.append("")
        sep = self.Separators
        if len(steps) == 1 and repeat is None:
            fields[field_no] = text
        else:
            repetitions = fields[field_no].split(sep.repetition)
            index = (repeat or 1) - 1
            while len(repetitions) <= index:
                repetitions.append("")
            repetitions[index] = _put(repetitions[index], steps[1:], text, sep, path)
            fields[field_no] = sep.repetition.join(repetitions)
        self._segments[position] = self._join(segment[:3], fields)
        self._sync()

    def __getitem__(self, path: str) -> str:
        return self.GetValueAt(_dash_path(path))

    def __setitem__(self, path: str, value: Any) -> None:
        self.SetValueAt(value, _dash_path(path))

    # ------------------------------------------------------------ helpers
    def _fields(self, segment: str) -> list[str]:
        """The segment's fields indexed by HL7 field number (0: the segment name)."""
        sep = self.Separators.field
        parts = segment.split(sep)
        if segment[:3] == "MSH":
            return ["MSH", sep, *parts[1:]]
        return parts

    def _join(self, name: str, fields: list[str]) -> str:
        sep = self.Separators.field
        if name == "MSH":
            return sep.join(["MSH", *fields[2:]])
        return sep.join(fields)

    def _segment_index(self, part: str, path: str | None, create: bool = False) -> int | None:
        match = _PATH_PART.match(part.strip())
        if not match:
            raise HL7Error(f"path {path or part!r} does not name a segment")
        name, count = match.group(1), match.group(2)
        if name.isdigit():
            index = int(name) - 1
            if 0 <= index < len(self._segments):
                return index
            if create:
                raise HL7Error(f"path {path!r}: there is no segment {name}")
            return None
        wanted = int(count) if count and count != "*" else 1
        seen = 0
        for index, seg in enumerate(self._segments):
            if seg[:3] == name:
                seen += 1
                if seen == wanted:
                    return index
        if not create:
            return None
        if not _SEGMENT_NAME.match(name):
            raise HL7Error(f"path {path!r}: {name!r} is not a segment name")
        if not self._segments and name != "MSH":
            raise HL7Error("a message starts with its MSH segment")
        for _ in range(wanted - seen):
            self._segments.append(name if name != "MSH" else "MSH" + "|" + Separators().encoding)
        return len(self._segments) - 1

    @staticmethod
    def _number(step: str, path: str) -> int:
        if not step.isdigit() or int(step) < 1:
            raise HL7Error(f"path {path!r}: {step!r} is not a position (1, 2, ...)")
        return int(step)

    def _field_step(self, step: str, path: str) -> tuple[int, Any]:
        match = _PATH_PART.match(step.strip())
        if not match or not match.group(1).isdigit():
            raise HL7Error(f"path {path!r}: {step!r} is not a field number")
        count = match.group(2)
        repeat: Any = None if count is None else ("*" if count == "*" else int(count))
        if isinstance(repeat, int) and repeat < 1:
            raise HL7Error(f"path {path!r}: repetitions count from 1")
        return int(match.group(1)), repeat

    def __repr__(self) -> str:
        return f"EnsLib.HL7.Message({self.DocType or '?'}, {self.SegCount} segments)"


def _put(value: str, steps: list[str], text: str, sep: Separators, path: str) -> str:
    if not steps:
        return text
    number = HL7Message._number(steps[0], path)
    parts = value.split(sep.component)
    while len(parts) < number:
        parts.append("")
    if len(steps) == 1:
        parts[number - 1] = text
    else:
        subs = parts[number - 1].split(sep.subcomponent)
        sub = HL7Message._number(steps[1], path)
        while len(subs) < sub:
            subs.append("")
        subs[sub - 1] = text
        parts[number - 1] = sep.subcomponent.join(subs)
    return sep.component.join(parts)


def python_charset(name: str) -> str:
    """IRIS's DefCharEncoding value (``Latin1``, ``UTF-8``, ``!UTF-8`` forced) as a codec."""
    text = (name or "Latin1").lstrip("!").strip().lower()
    return {"latin1": "latin-1", "utf8": "utf-8", "unicode": "utf-8", "binary": "latin-1"}.get(
        text.replace("-", ""), text)


def _dash_path(path: str) -> str:
    """``PID-5.1`` (HL7's notation) as ``PID:5.1``; IRIS paths pass unchanged."""
    if ":" not in path and "-" in path:
        seg, _, rest = path.partition("-")
        return f"{seg}:{rest}"
    return path


register_message_class(HL7Message._iop_class_name, HL7Message)
