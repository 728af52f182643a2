"""debug_host: attach the job running a host to a debugpy debugger."""

from __future__ import annotations

from intersystems_pyprod import _log

DEFAULT_PORT = 5547


def debug_host(ip: str, port: int = DEFAULT_PORT) -> None:
    """Connect this job to a debugpy debugger listening on ``ip:port`` and break here.

    Call it from a callback (``OnInit`` or ``OnMessage``, say). When debugpy is missing or no
    debugger listens, a warning goes to the event log and the code carries on.
    """
    try:
        import debugpy  # type: ignore[import-not-found]
    except ImportError:
        _log.warning_from_caller("debug_host: debugpy is not installed in this environment "
                                 "(pip install debugpy); carrying on without a debugger")
        return
    try:
        debugpy.connect((ip, int(port)))
        debugpy.breakpoint()
    except Exception as exc:
        # With PoolSize > 1 another job of the same item may already hold the debugger.
        _log.warning_from_caller(f"debug_host: no debugger reachable at {ip}:{port} "
                                 f"({type(exc).__name__}: {exc}); carrying on without one")
