"""The differential tests' tally (tests/compat), kept where the root conftest can reach it:
under pytest-xdist the controller adds up what each worker counted and prints the line."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

WORKER_OUTPUT_KEY = "compat_tally"


@dataclass
class Tally:
    """How many compared calls were identical, and how many differ on purpose."""

    counts: Counter[str] = field(default_factory=Counter)

    def line(self) -> str:
        total = sum(self.counts.values())
        return (f"compat: {total} calls compared with IoP 4.1.1: "
                f"{self.counts['identical']} identical, "
                f"{self.counts['intended']} intended differences")


TALLY = Tally()
