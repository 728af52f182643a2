"""The two Atelier routes `iop -i` uses remotely; here they create or upgrade a namespace."""

from __future__ import annotations

from typing import Any

from iop.server.namespaces import Namespaces


def handle(namespaces: Namespaces, method: str, namespace: str, rest: str,
           body: Any) -> tuple[dict[str, Any], int]:
    """Accept uploaded class documents (there is no ObjectScript to keep) and treat the
    compile request as "initialise this namespace"."""
    if method == "PUT" and rest.startswith("doc/"):
        return {"status": {"errors": [], "summary": ""}, "console": [],
                "result": {"name": rest[4:], "content": []}}, 200
    if method == "POST" and rest.startswith("action/compile"):
        version = namespaces.initialize(namespace)
        line = f"Namespace {namespace.upper()} initialised by iop-engine (store schema version {version})"
        return {"status": {"errors": [], "summary": ""}, "console": [line],
                "result": {"content": []}}, 200
    return {"error": f"no Atelier route {method} {rest}"}, 404
