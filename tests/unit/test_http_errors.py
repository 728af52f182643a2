"""The API's pure edge helpers: which status an error means, JSON depth, numeric queries."""

from __future__ import annotations

import json

import pytest

from iop.client.operator import MessageNotFound
from iop.components.engine_services import HostNotInProduction
from iop.engine.errors import AlreadyRunning, Busy, EngineError, NotRunning, UnknownProduction
from iop.engine.suspended import NotSuspended
from iop.errors import CliError, RemoteError
from iop.messages.codec import MessageError
from iop.production.errors import ProductionError
from iop.server.auth import Forbidden, Unauthorized
from iop.server.http import (
    BadRequest,
    MethodNotAllowed,
    NoRoute,
    TooLarge,
    UnsupportedMediaType,
    check_depth,
    error_for,
    query_int,
    status_for,
)
from iop.server.isolated import IsolatedError
from iop.server.login_limits import LoginRefused
from iop.server.namespaces import InvalidNamespaceName, ReservedNamespace, UnknownNamespace
from iop.server.password_pool import HashPoolBusy
from iop.server.portal.files import OutsideRoots
from iop.server.uploads import UploadRejected
from iop.store.errors import StoreError


@pytest.mark.parametrize("exc,status", [
    (Unauthorized("x"), 401), (Forbidden("x"), 403), (ReservedNamespace("%SYS"), 403),
    (InvalidNamespaceName("../x"), 400), (UnknownNamespace("NOPE"), 404),
    (BadRequest("x"), 400), (UploadRejected("x"), 400), (EngineError("x"), 400),
    (ProductionError("x"), 400), (MessageError("x"), 400),
    (UnknownProduction("x"), 404), (MessageNotFound("x"), 404), (NoRoute("x"), 404),
    (MethodNotAllowed("x"), 405), (AlreadyRunning("x"), 409), (NotRunning("x"), 409),
    (NotSuspended("x"), 409), (Busy("x"), 409), (TooLarge(10), 413),
    (UnsupportedMediaType("x"), 415), (StoreError("x"), 503),
    (IsolatedError("x", 404), 404), (IsolatedError("x", "nonsense"), 400),
    (OutsideRoots("x"), 403), (LoginRefused("x", 3), 429), (HashPoolBusy("x"), 503),
    (RemoteError("x"), 400), (HostNotInProduction("x"), 500), (CliError("x"), 500),
    (KeyError("x"), 500), (ValueError("x"), 500), (TypeError("x"), 500)])
def test_each_error_means_one_status(exc: Exception, status: int) -> None:
    assert status_for(exc) == status
    answer = error_for(exc)
    assert answer.status_code == status
    body = json.loads(bytes(answer.body))
    assert list(body) == ["error"] and "\n" not in body["error"]


def test_refusals_that_say_when_to_retry_say_it() -> None:
    assert error_for(LoginRefused("x", 2.5)).headers["Retry-After"] == "3"
    assert error_for(HashPoolBusy("x")).headers["Retry-After"] == "1"
    assert error_for(Unauthorized("x")).headers["WWW-Authenticate"].startswith("Basic")


def test_an_error_answer_is_its_first_line_only() -> None:
    body = json.loads(bytes(error_for(EngineError("first line\nTraceback: secret")).body))
    assert body == {"error": "first line"}


@pytest.mark.parametrize("raw", [b"{}", b"[" * 64 + b"]" * 64, b'{"a": "[[[[' + b"[" * 100 + b'"}',
                                 b'["\\"[[[[' + b"{" * 100 + b'"]'])
def test_depth_within_the_bound_or_inside_strings_passes(raw: bytes) -> None:
    check_depth(raw)


@pytest.mark.parametrize("raw", [b"[" * 65, b'{"a": ' * 65, b'["\\\\", ' + b"[" * 65 + b"]"])
def test_depth_over_the_bound_is_refused(raw: bytes) -> None:
    with pytest.raises(BadRequest, match="deeper than 64"):
        check_depth(raw)


@pytest.mark.parametrize("text,expected", [(None, None), ("", None), (" 7 ", 7), ("0", 0)])
def test_query_int_reads_whole_numbers(text: str | None, expected: int | None) -> None:
    query = {} if text is None else {"n": text}
    assert query_int(query, "n") == expected


@pytest.mark.parametrize("text", ["-1", "1.5", "ten", str(2**63), "0x10"])
def test_query_int_refuses_the_rest(text: str) -> None:
    with pytest.raises(BadRequest, match="n must be a whole number from 0 to"):
        query_int({"n": text}, "n")
    with pytest.raises(BadRequest, match="from 1 to 10"):
        query_int({"n": "11"}, "n", 1, 10)
