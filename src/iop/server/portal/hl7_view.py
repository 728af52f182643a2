"""How the message viewer shows an HL7 v2 body (class ``EnsLib.HL7.Message``, stored as its
ER7 text): a segment per line, each field a span whose tooltip names it (``PID-5 Patient
Name``), as IRIS's viewer does; and the Body view's rows by path (``PID:5``).

Only display: the text is split on the separators MSH declares, nothing is interpreted or
changed, and every value is escaped by the template.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["HL7_CLASSES", "FieldShown", "SegmentShown", "field_rows", "is_hl7", "segments"]

HL7_CLASSES = frozenset({"EnsLib.HL7.Message"})
MAX_SEGMENTS = 5000  # shown; a longer message is cut with a note (the Contents view has all)

# Names of the fields of common segments (HL7 v2.5), for the tooltips.
_FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "MSH": ("FieldShown Separator", "Encoding Characters", "Sending Application",
            "Sending Facility", "Receiving Application", "Receiving Facility",
            "Date/Time Of Message", "Security", "Message Type", "Message Control ID",
            "Processing ID", "Version ID", "Sequence Number", "Continuation Pointer",
            "Accept Acknowledgment Type", "Application Acknowledgment Type", "Country Code",
            "Character Set", "Principal Language Of Message"),
    "EVN": ("Event Type Code", "Recorded Date/Time", "Date/Time Planned Event",
            "Event Reason Code", "Operator ID", "Event Occurred", "Event Facility"),
    "PID": ("Set ID - PID", "Patient ID", "Patient Identifier List", "Alternate Patient ID",
            "Patient Name", "Mother's Maiden Name", "Date/Time of Birth", "Administrative Sex",
            "Patient Alias", "Race", "Patient Address", "County Code", "Phone Number - Home",
            "Phone Number - Business", "Primary Language", "Marital Status", "Religion",
            "Patient Account Number", "SSN Number - Patient", "Driver's License Number",
            "Mother's Identifier", "Ethnic Group", "Birth Place", "Multiple Birth Indicator",
            "Birth Order", "Citizenship", "Veterans Military Status", "Nationality",
            "Patient Death Date and Time", "Patient Death Indicator"),
    "NK1": ("Set ID - NK1", "Name", "Relationship", "Address", "Phone Number",
            "Business Phone Number", "Contact Role"),
    "PV1": ("Set ID - PV1", "Patient Class", "Assigned Patient Location", "Admission Type",
            "Preadmit Number", "Prior Patient Location", "Attending Doctor",
            "Referring Doctor", "Consulting Doctor", "Hospital Service",
            "Temporary Location", "Preadmit Test Indicator", "Re-admission Indicator",
            "Admit Source", "Ambulatory Status", "VIP Indicator", "Admitting Doctor",
            "Patient Type", "Visit Number", "Financial Class"),
    "ORC": ("Order Control", "Placer Order Number", "Filler Order Number",
            "Placer Group Number", "Order Status", "Response Flag", "Quantity/Timing",
            "Parent", "Date/Time of Transaction", "Entered By", "Verified By",
            "Ordering Provider"),
    "OBR": ("Set ID - OBR", "Placer Order Number", "Filler Order Number",
            "Universal Service Identifier", "Priority - OBR", "Requested Date/Time",
            "Observation Date/Time", "Observation End Date/Time", "Collection Volume",
            "Collector Identifier", "Specimen Action Code", "Danger Code",
            "Relevant Clinical Information", "Specimen Received Date/Time", "Specimen Source",
            "Ordering Provider"),
    "OBX": ("Set ID - OBX", "Value Type", "Observation Identifier", "Observation Sub-ID",
            "Observation Value", "Units", "References Range", "Abnormal Flags", "Probability",
            "Nature of Abnormal Test", "Observation Result Status",
            "Effective Date of Reference Range", "User Defined Access Checks",
            "Date/Time of the Observation"),
    "MSA": ("Acknowledgment Code", "Message Control ID", "Text Message",
            "Expected Sequence Number", "Delayed Acknowledgment Type", "Error Condition"),
    "ERR": ("Error Code and Location", "Error Location", "HL7 Error Code", "Severity",
            "Application Error Code", "Application Error Parameter", "Diagnostic Information",
            "User Message"),
    "NTE": ("Set ID - NTE", "Source of Comment", "Comment", "Comment Type"),
    "AL1": ("Set ID - AL1", "Allergen Type Code", "Allergen Code/Mnemonic/Description",
            "Allergy Severity Code", "Allergy Reaction Code", "Identification Date"),
}


@dataclass(frozen=True)
class FieldShown:
    """One field of a segment as shown: the separator before it, its text, its tooltip."""

    before: str
    text: str
    title: str


@dataclass(frozen=True)
class SegmentShown:
    name: str
    fields: tuple[FieldShown, ...]  # after the segment's name, numbered from 1


def is_hl7(body_class: str | None, body_text: str | None) -> bool:
    """Whether a body is shown as HL7: its class is the HL7 message and it starts with MSH."""
    return body_class in HL7_CLASSES and bool(body_text) and \
        str(body_text).lstrip().startswith("MSH")


def _lines(text: str) -> list[str]:
    return [line for line in text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
            if line.strip()]


def _separator(text: str) -> str:
    start = text.lstrip()
    return start[3] if len(start) > 3 else "|"


def segments(text: str) -> tuple[list[SegmentShown], bool]:
    """The body's segments, and whether there were more than MAX_SEGMENTS (cut)."""
    separator = _separator(text)
    lines = _lines(text)
    shown = []
    for line in lines[:MAX_SEGMENTS]:
        name, _, rest = line.partition(separator)
        values = rest.split(separator) if rest or line.endswith(separator) else []
        if name == "MSH":
            # MSH-1 is the separator itself: no separator before it nor before MSH-2.
            values = [separator, *values]
            shown.append(SegmentShown(name, tuple(
                FieldShown("" if n <= 2 else separator, value, _title(name, n))
                for n, value in enumerate(values, start=1))))
            continue
        shown.append(SegmentShown(name, tuple(
            FieldShown(separator, value, _title(name, n)) for n, value in enumerate(values, start=1))))
    return shown, len(lines) > MAX_SEGMENTS


def field_rows(text: str) -> list[tuple[str, str]]:
    """The Body view: (path, value) of every non-empty field, ``PID:5 Patient Name``; a
    segment repeated gets its index, ``OBX(2):5``."""
    seen: dict[str, int] = {}
    rows = []
    for segment in segments(text)[0]:
        seen[segment.name] = seen.get(segment.name, 0) + 1
        count = seen[segment.name]
        label = segment.name if count == 1 else f"{segment.name}({count})"
        for number, one in enumerate(segment.fields, start=1):
            if one.text == "":
                continue
            name = _name(segment.name, number)
            rows.append((f"{label}:{number}" + (f" {name}" if name else ""), one.text))
    return rows


def _name(segment: str, number: int) -> str:
    names = _FIELD_NAMES.get(segment, ())
    return names[number - 1] if 0 < number <= len(names) else ""


def _title(segment: str, number: int) -> str:
    name = _name(segment, number)
    return f"{segment}-{number}" + (f" {name}" if name else "")
