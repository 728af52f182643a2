"""Turn result rows into the human table and the one-line JSON document."""

from __future__ import annotations

import json
import math
from typing import Any

COLUMNS = ("scenario", "parameters", "rate", "unit", "p50 ms", "p99 ms", "RSS bench MB",
           "RSS jobs MB", "CPU µs/unit", "x store limit", "target")


def add_ratios(results: list[dict[str, Any]], limit: float | None) -> None:
    """Each row's rate as a fraction of the store's single-row commit limit (same run)."""
    for res in results:
        rate = res.get("rate")
        if res["unit"] == "µs/hop":
            rate = res["extra"].get("hops_per_s")
        if rate is None or not limit or (isinstance(rate, float) and math.isnan(rate)):
            res["ratio_to_store_limit"] = None
        else:
            res["ratio_to_store_limit"] = rate / limit


def _num(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def _params(res: dict[str, Any]) -> str:
    text = " ".join(f"{k}={v}" for k, v in res["params"].items())
    if res["unit"] == "µs/hop":
        text += f" ({_num(res['extra'].get('hops_per_s'))} hops/s)"
    return text


def table(results: list[dict[str, Any]]) -> str:
    """A fixed-width table, one line per result row."""
    lines = []
    for res in results:
        rate_digits = 1 if res["unit"] == "µs/hop" else 0
        lines.append((
            res["scenario"], _params(res), _num(res["rate"], rate_digits), res["unit"],
            _num(res["p50_ms"], 2), _num(res["p99_ms"], 2), _num(res["rss_bench_mb"], 1),
            _num(res["rss_jobs_mb"], 1),
            _num((res["extra"].get("cpu") or {}).get("total_us_per_unit")),
            _num(res.get("ratio_to_store_limit"), 3),
            res.get("target") or "",
        ))
    widths = [max(len(str(c)) for c in col) for col in zip(COLUMNS, *lines, strict=False)]
    right = {2, 4, 5, 6, 7, 8, 9}

    def fmt(cells: tuple[Any, ...]) -> str:
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    out = [fmt(COLUMNS), fmt(tuple("-" * w for w in widths))]
    out += [fmt(line) for line in lines]
    return "\n".join(out)


def json_line(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    """The machine-readable summary: one line, ``{"bench": "iop-engine", "results": [...]}``."""
    def clean(value: Any) -> Any:
        if isinstance(value, float):
            return None if math.isnan(value) or math.isinf(value) else round(value, 4)
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        return value

    return json.dumps({"bench": "iop-engine", "meta": clean(meta), "results": clean(results)},
                      ensure_ascii=False, separators=(",", ":"))
