"""Fixtures of the HTTP tests: one real `iop --serve` for the directory (see remote_server)."""

from remote_server import scenario_project, served  # noqa: F401  (fixtures)
