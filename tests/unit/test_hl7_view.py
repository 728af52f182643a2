"""The portal's HL7 v2 view: segments shown as stored, fields named on hover and by path."""

from __future__ import annotations

from iop.server.portal import hl7_view

ADT = ("MSH|^~\\&|LAB|HOSP|EHR|HOSP|20261207120000||ADT^A01^ADT_A01|MSG00001|P|2.5\r"
       "EVN|A01|20261207120000\r"
       "PID|1||123456^^^HOSP^MR||Doe^John^A||19700101|M\r"
       "OBX|1|NM|GLU^Glucose||5.4|mmol/L\r"
       "OBX|2|NM|NA^Sodium||140|mmol/L\r")


def _shown(segment: hl7_view.SegmentShown) -> str:
    return segment.name + "".join(f.before + f.text for f in segment.fields)


def test_each_segment_is_shown_exactly_as_stored() -> None:
    shown, cut = hl7_view.segments(ADT)
    assert [_shown(s) for s in shown] == ADT.rstrip("\r").split("\r") and not cut


def test_fields_carry_their_position_and_name() -> None:
    msh, _, pid = hl7_view.segments(ADT)[0][:3]
    assert (msh.fields[0].text, msh.fields[0].title) == ("|", "MSH-1 FieldShown Separator")
    assert msh.fields[1].text == "^~\\&" and msh.fields[8].text == "ADT^A01^ADT_A01"
    assert msh.fields[8].title == "MSH-9 Message Type"
    assert (pid.fields[4].text, pid.fields[4].title) == ("Doe^John^A", "PID-5 Patient Name")


def test_body_rows_name_repeated_segments_and_skip_empty_fields() -> None:
    rows = dict(hl7_view.field_rows(ADT))
    assert rows["PID:5 Patient Name"] == "Doe^John^A"
    assert rows["OBX:5 Observation Value"] == "5.4"
    assert rows["OBX(2):5 Observation Value"] == "140"
    assert "PID:2 Patient ID" not in rows  # empty


def test_other_line_ends_and_separators_are_understood() -> None:
    text = ADT.replace("|", "#").replace("\r", "\n")
    shown = hl7_view.segments(text)[0]
    assert shown[2].fields[4].text == "Doe^John^A" and shown[2].fields[4].before == "#"


def test_only_hl7_bodies_of_the_hl7_class_get_the_view() -> None:
    assert hl7_view.is_hl7("EnsLib.HL7.Message", ADT)
    assert not hl7_view.is_hl7("EnsLib.HL7.Message", '{"x": 1}')
    assert not hl7_view.is_hl7("demo.Msg", ADT)
    assert not hl7_view.is_hl7("EnsLib.HL7.Message", None)


def test_a_huge_message_is_cut_for_display() -> None:
    text = ADT + "NTE|1||x\r" * (hl7_view.MAX_SEGMENTS + 10)
    shown, cut = hl7_view.segments(text)
    assert len(shown) == hl7_view.MAX_SEGMENTS and cut
