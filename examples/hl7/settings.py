"""The HL7 example production: `iop -m examples/hl7/settings.py` (bash examples/hl7/run.sh
does everything).

    MLLP :6661 -> HL7In (EnsLib.HL7.Service.TCPService, ACK once stored)
               -> HL7Router (by message type)
                    ADT_* -> ADTFileOut (EnsLib.HL7.Operation.FileOperation, one file each)
                    ORU_* -> LabHttpOut (EnsLib.HL7.Operation.HTTPOperation: POST to the
                             lab system on :6662, whose answer is an HL7 ACK)
"""

import os

from hl7_components import HL7Router

from iop import Production

MLLP_PORT = os.environ.get("HL7_EXAMPLE_MLLP_PORT", "6661")
HTTP_PORT = os.environ.get("HL7_EXAMPLE_HTTP_PORT", "6662")
OUT = os.environ.get("HL7_EXAMPLE_OUT", os.path.join(os.getcwd(), "hl7-out"))

prod = Production("HL7.Example", testing_enabled=True)
prod.service("HL7In", class_name="EnsLib.HL7.Service.TCPService") \
    .host_setting("TargetConfigNames", "HL7Router") \
    .host_setting("AckMode", "Immed") \
    .adapter_setting("Port", MLLP_PORT) \
    .adapter_setting("CallInterval", "1")
prod.process("HL7Router", HL7Router)
prod.operation("ADTFileOut", class_name="EnsLib.HL7.Operation.FileOperation") \
    .adapter_setting("FilePath", os.path.join(OUT, "adt"))
prod.operation("LabHttpOut", class_name="EnsLib.HL7.Operation.HTTPOperation") \
    .host_setting("RetryInterval", "1") \
    .host_setting("FailureTimeout", "-1") \
    .adapter_setting("HTTPServer", "127.0.0.1") \
    .adapter_setting("HTTPPort", HTTP_PORT) \
    .adapter_setting("URL", "/results")

PRODUCTIONS = [prod]
