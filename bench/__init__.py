"""Benchmarks of the engine on the embedded store: run with ``python -m bench.run``."""
