"""iop.engine.outage: how an engine process waits out a store outage (backoff, the spell it
reports, the alert limit). The processes that use it are tested in tests/faults."""

from __future__ import annotations

import time

import pytest

from iop.engine.outage import (
    ALERT_ENV,
    DEFAULT_ALERT_SECONDS,
    MAX_PAUSE,
    Outage,
    alert_seconds,
    spell_entries,
    stop_seconds,
)
from iop.errors import StoreUnavailable
from iop.store import records as r
from iop.store.outage_record import OutageRecord


def test_pauses_double_from_a_tenth_of_a_second_to_five_with_jitter(
        capsys: pytest.CaptureFixture[str]) -> None:
    outage = Outage("test", alert_after=1000)
    exc = StoreUnavailable("server closed the connection")
    pauses = [outage.hit(exc) for _ in range(10)]
    bounds = [min(MAX_PAUSE, 0.1 * 2 ** i) for i in range(10)]
    assert all(bound / 2 <= pause <= bound for pause, bound in zip(pauses, bounds, strict=True))
    assert len(set(pauses)) > 1
    said = capsys.readouterr().err.splitlines()
    assert len(said) == 1 and "test: store unavailable: server closed the connection" in said[0]
    spell = outage.back()
    assert spell is not None and spell.cause == "server closed the connection"
    assert outage.back() is None and outage.since is None
    assert outage.take_ended() == [spell] and outage.take_ended() == []
    # A new outage starts over at a tenth of a second.
    assert 0.05 <= outage.hit(exc) <= 0.1


def test_call_retries_through_an_outage_and_gives_up_on_stop_or_deadline() -> None:
    outage = Outage("test")
    failures = iter([StoreUnavailable("down"), StoreUnavailable("down")])

    def flaky() -> str:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return "stored"

    started = time.monotonic()
    assert outage.call(flaky) == "stored"
    assert 0.1 <= time.monotonic() - started < 2
    assert [s.cause for s in outage.take_ended()] == ["down"]

    def down() -> str:
        raise StoreUnavailable("still down")

    with pytest.raises(StoreUnavailable, match="still down"):
        outage.call(down, stop=lambda: True)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        outage.call(down, deadline=time.monotonic() + 0.5)
    assert time.monotonic() - started < 1.5


def test_the_alert_limit_comes_from_the_setting_else_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALERT_ENV, raising=False)
    assert alert_seconds() == DEFAULT_ALERT_SECONDS
    assert alert_seconds("5") == 5.0
    monkeypatch.setenv(ALERT_ENV, "12.5")
    assert alert_seconds(None) == 12.5 and alert_seconds("3") == 3.0
    assert alert_seconds("soon") == 12.5  # not a number: as if not given
    monkeypatch.setenv(ALERT_ENV, "never")
    assert alert_seconds() == DEFAULT_ALERT_SECONDS


def test_a_spell_is_two_log_lines_the_first_dated_when_the_outage_began() -> None:
    outage = Outage("test")
    outage.hit(StoreUnavailable("terminating connection due to administrator command"))
    spell = outage.back()
    assert spell is not None
    lines = spell_entries(spell, lambda level, text: r.LogEntry(type=level, text=text))
    assert [e.type for e in lines] == ["warning", "info"]
    assert lines[0].time == spell.since
    assert lines[0].text.startswith("store unavailable since ")
    assert lines[0].text.endswith("administrator command")
    assert lines[1].text.startswith("store available again after ")


def test_the_store_and_the_engine_share_one_record_of_an_outage(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A backend that saw the outage first (SQLite's full disk) and the engine waiting it out
    keep one record: the engine sees it began, and its end when a write passed."""
    record = OutageRecord()
    assert record.begin("disk full") is True and record.begin("disk full") is False
    outage = Outage("test", alert_after=1000, record=record)
    assert outage.since == record.since and outage.cause == "disk full"
    assert 0.05 <= outage.hit(StoreUnavailable("disk full")) <= 0.1
    assert "test: store unavailable: disk full" in capsys.readouterr().err
    spell = record.end()  # the backend's write passed
    assert spell is not None and outage.since is None and outage.back() is None
    assert outage.take_ended() == [spell] and record.ended == []


def test_the_stop_limit_is_never_unless_a_positive_number() -> None:
    assert [stop_seconds(v) for v in (None, "", "0", "-5", "soon", "3", 2.5)] == \
        [0.0, 0.0, 0.0, 0.0, 0.0, 3.0, 2.5]
