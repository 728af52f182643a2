"""RemoteClient: every operation sent to a server's /api/iop (shared/spec/remote-api.md).

It speaks the same wire contract as IoP's own remote client, so it drives our server and an
IRIS with IoP alike.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

import httpx

from iop.client.event_log import follow_log
from iop.client.remote_operator import RemoteOperatorViews
from iop.errors import BodyRefused, RemoteError

TIMEOUT_SECONDS = 30.0
INIT_TIMEOUT_SECONDS = 120.0




def _detail(response: httpx.Response, data: Any) -> str:
    if isinstance(data, dict):
        for key in ("error", "message"):
            if data.get(key):
                return str(data[key])
    text = response.text.strip()
    return text.splitlines()[0] if text else response.reason_phrase


class RemoteClient(RemoteOperatorViews):
    """Client of a remote engine (or IRIS with IoP) over HTTP Basic auth."""

    mode = "remote"

    def __init__(self, url: str, username: str = "", password: str = "",
                 namespace: str = "USER", verify_ssl: bool = True) -> None:
        self.url = url.rstrip("/")
        self.namespace = (namespace or "USER").upper()
        self._http = httpx.Client(base_url=self.url, auth=(username or "", password or ""),
                                  timeout=TIMEOUT_SECONDS, verify=verify_ssl)

    def describe(self) -> str:
        return f"Mode: REMOTE ({self.url})"

    def close(self) -> None:
        self._http.close()

    def __del__(self) -> None:
        # A Director made for one lifecycle call drops its client at once: close the
        # connections with it rather than leave sockets for the collector.
        http = self.__dict__.get("_http")
        if http is not None:
            http.close()

    def _request(self, method: str, path: str, body: Any = None, timeout: float | None = None,
                 *, check_error_key: bool = True, **query: Any) -> Any:
        params = {k: v for k, v in query.items() if v is not None}
        try:
            response = self._http.request(method, path, params=params,
                                          json=body if method in ("POST", "PUT") else None,
                                          timeout=timeout or TIMEOUT_SECONDS)
        except httpx.TimeoutException as exc:
            raise RemoteError(f"{self.url} did not answer {method} {path} within "
                              f"{timeout or TIMEOUT_SECONDS:.0f} s") from exc
        except httpx.HTTPError as exc:
            raise RemoteError(f"cannot reach {self.url}: {exc}") from exc
        try:
            data = response.json() if response.content else None
        except ValueError:
            data = None
        if response.status_code >= 300:
            detail = _detail(response, data)
            if response.status_code == 400 and isinstance(data, dict) \
                    and data.get("refused") == "body":
                raise BodyRefused(detail)  # the server's class refused the body, as locally
            raise RemoteError(f"{response.status_code} {response.reason_phrase}: {detail}",
                              detail)
        if check_error_key and isinstance(data, dict) and "error" in data:
            raise RemoteError(str(data["error"]), str(data["error"]))
        return data

    def _call(self, method: str, route: str, body: Any = None, *,
              check_error_key: bool = True, **query: Any) -> Any:
        return self._request(method, f"/api/iop/{route}", body, check_error_key=check_error_key,
                             namespace=self.namespace, **query)

    def _object(self, method: str, route: str, body: Any = None, **query: Any) -> Any:
        data = self._call(method, route, body, **query)
        if not isinstance(data, dict):
            raise RemoteError(f"{self.url} answered {method} /api/iop/{route} with "
                              f"{type(data).__name__}, not a JSON object")
        return data

    # ------------------------------------------------------------ productions
    def status(self) -> dict[str, Any]:
        return self._object("GET", "status")  # type: ignore[no-any-return]

    def list_productions(self) -> dict[str, dict[str, Any]]:
        return self._object("GET", "list")  # type: ignore[no-any-return]

    def get_default(self) -> str:
        return str(self._object("GET", "default").get("production") or "")

    def set_default(self, production: str) -> str:
        return str(self._object("PUT", "default", {"production": production}).get("production"))

    def start(self, production: str | None = None) -> dict[str, str]:
        name = production or self.get_default()
        if not name:
            raise RemoteError("no production given and no default production is set "
                              "(iop -d NAME)")
        return self._object("POST", "start", {"production": name})  # type: ignore[no-any-return]

    def run_foreground(self, production: str) -> None:
        """Start the production on the server, print its event log until Ctrl+C or SIGTERM,
        then stop it."""
        top = self.log(top=1)
        last = int(top[0]["id"]) if top else 0
        self.start(production)
        print(f"Production '{production}' started. Streaming log — Ctrl-C to stop.", flush=True)
        stop = threading.Event()
        previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            follow_log(self, production, stop, last)
        finally:
            signal.signal(signal.SIGINT, previous)
        self.stop()
        print(f"Production {production} stopped", flush=True)

    def stop(self) -> dict[str, str]:
        return self._object("POST", "stop", {})  # type: ignore[no-any-return]

    def kill(self) -> dict[str, str]:
        return self._object("POST", "kill", {})  # type: ignore[no-any-return]

    def restart(self) -> dict[str, str]:
        return self._object("POST", "restart", {})  # type: ignore[no-any-return]

    def update(self) -> dict[str, str]:
        return self._object("POST", "update", {})  # type: ignore[no-any-return]

    def component(self, action: str, item: str) -> None:
        self._object("POST", f"component/{action}", {"component": item})

    def export(self, production: str | None = None) -> dict[str, Any]:
        """The definition in the stored shape ``{"Production": {...}}`` (the wire keys it by
        the production's name)."""
        name = production or self.get_default() or "Not defined"
        data = self._object("GET", "export", production=name)
        if "Production" not in data and len(data) == 1:
            return {"Production": next(iter(data.values()))}
        return data  # type: ignore[no-any-return]

    def connections(self, production: str | None = None) -> dict[str, Any]:
        return self._object("GET", "connections",  # type: ignore[no-any-return]
                            production=production or self.get_default())

    def queues(self, production: str | None = None) -> dict[str, Any]:
        name = production or self.get_default()
        if not name:
            raise RemoteError("no production given and no default production is set "
                              "(iop -d NAME)")
        return self._object("GET", "queues", production=name)  # type: ignore[no-any-return]

    # ------------------------------------------------------------ log, test, bindings
    def log(self, top: int | None = None, since_id: int | None = None) -> list[dict[str, Any]]:
        if since_id is not None:
            data = self._call("GET", "log", since_id=since_id)
        else:
            data = self._call("GET", "log", top=10 if top is None else top)
        return data if isinstance(data, list) else []

    def test(self, target: str, classname: str | None = None, body: Any = None,
             restart: bool = False) -> dict[str, Any]:
        payload: dict[str, Any] = {"target": target, "restart": restart}
        if classname:
            payload["classname"] = classname
        if body is not None:
            payload["body"] = body
        return self._object("POST", "test", payload)  # type: ignore[no-any-return]

    def bindings(self, unused: bool = False) -> list[dict[str, Any]]:
        data = self._call("GET", "bindings", unused="1" if unused else None)
        return data if isinstance(data, list) else []

    def unbind(self, class_name: str) -> None:
        query: dict[str, Any] = {"class": class_name}  # a Python keyword, so passed as a dict
        self._call("DELETE", "binding", **query)

    def initialize(self) -> list[str]:
        """Initialise the namespace on the server (IoP's `iop -i` compile request, which our
        server maps to creating or upgrading the namespace's store)."""
        data = self._request("POST", f"/api/atelier/v1/{self.namespace}/action/compile", [],
                             timeout=INIT_TIMEOUT_SECONDS, flags="cuk")
        status = data.get("status") if isinstance(data, dict) else None
        errors = status.get("errors") if isinstance(status, dict) else None
        if errors:
            raise RemoteError(f"initialisation of namespace {self.namespace} failed: {errors}")
        console = data.get("console") if isinstance(data, dict) else None
        lines = [str(x) for x in console or [] if str(x).strip()]
        return lines or [f"namespace {self.namespace} initialised on {self.url}"]

    # ------------------------------------------------------------ migration
    def migrate(self, path: str, dry_run: bool = False, strict: bool = False) -> list[str]:
        from iop.client.remote_migrate import plan_lines, upload_body
        from iop.migration.loader import load_migration

        plan = load_migration(path)
        lines = plan_lines(plan, self.describe(), self.namespace, strict=strict,
                           dry_run=dry_run)
        if dry_run:
            return [*lines, "Dry run: nothing was sent"]
        answer = self._call("PUT", "migrate", upload_body(plan, self.namespace, strict))
        if isinstance(answer, dict):
            lines += [f"warning: {w}" for w in answer.get("warnings") or []]
        return [*lines, f"Migration succeeded in namespace {self.namespace}: {plan.path}"]

    def hosts(self) -> dict[str, Any]:
        """The production's status and each host's supervisor (engine extension route
        ``GET /hosts``)."""
        return self._object("GET", "hosts")  # type: ignore[no-any-return]

    # ------------------------------------------------------------ credentials (engine extension)
    def credentials(self) -> list[dict[str, Any]]:
        data = self._call("GET", "credentials")
        return data if isinstance(data, list) else []

    def save_credentials(self, name: str, username: str, password: str,
                         user: str = "") -> dict[str, Any]:
        # The server records its own authenticated account, never a name sent to it.
        return self._object("PUT", "credentials",  # type: ignore[no-any-return]
                            {"name": name, "username": username, "password": password})

    def remove_credentials(self, name: str, user: str = "") -> dict[str, Any]:
        return self._object("DELETE", "credentials", name=name)  # type: ignore[no-any-return]

    # ------------------------------------------------------------ messages (engine extension)
    def messages(self, **filters: Any) -> list[dict[str, Any]]:
        data = self._call("GET", "messages", **filters)
        return data if isinstance(data, list) else []

    def message_counts(self, **filters: Any) -> dict[str, int]:
        # A status named "error" is a count here, not a failure: no error-key check.
        data = self._call("GET", "messages", count="1", check_error_key=False, **filters)
        if not isinstance(data, dict):
            raise RemoteError(f"{self.url} answered GET /api/iop/messages?count=1 with "
                              f"{type(data).__name__}, not a JSON object")
        return data

    # ------------------------------------------------------------ operations (engine extension)
    def suspended(self) -> list[dict[str, Any]]:
        data = self._call("GET", "suspended")
        return data if isinstance(data, list) else []

    def resubmit(self, ids: list[int], body: str | None = None) -> Any:
        request: dict[str, Any] = {"ids": ids}
        if body is not None:
            request["body"] = body
        return self._call("POST", "resubmit", request)

    def discard(self, ids: list[int]) -> list[dict[str, Any]]:
        data = self._call("POST", "discard", {"ids": ids})
        return data if isinstance(data, list) else []

    def purge(self, keep_days: float, bodies: bool = False,
              include_incomplete: bool = False, dry_run: bool = False) -> dict[str, Any]:
        body = {"keep_days": keep_days, "bodies": bodies, "include_incomplete": include_incomplete}
        if dry_run:
            body["dry_run"] = True
        return self._object("POST", "purge", body)  # type: ignore[no-any-return]

    def recover(self) -> dict[str, str]:
        return self._object("POST", "recover", {})  # type: ignore[no-any-return]
