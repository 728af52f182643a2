"""Fixtures of the HTTP tests: one real `iop --serve` for the directory (see remote_server)."""

from remote_server import admin_failures_forgotten, scenario_project, served  # noqa: F401
