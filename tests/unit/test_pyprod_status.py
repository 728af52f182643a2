"""Status values and how callback results split into (status, response)."""

from __future__ import annotations

import logging

import pytest

from intersystems_pyprod import IRISLog, JsonSerialize, Status, debug_host
from intersystems_pyprod._status import as_status, split_result

iris_package_name = "unitstatus"


class Reply(JsonSerialize):
    text: str


def test_ok_and_error_forms() -> None:
    ok, bad = Status.OK(), Status.ERROR("disk full")
    assert ok and ok == 1 and ok.ok and ok.text == "" and str(ok) == "OK"
    assert not bad and bad != 1 and bad == 0 and bad.text == "disk full"
    assert str(bad) == "ERROR #5001: disk full" and repr(bad) == "Status.ERROR('disk full')"
    assert Status.IsOK(ok) and Status.IsError(bad) and Status.IsOK(1) and Status.IsError(0)
    assert Status.Error("x") == Status.ERROR("x")


@pytest.mark.parametrize("value, ok", [(None, True), (1, True), (True, True), ("1", True),
                                       (0, False), (False, False), ("0 broken", False)])
def test_values_a_callback_may_return_as_status(value: object, ok: bool) -> None:
    assert as_status(value).ok is ok


def test_error_text_from_an_iris_status_string() -> None:
    assert as_status("0 broken").text == "broken"


def test_not_a_status_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="MyOp.OnMessage returned float"):
        as_status(1.5, "MyOp.OnMessage")


def test_split_result_forms() -> None:
    reply = Reply("r")
    assert split_result((Status.OK(), reply)) == (Status.OK(), reply)
    assert split_result(Status.ERROR("e")) == (Status.ERROR("e"), None)
    assert split_result((Status.OK(),)) == (Status.OK(), None)
    assert split_result(None) == (Status.OK(), None)
    assert split_result(reply) == (Status.OK(), reply)  # iop style: a bare response
    with pytest.raises(TypeError, match="returned 3 values"):
        split_result((Status.OK(), reply, reply), "X.OnRequest")


def test_irislog_outside_a_production_goes_to_python_logging(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="intersystems_pyprod"):
        IRISLog.Info("hello")
        IRISLog.Warning("careful")
        IRISLog.Trace("detail")
        IRISLog.Status(Status.ERROR("bad"))
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "hello"), ("WARNING", "careful"), ("DEBUG", "detail"),
        ("ERROR", "ERROR #5001: bad")]


def test_debug_host_without_a_debugger_warns_and_carries_on(
        caplog: pytest.LogCaptureFixture) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with caplog.at_level(logging.WARNING, logger="intersystems_pyprod"):
        assert debug_host("127.0.0.1", port) is None
    [record] = caplog.records
    # Without debugpy installed the warning says so; with it, that nothing listens there.
    assert record.levelname == "WARNING" and record.getMessage().startswith("debug_host: ")
    assert "carrying on" in record.getMessage()
