"""Fixtures of the security tests: a real `iop --serve` on loopback (see remote_server)."""

from remote_server import admin_failures_forgotten, scenario_project, served  # noqa: F401
