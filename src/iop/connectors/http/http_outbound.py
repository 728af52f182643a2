"""``EnsLib.HTTP.OutboundAdapter``: HTTP requests to one server, on one httpx client.

A request's path is relative to the ``URL`` setting (``post("orders")`` with URL ``/api``
goes to ``/api/orders``); a path starting with ``/`` is absolute on the server; an empty
path is ``URL`` itself. A response whose status is not 2xx raises ``HTTPStatusError``
(a ConnectorError carrying ``status_code`` and the response), so ReplyCodeActions
(``E#503=R``), RetryInterval and FailureTimeout act on it.
"""

from __future__ import annotations

import json
import os
from typing import Any

from iop.components.adapters import OutboundAdapter
from iop.components.settings import Category, setting
from iop.connectors.credentials import credentials_for, credentials_setting
from iop.errors import ConnectorError

__all__ = ["HTTPOutboundAdapter", "HTTPStatusError"]

Body = str | bytes | dict[str, Any] | list[Any] | None


class HTTPStatusError(ConnectorError):
    """The server answered with a status that is not 2xx; ``status_code`` and ``response``
    (an ``httpx.Response``) say what it answered."""

    def __init__(self, message: str, status_code: int, response: Any = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.response = response


class HTTPOutboundAdapter(OutboundAdapter):
    """EnsLib.HTTP.OutboundAdapter: sends HTTP requests to HTTPServer:HTTPPort under URL."""

    HTTPServer = setting("", category=Category.BASIC, required=True,
                         description="Host name or IP address of the server to send to")
    HTTPPort = setting(0, category=Category.BASIC,
                       description="TCP port of the server; 0: 80, or 443 with SSLConfig")
    URL = setting("", category=Category.BASIC,
                  description="URL path requests go to; a method's path is relative to it")
    Credentials = credentials_setting()
    SSLConfig = setting("", category=Category.CONNECTION,
                        description="Empty: plain HTTP. Otherwise HTTPS, verifying the server "
                                    "with the CA bundle (PEM) at this path if it is a file, "
                                    "else with the system's certificate authorities")
    SSLCheckServerIdentity = setting(True, category=Category.CONNECTION,
                                     description="With SSLConfig: check that the server's "
                                                 "certificate names HTTPServer")
    ProxyServer = setting("", category=Category.CONNECTION,
                          description="Proxy server to send requests through; empty: none")
    ProxyPort = setting(0, category=Category.CONNECTION,
                        description="Port of the proxy server; 0: 80, or 443 with ProxyHTTPS")
    ProxyHTTPS = setting(False, category=Category.CONNECTION,
                         description="Talk to the proxy itself over HTTPS")
    ConnectTimeout = setting(5.0, category=Category.CONNECTION,
                             description="Seconds to wait for the connection to open")
    ResponseTimeout = setting(30.0, category=Category.CONNECTION,
                              description="Seconds to wait for the response; -1: no limit")
    WriteTimeout = setting(-1.0, category=Category.CONNECTION,
                           description="Seconds to wait while sending the request; "
                                       "-1: no limit")
    UseCookies = setting(False, category=Category.ADDITIONAL,
                         description="Keep the cookies the server sets and send them back")

    _client: Any = None

    # --------------------------------------------------------------- the requests

    def send(self, method: str, path: str = "", body: Body = None, *,
             headers: dict[str, str] | None = None, params: dict[str, Any] | str | None = None,
             form: dict[str, Any] | None = None) -> Any:
        """Send one request and return its ``httpx.Response`` (2xx); raise HTTPStatusError
        for another status, ConnectorError when the server cannot be reached."""
        url = self.url_for(path)
        content, extra = _content(body)
        request_headers = {**extra, **(headers or {})}
        where = f"HTTP {method.upper()} {_safe(url)}"
        response = self._send_once_again_if_stale(where, lambda client: client.request(
            method.upper(), url, content=content, data=form, headers=request_headers,
            params=params))
        if not 200 <= response.status_code < 300:
            reason = response.reason_phrase or ""
            raise HTTPStatusError(f"{where}: the server answered {response.status_code} {reason}"
                                  .rstrip(), response.status_code, response)
        return response

    def post(self, path: str = "", body: Body = None, **options: Any) -> Any:
        return self.send("POST", path, body, **options)

    def get(self, path: str = "", **options: Any) -> Any:
        return self.send("GET", path, **options)

    def put(self, path: str = "", body: Body = None, **options: Any) -> Any:
        return self.send("PUT", path, body, **options)

    def patch(self, path: str = "", body: Body = None, **options: Any) -> Any:
        return self.send("PATCH", path, body, **options)

    def delete(self, path: str = "", **options: Any) -> Any:
        return self.send("DELETE", path, **options)

    def send_form_data(self, method: str, path: str = "", form: dict[str, Any] | None = None,
                       **options: Any) -> Any:
        """Send ``form`` fields: in the query of a GET, url-encoded in the body otherwise."""
        if method.upper() in ("GET", "DELETE", "HEAD"):
            return self.send(method, path, params=form, **options)
        return self.send(method, path, form=form, **options)

    # IRIS's names.
    Post, Get, Put, Patch, Delete = post, get, put, patch, delete
    SendFormData = send_form_data

    # --------------------------------------------------------------- the connection

    def url_for(self, path: str = "") -> str:
        """The full URL a request to ``path`` goes to."""
        if path.startswith(("http://", "https://")):
            return path
        scheme = "https" if self.SSLConfig else "http"
        port = int(self.HTTPPort or 0) or (443 if self.SSLConfig else 80)
        base = str(self.URL or "")
        if not path:
            full = base
        elif path.startswith("/"):
            full = path
        else:
            full = base.rstrip("/") + "/" + path
        if not full.startswith("/"):
            full = "/" + full
        host = str(self.HTTPServer or "").strip()
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # an IPv6 address
        return f"{scheme}://{host}:{port}{full}"

    def on_tear_down(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _send_once_again_if_stale(self, where: str, call: Any) -> Any:
        import httpx

        if not str(self.HTTPServer or "").strip():
            raise ConnectorError(f"{where}: the HTTPServer setting is empty")
        for attempt in (1, 2):
            client = self._connected()
            try:
                return call(client)
            except httpx.TimeoutException as exc:
                raise ConnectorError(f"{where}: timed out ({type(exc).__name__})") from None
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                # A kept-alive connection the server closed (it restarted) fails at first use:
                # drop the client and try once on a new connection.
                self.on_tear_down()
                if attempt == 2:
                    raise ConnectorError(f"{where}: {_cause(exc)}") from None
            except httpx.TransportError as exc:  # refused, unreachable, bad TLS: no retry
                self.on_tear_down()
                raise ConnectorError(f"{where}: {_cause(exc)}") from None
        raise AssertionError("unreachable")

    def _connected(self) -> Any:
        if self._client is None:
            import httpx

            self._client = httpx.Client(
                timeout=httpx.Timeout(connect=_seconds(self.ConnectTimeout),
                                      read=_seconds(self.ResponseTimeout),
                                      write=_seconds(self.WriteTimeout), pool=None),
                verify=self._verify(), auth=self._auth(), proxy=self._proxy(),
                follow_redirects=False, trust_env=False)
            if not self.UseCookies:
                self._client.cookies = _no_cookie_jar()
        return self._client

    def _verify(self) -> Any:
        if not self.SSLConfig:
            return True
        import ssl

        bundle = str(self.SSLConfig)
        context = ssl.create_default_context(cafile=bundle if os.path.isfile(bundle) else None)
        if not self.SSLCheckServerIdentity:
            context.check_hostname = False
        return context

    def _auth(self) -> Any:
        credential = credentials_for(self)
        if credential is None:
            return None
        import httpx

        return httpx.BasicAuth(credential.username, credential.password)

    def _proxy(self) -> str | None:
        server = str(self.ProxyServer or "").strip()
        if not server:
            return None
        scheme = "https" if self.ProxyHTTPS else "http"
        port = int(self.ProxyPort or 0) or (443 if self.ProxyHTTPS else 80)
        return f"{scheme}://{server}:{port}"


def _no_cookie_jar() -> Any:
    """A cookie jar that keeps nothing (UseCookies off)."""
    import http.cookiejar

    import httpx

    class Refusing(http.cookiejar.DefaultCookiePolicy):
        def set_ok(self, cookie: Any, request: Any) -> bool:
            return False

    return httpx.Cookies(http.cookiejar.CookieJar(policy=Refusing()))


def _content(body: Body) -> tuple[bytes | None, dict[str, str]]:
    if body is None:
        return None, {}
    if isinstance(body, bytes):
        return body, {}
    if isinstance(body, str):
        return body.encode("utf-8"), {}
    return json.dumps(body).encode("utf-8"), {"content-type": "application/json"}


def _seconds(value: Any) -> float | None:
    number = float(value if value not in (None, "") else -1)
    return None if number < 0 else number


def _safe(url: str) -> str:
    """The URL without a query string (which might hold a token) for messages."""
    return url.split("?", 1)[0]


def _cause(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{text} ({type(exc).__name__})" if text else type(exc).__name__
