"""A message search's result as a CSV or JSON download: columns, cells safe to open in a
spreadsheet, and the response headers that make a browser save the file."""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any

from starlette.responses import Response

COLUMNS = ("id", "time_created", "session_id", "source", "target", "type", "status",
           "body_class", "error", "body")
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Excel's longest cell: a longer body is cut there (the JSON export keeps it whole).
CELL_MAX = 32_000


def utc_iso(epoch: float | None) -> str:
    """``2026-12-07T18:51:01.123Z``, or "" for no time."""
    if not epoch:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + \
        f".{int((epoch % 1) * 1000):03d}Z"


def safe_cell(value: Any) -> str:
    """A CSV cell's text that no spreadsheet runs as a formula (a leading ' keeps it text)."""
    text = "" if value is None else str(value)
    if len(text) > CELL_MAX:
        text = text[:CELL_MAX] + "…(cut)"
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _row(m: dict[str, Any]) -> dict[str, Any]:
    return {**{c: m.get(c) for c in COLUMNS}, "time_created": utc_iso(m.get("created"))}


def csv_text(messages: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for m in messages:
        row = _row(m)
        writer.writerow([safe_cell(row[c]) for c in COLUMNS])
    return out.getvalue()


def json_text(messages: list[dict[str, Any]], namespace: str, filters: dict[str, Any],
              limit: int) -> str:
    """The export as one JSON document; a body that is JSON is kept as JSON."""
    rows = []
    for m in messages:
        row = _row(m)
        try:
            row["body"] = json.loads(row["body"]) if row["body"] is not None else None
        except ValueError:
            pass  # a body that is not JSON stays its text
        rows.append(row)
    return json.dumps({"namespace": namespace, "exported": utc_iso(time.time()),
                       "filters": filters, "limit": limit, "count": len(rows),
                       "messages": rows}, ensure_ascii=False, indent=1)


def download(text: str, kind: str, namespace: str, headers: dict[str, str]) -> Response:
    """``text`` as a ``messages-NAMESPACE-TIME.csv`` (or .json) attachment."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    media = "text/csv; charset=utf-8" if kind == "csv" else "application/json"
    # The namespace is validated as [A-Z0-9_%-]; keep the file name to safe characters.
    name = "".join(ch for ch in f"messages-{namespace}-{stamp}.{kind}"
                   if ch.isalnum() or ch in "-_.")
    return Response(text, media_type=media, headers={
        **headers, "Content-Disposition": f'attachment; filename="{name}"'})
