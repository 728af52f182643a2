"""Framed TCP: the MLLP framing HL7 v2 travels in, a listener that runs one thread per
connection, and a client connection that reconnects once when found dead."""
