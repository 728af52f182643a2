"""EnsLib.HL7.Message: parsing, IRIS paths, editing, byte-identical output, DocType, ACKs,
and its stored form (the raw ER7 text)."""

from __future__ import annotations

import pytest
from hl7_support import adt

from iop.connectors.hl7.hl7_ack import ack_code, make_ack, nack_for_text
from iop.connectors.hl7.hl7_message import HL7Error, HL7Message
from iop.messages import codec


def test_paths_read_fields_components_repetitions_and_segments() -> None:
    msg = HL7Message(RawContent=adt("C1") + "OBX|1|TX|first\rOBX|2|TX|second\r")
    assert msg.GetValueAt("MSH:1") == "|"
    assert msg.GetValueAt("MSH:2") == "^~\\&"
    assert msg.GetValueAt("MSH:3") == "SENDAPP"
    assert msg.GetValueAt("MSH:9.1") == "ADT"
    assert msg.GetValueAt("PID:5.1") == "Doe"
    assert msg["PID-5.2"] == "John" and msg["PID:5.3"] == "Q"
    assert msg.GetValueAt("PID:3(2).1") == "XC1"
    assert msg.GetValueAt("PID:3(*)") == "2"
    assert msg.GetValueAt("PID:3") == "C1^^^HOSP^MR~XC1^^^OTHER"
    assert msg.GetValueAt("OBX(*)") == "2"
    assert msg.GetValueAt("OBX(2):3") == "second"
    assert msg.GetValueAt("2:1") == "A01"  # the second segment, EVN
    assert msg.GetValueAt("PID") == msg.GetSegmentAt(3)
    assert msg.GetValueAt("ZZZ:1") == "" and msg.GetValueAt("PID:30.4") == ""
    assert (msg.Name, msg.MessageType, msg.DocType) == ("ADT_A01", "ADT_A01", "2.5:ADT_A01")
    assert msg.Identifier == "C1" and msg.SegCount == 6
    rows = msg.segment_fields()
    assert [name for name, _ in rows] == ["MSH", "EVN", "PID", "PV1", "OBX", "OBX"]
    assert rows[0][1][1:4] == ["|", "^~\\&", "SENDAPP"] and rows[2][1][5] == "Doe^John^Q"


def test_unedited_output_is_byte_identical_and_line_ends_become_cr() -> None:
    raw = adt("C2") + "NTE|1||a \\F\\ b\r"
    assert HL7Message(RawContent=raw).OutputToString() == raw
    assert HL7Message(RawContent=raw.replace("\r", "\r\n")).OutputToString() == raw
    assert HL7Message(RawContent=raw.replace("\r", "\n")).GetValueAt("NTE:3") == "a \\F\\ b"
    other = "MSH#*@\\%#A#B#C#D#20240101##ORU*R01#X9#P#2.4\rPID#1##1@2*3\r"
    msg = HL7Message(RawContent=other)
    assert msg.GetValueAt("PID:3(2).1") == "2" and msg.GetValueAt("PID:3(2).2") == "3"
    assert msg.OutputToString() == other and msg.DocType == "2.4:ORU_R01"


def test_set_value_at_edits_and_adds_what_the_path_needs() -> None:
    msg = HL7Message(RawContent=adt("C3"))
    msg.SetValueAt("Smith", "PID:5.1")
    msg["PID-3(3).1"] = "NEW"
    msg.SetValueAt("x", "ZPI:2.1.2")
    assert msg.GetValueAt("PID:5") == "Smith^John^Q"
    assert msg.GetValueAt("PID:3(*)") == "3" and msg.GetValueAt("PID:3(3).1") == "NEW"
    assert msg.OutputToString().endswith("PV1|1|I|WARD^101^1\rZPI||&x\r")
    msg.SetValueAt("ORU", "MSH:9.1")
    msg.SetValueAt("R01", "MSH:9.2")
    msg.SetValueAt("", "MSH:9.3")
    assert msg.Name == "ORU_R01" and msg.DocType == "2.5:ORU_R01"
    msg.DocType = "MyCat:ORU_R01"
    assert (msg.DocTypeCategory, msg.DocTypeName) == ("MyCat", "ORU_R01")
    with pytest.raises(HL7Error):
        msg.SetValueAt("#", "MSH:1")


@pytest.mark.parametrize("text", ["", "hello", "PID|1\r", "MSH", "MSHX^~\\&|a\r",
                                  "MSH|^~\\&|a\rpid|1\r"])
def test_text_that_is_not_hl7_is_refused_in_one_line(text: str) -> None:
    if text == "":
        assert HL7Message(RawContent="").SegCount == 0
        return
    with pytest.raises(HL7Error) as caught:
        HL7Message(RawContent=text)
    assert "\n" not in str(caught.value)


def test_ack_swaps_sender_and_receiver_and_echoes_the_control_id() -> None:
    msg = HL7Message(RawContent=adt("C4"))
    ack = make_ack(msg)
    assert ack.GetValueAt("MSH:3") == "RECVAPP" and ack.GetValueAt("MSH:4") == "RECVFAC"
    assert ack.GetValueAt("MSH:5") == "SENDAPP" and ack.GetValueAt("MSH:6") == "SENDFAC"
    assert ack.GetValueAt("MSH:9") == "ACK^A01" and ack.GetValueAt("MSH:12") == "2.5"
    assert (ack_code(ack), ack.GetValueAt("MSA:2"), ack.GetValueAt("ERR(*)")) == ("AA", "C4", "0")
    nack = make_ack(msg, "AE", "target | failed")
    assert ack_code(nack) == "AE" and nack.GetValueAt("MSA:3") == "target failed"
    assert nack.GetValueAt("ERR:3.1") == "207" and nack.GetValueAt("ERR:8") == "target failed"
    garbage = nack_for_text("not hl7 at all", "AR", "bad")
    assert ack_code(garbage) == "AR" and garbage.GetValueAt("MSA:2") == ""


def test_stored_body_is_the_raw_er7_text_and_decodes_back() -> None:
    msg = HL7Message(RawContent=adt("C5"))
    msg.SetValueAt("Roe", "PID:5.1")
    class_name, text = codec.encode(msg)
    assert class_name == "EnsLib.HL7.Message"
    assert text == msg.OutputToString() and text.startswith("MSH|^~\\&|") and "Roe^John" in text
    back = codec.decode(class_name, text)
    assert isinstance(back, HL7Message) and back.OutputToString() == text
    with pytest.raises(codec.MessageError):
        codec.decode(class_name, "not an hl7 message")
