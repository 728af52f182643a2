"""HL7 v2: the EnsLib.HL7.Message class, ACKs, and the TCP (MLLP), file and HTTP services
and operations that carry it (IRIS's EnsLib.HL7.* classes)."""
