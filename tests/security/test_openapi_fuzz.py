"""A property-based pass over /api/iop/openapi.json (schemathesis): requests generated from
the document, valid and deliberately invalid, sent by an authenticated caller to a real
`iop --serve`, must never get a 500 (our bug) and must answer errors as one JSON line.

Bounded: 30 examples per operation and mode, derandomized (the same cases every run),
each request under 30 s. Routes whose calls spawn a child process that imports the project
(test, migrate, connections, configuration, PUT item: about a second each) get 6 examples.
Left out: start, stop, kill, restart and update, whose generated calls would start and stop
productions (seconds each, and a running production would change what the other routes
answer); test_http_edge checks their input by hand.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from remote_server import ADMIN, SCENARIO_SETTINGS, ServedEngine, basic
from schemathesis import GenerationMode

from iop.server.api import ROUTES

EXAMPLES = 30
SLOW_EXAMPLES = 6
LIFECYCLE = {("POST", "start"), ("POST", "stop"), ("POST", "kill"), ("POST", "restart"),
             ("POST", "update")}
SLOW = {("POST", "test"), ("PUT", "migrate"), ("GET", "connections"), ("GET", "configuration"),
        ("PUT", "item")}
FUZZED = sorted(key for key in ROUTES if key not in LIFECYCLE)


@pytest.fixture(scope="module")
def fuzz_ns(served: ServedEngine) -> str:
    """A namespace holding the scenario's production (stopped), default and bindings."""
    namespace = served.new_namespace("FUZZ")
    with served.http() as http:
        answer = http.put("/api/iop/migrate", params={"namespace": namespace}, json={
            "package": "python", "settings_file": "settings.py",
            "body": [{"name": "settings.py", "data": SCENARIO_SETTINGS}]})
    assert answer.status_code == 200, answer.text
    return namespace


@pytest.fixture(scope="module")
def schema(served: ServedEngine) -> Any:
    """The OpenAPI document as the server publishes it (to its authenticated callers)."""
    with served.http() as http:
        document = http.get("/api/iop/openapi.json").json()
    return schemathesis.openapi.from_dict(document)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["valid", "invalid"])
@pytest.mark.parametrize("method,route", FUZZED, ids=[f"{m} {r}" for m, r in FUZZED])
def test_no_generated_request_gets_a_500(served: ServedEngine, fuzz_ns: str, schema: Any,
                                         method: str, route: str,
                                         mode: GenerationMode) -> None:
    operation = schema[f"/api/iop/{route}"][method]
    auth = {"Authorization": basic(*ADMIN)}
    started = time.monotonic()
    seen: list[int] = []

    examples = SLOW_EXAMPLES if (method, route) in SLOW else EXAMPLES

    @settings(max_examples=examples, deadline=timedelta(seconds=30), derandomize=True,
              database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def generated(case: Any) -> None:
        # The namespace is fixed, so calls reach the route (namespace checks: test_http_edge).
        case.query = {**(case.query or {}), "namespace": fuzz_ns}
        response = case.call(base_url=served.url, headers=auth, timeout=30)
        seen.append(response.status_code)
        assert response.status_code < 500, \
            f"{method} /api/iop/{route} {case.query} {case.body!r}: {response.text[:300]}"
        if response.status_code >= 400:
            error = response.json()
            assert list(error) == ["error"] and "\n" not in error["error"], error

    generated()
    assert seen, "no request was generated"
    assert time.monotonic() - started < 300
    with httpx.Client(base_url=served.url, headers=auth, timeout=30) as http:  # still serving
        assert http.get("/api/iop/status", params={"namespace": fuzz_ns}).status_code == 200
