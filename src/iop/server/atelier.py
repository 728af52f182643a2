"""The two Atelier routes `iop -i` uses remotely; here they create or upgrade a namespace.

There is no ObjectScript to keep: uploaded class documents are acknowledged and dropped,
and the compile request that follows means "initialise this namespace" (create its store or
upgrade its schema), which is what compiling the IoP classes prepares on IRIS.
"""

from __future__ import annotations

from typing import Any

from iop.server.namespaces import Namespaces

_NO_ERRORS = {"errors": [], "summary": ""}


def handle(namespaces: Namespaces, method: str, namespace: str, rest: str,
           body: Any) -> tuple[dict[str, Any], int]:
    """(JSON answer, HTTP status) for ``method /api/atelier/v1/<namespace>/<rest>``."""
    if method == "PUT" and rest.startswith("doc/") and len(rest) > 4:
        return {"status": _NO_ERRORS, "console": [],
                "result": {"name": rest[4:], "content": []}}, 200
    if method == "POST" and rest.rstrip("/") == "action/compile":
        version = namespaces.initialize(namespace)
        line = f"Namespace {namespace} initialised by iop-engine (store schema version {version})"
        return {"status": _NO_ERRORS, "console": [line], "result": {"content": []}}, 200
    return {"error": f"no Atelier route {method} {rest} on this server"}, 404
