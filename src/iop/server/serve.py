"""`iop --serve`: run the ASGI app on uvicorn."""

from __future__ import annotations

import ipaddress
import logging
import signal
import sys

from iop.server.app import Server, build_app
from iop.server.portal import install, page_error, portal_routes
from iop.server.portal.files import FileRoots

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 52773  # IRIS's web port, so IOP_URL values written for IRIS keep working


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _end_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          max_body_bytes: int | None = None, portal_roots: list[str] | None = None) -> int:
    """Serve until interrupted; returns the exit code."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("iop.server")
    server = Server(max_body_bytes=max_body_bytes) if max_body_bytes else Server()
    if not server.users.list():
        log.warning("no user exists yet: every request will be refused until one is added "
                    "with `iop --user-add NAME`")
    if not _loopback(host):
        log.warning("listening on %s: Basic auth sends passwords in clear text; put a TLS "
                    "proxy in front of this server", host)
    print(f"iop-engine serving /api/iop and the portal on http://{host}:{port}/ "
          f"(max body {server.max_body_bytes} bytes)", file=sys.stderr, flush=True)
    app = build_app(server, routes=portal_routes(), page_error=page_error)
    install(app, FileRoots.configured(portal_roots))
    # uvicorn shuts down gracefully on SIGTERM, then raises it again for the handler it found:
    # this one ends the command with 0 there (as on SIGINT), not killed by the default action.
    signal.signal(signal.SIGTERM, _end_cleanly)
    # No `server: uvicorn` banner: a stranger need not learn what serves the API.
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False,
                access_log=False, timeout_graceful_shutdown=5)
    return 0
