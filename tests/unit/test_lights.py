"""The production monitor's light rules (iop.client.lights) and its rate chart's layout."""

from __future__ import annotations

import pytest

from iop.client.health import error_summary
from iop.client.lights import (
    DISABLED,
    ERROR,
    INACTIVE,
    RETRYING,
    RUNNING,
    STOPPED,
    ItemState,
    light,
)
from iop.server.portal.charts import rate_chart

RUNNING_OK = dict(enabled=True, production_running=True, jobs=1, unacknowledged_error=False,
                  retrying=False)


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, RUNNING),
    ({"enabled": False}, DISABLED),
    ({"enabled": False, "unacknowledged_error": True}, DISABLED),
    ({"unacknowledged_error": True}, ERROR),
    ({"unacknowledged_error": True, "production_running": False}, ERROR),
    ({"unacknowledged_error": True, "retrying": True}, ERROR),
    ({"production_running": False}, STOPPED),
    ({"jobs": 0}, STOPPED),
    ({"jobs": 0, "retrying": True}, STOPPED),
    ({"retrying": True}, RETRYING),
    ({"retrying": True, "inactivity_timeout": 5, "idle_seconds": 60}, RETRYING),
    ({"inactivity_timeout": 5, "idle_seconds": 60}, INACTIVE),
    ({"inactivity_timeout": 5, "idle_seconds": None}, RUNNING),
    ({"inactivity_timeout": 5, "idle_seconds": 4}, RUNNING),
    ({"inactivity_timeout": 0, "idle_seconds": 10_000}, RUNNING),
])
def test_light_rules(changes: dict[str, object], expected: str) -> None:
    assert light(ItemState(**{**RUNNING_OK, **changes})) == expected  # type: ignore[arg-type]


def test_error_summary_keeps_what_raised() -> None:
    text = ("error handling message 5: Traceback (most recent call last):\n  File \"x.py\", "
            "line 1, in f\nValueError: order 5 refused\n")
    assert error_summary(text) == "error handling message 5: ValueError: order 5 refused"
    assert error_summary("plain failure") == "plain failure"
    assert error_summary("") == ""


def test_rate_chart_scales_to_the_busiest_minute() -> None:
    rate = [{"minute": 60 * m, "messages": m % 7, "errors": 1 if m == 3 else 0}
            for m in range(60)]
    chart = rate_chart(rate)
    assert len(chart.bars) == 60 and chart.total == sum(m % 7 for m in range(60))
    assert chart.top_label == "10/min" and chart.errors == 1
    busiest = max(chart.bars, key=lambda b: b.messages)
    assert busiest.messages == 6 and busiest.y < chart.base_y
    assert all(b.y == chart.base_y for b in chart.bars if b.messages == 0)
    assert chart.ticks[0][1] == "00:00" and len(chart.ticks) == 5
