"""The runtime layer between the Production DSL and the engine: the director protocol and the
Director that implements it on a Client (local store, or a server when IOP_URL is set)."""
