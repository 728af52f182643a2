"""RemoteClient: every operation sent to a server's /api/iop (shared/spec/remote-api.md)."""

from __future__ import annotations

import ast
import os
from typing import Any

import httpx

from iop.engine.errors import EngineError

TIMEOUT_SECONDS = 30.0


class RemoteError(EngineError):
    """The server refused or failed the request; the message is the server's."""


def read_remote_settings(path: str) -> dict[str, Any] | None:
    """The literal ``REMOTE_SETTINGS = {...}`` of a Python file, read without running it."""
    try:
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "REMOTE_SETTINGS" for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                return None
            return value if isinstance(value, dict) and value.get("url") else None
    return None


def _collect_files(folder: str) -> list[dict[str, str]]:
    files = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for name in sorted(names):
            if name.endswith((".py", ".cls")):
                path = os.path.join(root, name)
                rel = os.path.relpath(path, folder).replace(os.sep, "/")
                with open(path, encoding="utf-8") as fh:
                    files.append({"name": rel, "data": fh.read()})
    return files


class RemoteClient:
    """Client of a remote engine (or IRIS with IoP) over HTTP Basic auth."""

    mode = "remote"

    def __init__(self, url: str, username: str = "", password: str = "",
                 namespace: str = "USER", verify_ssl: bool = True) -> None:
        self.url = url.rstrip("/")
        self.namespace = namespace or "USER"
        self._http = httpx.Client(base_url=self.url, auth=(username or "", password or ""),
                                  timeout=TIMEOUT_SECONDS, verify=verify_ssl)

    def describe(self) -> str:
        return f"Mode: REMOTE ({self.url})"

    def _call(self, method: str, route: str, body: Any = None, **query: Any) -> Any:
        params = {"namespace": self.namespace, **{k: v for k, v in query.items() if v is not None}}
        try:
            response = self._http.request(method, f"/api/iop/{route}", params=params,
                                          json=body if method in ("POST", "PUT") else None)
        except httpx.HTTPError as exc:
            raise RemoteError(f"cannot reach {self.url}: {exc}") from exc
        try:
            data = response.json() if response.content else {}
        except ValueError:
            data = None
        if response.status_code >= 300:
            detail = data.get("error") if isinstance(data, dict) else None
            raise RemoteError(f"{response.status_code} {response.reason_phrase}: "
                              f"{detail or response.text.strip() or response.reason_phrase}")
        if isinstance(data, dict) and "error" in data:
            raise RemoteError(str(data["error"]))
        return data

    # ------------------------------------------------------------ productions
    def status(self) -> dict[str, str]:
        return self._call("GET", "status")  # type: ignore[no-any-return]

    def list_productions(self) -> dict[str, dict[str, Any]]:
        return self._call("GET", "list")  # type: ignore[no-any-return]

    def get_default(self) -> str:
        return str(self._call("GET", "default").get("production") or "")

    def set_default(self, production: str) -> str:
        return str(self._call("PUT", "default", {"production": production}).get("production"))

    def start(self, production: str | None = None) -> dict[str, str]:
        return self._call("POST", "start", {"production": production or self.get_default()})  # type: ignore[no-any-return]

    def stop(self) -> dict[str, str]:
        return self._call("POST", "stop", {})  # type: ignore[no-any-return]

    def kill(self) -> dict[str, str]:
        return self._call("POST", "kill", {})  # type: ignore[no-any-return]

    def restart(self) -> dict[str, str]:
        return self._call("POST", "restart", {})  # type: ignore[no-any-return]

    def update(self) -> dict[str, str]:
        return self._call("POST", "update", {})  # type: ignore[no-any-return]

    def component(self, action: str, item: str) -> None:
        self._call("POST", f"component/{action}", {"component": item})

    def export(self, production: str | None = None) -> dict[str, Any]:
        name = production or self.get_default() or "Not defined"
        data = self._call("GET", "export", production=name)
        if isinstance(data, dict) and "Production" not in data and len(data) == 1:
            return {"Production": next(iter(data.values()))}
        return data  # type: ignore[no-any-return]

    def connections(self, production: str | None = None) -> dict[str, Any]:
        return self._call("GET", "connections", production=production or self.get_default())  # type: ignore[no-any-return]

    def queues(self, production: str | None = None) -> dict[str, Any]:
        name = production or self.get_default()
        if not name:
            raise RemoteError("no production given and no default production is set")
        return self._call("GET", "queues", production=name)  # type: ignore[no-any-return]

    # ------------------------------------------------------------ log, test, bindings
    def log(self, top: int | None = None, since_id: int | None = None) -> list[dict[str, Any]]:
        if since_id is not None:
            return self._call("GET", "log", since_id=since_id)  # type: ignore[no-any-return]
        return self._call("GET", "log", top=10 if top is None else top)  # type: ignore[no-any-return]

    def test(self, target: str, classname: str | None = None, body: Any = None,
             restart: bool = False) -> dict[str, Any]:
        payload: dict[str, Any] = {"target": target, "restart": restart}
        if classname:
            payload["classname"] = classname
        if body is not None:
            payload["body"] = body
        return self._call("POST", "test", payload)  # type: ignore[no-any-return]

    def bindings(self, unused: bool = False) -> list[dict[str, Any]]:
        data = self._call("GET", "bindings", unused="1" if unused else None)
        return data if isinstance(data, list) else []

    def unbind(self, class_name: str) -> None:
        self._call("DELETE", "binding", **{"class": class_name})

    # ------------------------------------------------------------ migration
    def migrate(self, path: str, dry_run: bool = False, strict: bool = False,
                **_: Any) -> list[str]:
        from iop.migration.loader import collect, load_settings_module

        path = os.path.abspath(path)
        module = load_settings_module(path)
        bindings, productions = collect(module, path)
        lines = [self.describe(), f"Namespace: {self.namespace}", "CLASSES:"]
        lines += [f"  {b.class_name} -> {b.module}.{b.classname} ({b.kind})" for b in bindings] \
            or ["  (none)"]
        lines += ["PRODUCTIONS:"] + ([f"  {name}" for name, _ in productions] or ["  (none)"])
        if dry_run:
            return [*lines, "Dry run: nothing was sent"]
        settings = getattr(module, "REMOTE_SETTINGS", None) or {}
        self._call("PUT", "migrate", {
            "namespace": self.namespace, "package": settings.get("package", "python"),
            "remote_folder": settings.get("remote_folder", ""),
            "settings_file": os.path.basename(path),
            "strict_production_validation": bool(strict),
            "body": _collect_files(os.path.dirname(path)),
        })
        return [*lines, f"Migration succeeded in namespace {self.namespace}: {path}"]

    # ------------------------------------------------------------ messages (engine extension)
    def messages(self, **filters: Any) -> list[dict[str, Any]]:
        return self._call("GET", "messages", **{k: v for k, v in filters.items() if v is not None})  # type: ignore[no-any-return]

    def message_counts(self) -> dict[str, int]:
        return self._call("GET", "messages", count="1")  # type: ignore[no-any-return]
