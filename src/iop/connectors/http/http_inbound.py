"""``EnsLib.HTTP.InboundAdapter``: a service listening for HTTP requests on its own port.

Each request becomes an ``EnsLib.HTTP.GenericMessage`` handed to the service; what the
service returns is the response (``iop.connectors.http.http_replies``). The response goes out
only after the service's sends are committed (``InputHandoff``): a client that got its
answer knows its request is stored. A service that fails answers 500 with one line; with
QueueLimit reached, or the job too busy to take the request in ``ReadTimeout`` seconds,
the answer is 503 with ``Retry-After`` (the request was not taken: nothing was stored).
"""

from __future__ import annotations

import math
from typing import Any

from iop.components.adapters import InboundAdapter
from iop.components.settings import Category, setting
from iop.connectors import inbound as shared
from iop.connectors.http.generic_message import GenericMessage
from iop.connectors.http.http_listener import HTTPListener
from iop.connectors.http.http_replies import Reply, error_reply, reply_for
from iop.connectors.inbound import InputHandoff, InputNotTaken, queue_limit_setting
from iop.errors import ConnectorError

__all__ = ["HTTPInboundAdapter"]

DEFAULT_MAX_BODY = 10 * 1024 * 1024


class HTTPInboundAdapter(InboundAdapter):
    """EnsLib.HTTP.InboundAdapter: listens on Port; each request is one input of the service."""

    Port = setting(0, category=Category.BASIC, description="TCP port to listen on; 0: none")
    LocalInterface = setting("", category=Category.CONNECTION,
                             description="IP address of the interface to listen on; empty: "
                                         "all interfaces")
    AllowedIPAddresses = setting("", category=Category.CONNECTION,
                                 description="Comma-separated addresses or host names allowed "
                                             "to connect; empty: anyone")
    SSLConfig = setting("", category=Category.CONNECTION,
                        description="Empty: plain HTTP. Otherwise HTTPS with the certificate "
                                    "and private key in PEM: 'cert.pem,key.pem', or one file "
                                    "holding both")
    ReadTimeout = setting(5.0, category=Category.CONNECTION,
                          description="Seconds to wait for a client's next bytes; also how "
                                      "long a request waits for the service before a 503")
    EnableStandardRequests = setting(False, category=Category.CONNECTION,
                                     description="Also take requests that iop --serve relays "
                                                 "from /api/services/<namespace>/<item>/...")
    MaxBodySize = setting(DEFAULT_MAX_BODY, category=Category.ADDITIONAL,
                          description="Largest request body accepted, in bytes (413 above)")
    QueueLimit = queue_limit_setting()

    _handoff: InputHandoff | None = None
    _listener: HTTPListener | None = None
    _limit: shared.QueueLimit | None = None
    _listen_error = ""

    def on_task(self) -> None:
        # Listen from the first poll, not in on_init: only the job holding the polling duty
        # may own the port (a pool's other jobs stand by).
        if self._listener is None and int(self.Port or 0) > 0:
            # The hand-off exists before the first request can arrive.
            self._handoff = InputHandoff(self)
            self._limit = shared.QueueLimit(self, int(self.QueueLimit or 0))
            try:
                self._listener = HTTPListener(
                    int(self.Port), self.respond, interface=str(self.LocalInterface or ""),
                    allowed=[a for a in str(self.AllowedIPAddresses or "").split(",")
                             if a.strip()],
                    tls=_tls(str(self.SSLConfig or "")),
                    read_timeout=float(self.ReadTimeout or 0),
                    max_body=int(self.MaxBodySize or DEFAULT_MAX_BODY))
            except ConnectorError as exc:
                # A port in use, a missing certificate: the user's to fix, said once (one
                # line, no traceback) and tried again every CallInterval.
                if str(exc) != self._listen_error:
                    self._listen_error = str(exc)
                    log_failure(self.business_host, None, exc, "cannot listen")
                self._handoff = None
                return
            self._listen_error = ""
        if self._handoff is not None:
            self._handoff.drain(max(float(self.CallInterval or 1), 0.1), self._limit)

    def respond(self, request: GenericMessage) -> Reply:
        """On a listener's thread: run the service on ``request`` and say what to answer."""
        handoff = self._handoff
        if handoff is None:
            return self._busy("the service is not ready")
        if self._limit is not None and self._limit.full:
            return self._busy(f"a target of the service has {self._limit.limit} or more "
                              "messages queued (QueueLimit)")
        try:
            result = handoff.submit(request, timeout=max(float(self.ReadTimeout or 0), 1))
        except InputNotTaken as exc:
            return self._busy(str(exc))
        except Exception as exc:
            return error_reply(500, f"{type(exc).__name__}: {exc}")
        return reply_for(result)

    def business_host_process_input(self, data: Any) -> Any:
        """On the job's thread: run the service; a failure goes to the log (and to alerts
        with AlertOnError) before the caller answers it."""
        try:
            return super().business_host_process_input(data)
        except Exception as exc:
            log_failure(self.business_host, data, exc)
            raise

    def on_tear_down(self) -> None:
        if self._handoff is not None:
            self._handoff.close()
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _busy(self, why: str) -> Reply:
        retry = max(1, math.ceil(float(self.CallInterval or 1)))
        return error_reply(503, f"service busy, retry later: {why}", {"Retry-After": str(retry)})


def log_failure(host: Any, request: Any, exc: BaseException, what: str = "") -> None:
    """A failure (of a request, or of the listener) in the item's log; an alert too with
    AlertOnError."""
    if request is not None:
        what = f"HTTP request {request.method} {request.url} failed"
    text = f"{what}: {type(exc).__name__}: {exc}"
    host.log_error(text)
    if str(getattr(host, "AlertOnError", False)).lower() in ("true", "1"):
        host.log_alert(text)


def _tls(setting_value: str) -> tuple[str, str] | None:
    if not setting_value.strip():
        return None
    cert, _, key = setting_value.partition(",")
    return cert.strip(), key.strip()
