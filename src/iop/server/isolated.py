"""Calls that import user code run in a short-lived child process, not in the server.

A long-running, multi-namespace server must not keep user modules in its own ``sys.modules``:
a re-uploaded project would keep running its old code, and two namespaces that both have a
``settings`` module would see each other's. So ``migrate``, ``test``, ``connections``,
``start``/``restart`` (which load the production's classes before spawning it) and an edited
``resubmit`` (which checks the body against its class) run here:
``python -m iop.server.isolated`` reads one JSON request on stdin and writes one JSON answer
on its original stdout; whatever user code prints goes to stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from iop.engine.errors import EngineError

# Variables that would send the child to another server, namespace or user.
_DROPPED_ENV = ("IOP_URL", "IOP_SETTINGS", "IOP_USERNAME", "IOP_PASSWORD", "IOP_NAMESPACE")
CALLS = ("migrate", "test", "connections", "start", "restart", "configuration", "save_item",
         "resubmit")


class IsolatedError(EngineError):
    """What the child refused; ``status`` is the HTTP status its own error meant there."""

    def __init__(self, message: str, status: Any = 400) -> None:
        super().__init__(message)
        self.status = status if isinstance(status, int) and 400 <= status <= 599 else 400


def _neutral_folder() -> str:
    # `python -m` puts its working folder first on sys.path: it must not be a folder where a
    # stray settings.py could shadow the uploaded project's.
    from iop.store import iop_home

    os.makedirs(iop_home(), exist_ok=True)
    return iop_home()


def call(namespace: str, method: str, seconds: float, /, **kwargs: Any) -> Any:
    """Run ``LocalClient(namespace).<method>(**kwargs)`` in a child; its result or its error."""
    if method not in CALLS:
        raise ValueError(f"{method} is not an isolated call")
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    request = json.dumps({"namespace": namespace, "method": method, "kwargs": kwargs})
    try:
        done = subprocess.run([sys.executable, "-m", "iop.server.isolated"], input=request,
                              capture_output=True, text=True, env=env,
                              timeout=max(1.0, seconds), cwd=_neutral_folder())
    except subprocess.TimeoutExpired as exc:
        raise EngineError(f"{method} did not finish within {seconds:.0f} s") from exc
    lines = done.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict):
        errors = [x for x in done.stderr.splitlines() if x.strip()]
        raise EngineError(f"{method} failed (exit code {done.returncode})"
                          + (f": {errors[-1]}" if errors else ""))
    if "error" in answer:
        raise IsolatedError(str(answer["error"]), answer.get("status"))
    return answer.get("result")


def _serve_one(request: dict[str, Any]) -> Any:
    from iop.client.local import LocalClient
    from iop.store import open_store

    store = open_store(request["namespace"], initialize=False)
    client = LocalClient(request["namespace"], store=store)
    method = request["method"]
    if method not in CALLS:
        raise EngineError(f"{method} is not an isolated call")
    return getattr(client, method)(**request["kwargs"])


def main() -> int:
    # Keep the real stdout for the answer; user code that prints writes to stderr instead.
    answer_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        result: dict[str, Any] = {"result": _serve_one(json.loads(sys.stdin.read()))}
        code = 0
    except Exception as exc:  # the server turns this into one JSON error line
        from iop.server.http import status_for

        text = str(exc).strip().splitlines()
        result = {"error": text[0] if text else type(exc).__name__, "status": status_for(exc)}
        code = 1
    with os.fdopen(answer_fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(result) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
