"""Fixtures of the security tests: a real `iop --serve` on loopback (see remote_server)."""

from remote_server import scenario_project, served  # noqa: F401  (fixtures)
