"""EnsLib.HL7.Service.FileService and EnsLib.HL7.Operation.FileOperation through the real
CLI (a file holding several messages), and ``iop -t`` with an EnsLib.HL7.Message body."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from hl7_support import adt

from iop.connectors.hl7.hl7_services import split_messages


def test_split_messages_skips_batch_envelopes_and_blank_lines() -> None:
    text = "FHS|^~\\&|X\r\nBHS|^~\\&|X\r\n" + adt("F1").replace("\r", "\r\n") + "\r\n" + \
        adt("F2").replace("\r", "\n") + "BTS|2\nFTS|1\n"
    assert split_messages(text) == [adt("F1"), adt("F2")]


def test_file_service_to_file_operation(make_project: Any, store: Any, wait_for: Any,
                                        tmp_path: Path, run_iop: Any) -> None:
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    outbox.mkdir()
    project = make_project("", textwrap.dedent(f'''
        from iop import OperationItem, Route, ServiceItem

        OUT = OperationItem("HL7FileOut", "EnsLib.HL7.Operation.FileOperation",
                            adapter_settings={{"FilePath": {str(outbox)!r}}})


        class FileProduction(Production):
            name = "HL7.File.Production"
            services = (
                ServiceItem("HL7FileIn", "EnsLib.HL7.Service.FileService",
                            adapter_settings={{"FilePath": {str(inbox)!r}, "FileSpec": "*.hl7",
                                              "CallInterval": "0.5"}},
                            routes=(Route("TargetConfigNames", OUT),)),
            )
            operations = (OUT,)


        PRODUCTIONS = [FileProduction()]
        '''))
    project.migrate()
    project.start("HL7.File.Production")
    batch = "not a message\r\n" + adt("F1").replace("\r", "\r\n") + adt("F2")
    (inbox / "batch.hl7").write_text(batch, encoding="latin-1")
    def finished() -> list[Path]:  # a file being written has a temporary name until whole
        return sorted(p for p in outbox.iterdir() if not p.name.endswith(".iop-partial"))
    written = wait_for(lambda: len(finished()) >= 2 and finished(), timeout=30,
                       what="two files out")
    texts = sorted(p.read_bytes().decode("latin-1") for p in written)
    assert texts == [adt("F1").replace("\r", "\r\n"), adt("F2").replace("\r", "\r\n")]
    assert not (inbox / "batch.hl7").exists()
    headers = store.query_headers(source="HL7FileIn", limit=10)
    assert sorted(h.body_class for h in headers) == ["EnsLib.HL7.Message"] * 2
    # The test call builds the message from its ER7 text.
    result = run_iop("-t", "HL7FileOut", "-C", "EnsLib.HL7.Message", "-B", adt("T1"))
    assert result.returncode == 0
    wait_for(lambda: [p for p in outbox.iterdir() if p.name.startswith("T1_")], timeout=20,
             what="the test message's file")
    refused = run_iop("-t", "HL7FileOut", "-C", "EnsLib.HL7.Message", "-B", "no hl7 here",
                      check=False)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "MSH" in refused.stderr
