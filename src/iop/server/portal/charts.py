"""The production monitor's message rate chart: bars per minute over the last hour, laid out
here and drawn as inline SVG by the template (no chart library, nothing from a CDN)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 720, 170, 44, 10, 12, 24


@dataclass
class Bar:
    x: float
    width: float
    y: float  # top of the messages bar
    error_y: float  # top of the errors bar (drawn over it)
    messages: int
    errors: int
    label: str  # the minute, HH:MM UTC


@dataclass
class RateChart:
    width: int
    height: int
    bars: list[Bar]
    ticks: list[tuple[float, str]]  # x, HH:MM of the x axis
    top_label: str  # the y axis' top value, per minute
    base_y: float
    plot_left: int
    total: int
    errors: int


def _nice(peak: int) -> int:
    """The y axis' top: 1, 2 or 5 times a power of ten, at least ``peak``."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= peak:
                return step * factor
        step *= 10


def rate_chart(rate: list[dict[str, Any]]) -> RateChart:
    """Bars for each minute of ``rate`` (oldest first), scaled to its busiest minute."""
    top = _nice(max([m["messages"] for m in rate] + [m["errors"] for m in rate] + [1]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(rate), 1)
    base = TOP + plot_h
    bars, ticks = [], []
    for index, minute in enumerate(rate):
        x = LEFT + index * slot
        label = time.strftime("%H:%M", time.gmtime(minute["minute"]))
        bars.append(Bar(round(x + 0.5, 1), round(max(slot - 1, 1), 1),
                        round(base - plot_h * minute["messages"] / top, 1),
                        round(base - plot_h * minute["errors"] / top, 1),
                        minute["messages"], minute["errors"], label))
        if index % 15 == 0 or index == len(rate) - 1:
            ticks.append((round(x + slot / 2, 1), label))
    return RateChart(WIDTH, HEIGHT, bars, ticks, f"{top}/min", base, LEFT,
                     sum(m["messages"] for m in rate), sum(m["errors"] for m in rate))
