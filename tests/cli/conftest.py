"""The remote-mode CLI tests share one real `iop --serve` (see remote_server)."""

from remote_server import scenario_project, served  # noqa: F401  (fixtures)
