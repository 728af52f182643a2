"""A deployed production rebuilt from a server's answers, for remote `-e --format ...` and plans.

Locally the store resolves each item's class (its kind and its target ports). Remotely the
classes may not be importable here, so the server's /connections answer supplies what they
would: each item's kind and the items it sends to. Settings naming those items become the
item's ports, so their routes show as deployed (runtime) routes rather than guesses.
"""

from __future__ import annotations

from typing import Any

from iop.production.deployed import from_export
from iop.production.graph import RUNTIME
from iop.production.production import Production


def from_remote(client: Any, name: str) -> Production:
    """The production ``name`` as the server deploys it."""
    definition = client.export(name)
    try:
        answer = client.connections(name)
    except Exception:  # like IoP's client: carry on with inferred kinds and routes
        answer = {}
    production = from_export(definition, answer)
    production._route_origin = RUNTIME  # read from the deployed production (see from_store)
    return production
