"""Layouts of the two drawings: the production configuration (services, processes and
operations in three columns with route lines between them) and a session's trace (a
sequence diagram). Pure geometry; the templates turn it into SVG."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

COLUMNS = (("service", "Services"), ("process", "Processes"), ("operation", "Operations"))
BOX_W, BOX_H, ROW_H, COL_GAP, TOP, LEFT = 220, 34, 46, 110, 44, 16


@dataclass
class Box:
    name: str
    kind: str
    x: int
    y: int
    enabled: bool
    running: int  # live jobs
    class_name: str
    selected: bool = False
    problem: str | None = None
    light: str = ""  # the monitor's light (iop.client.lights); "" when unknown
    queue: int = 0  # messages in its queue
    error: str | None = None  # its error not yet acknowledged


@dataclass
class Line:
    source: str
    target: str
    path: str
    highlighted: bool = False


@dataclass
class ConfigDiagram:
    width: int
    height: int
    columns: list[tuple[str, int]]  # (title, x)
    boxes: list[Box] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)


def _column_of(kind: str | None) -> int:
    for index, (name, _) in enumerate(COLUMNS):
        if kind == name:
            return index
    return 2  # an item whose class cannot be loaded is drawn with the operations


def config_diagram(items: list[dict[str, Any]], selected: str | None,
                   running: dict[str, int],
                   health: dict[str, dict[str, Any]] | None = None) -> ConfigDiagram:
    """Boxes per column in configuration order, and a curve for each route; ``health``
    (the monitor's items by name) gives each box its light and queue."""
    rows = [0, 0, 0]
    boxes: dict[str, Box] = {}
    for item in items:
        column = _column_of(item.get("kind"))
        x = LEFT + column * (BOX_W + COL_GAP)
        y = TOP + rows[column] * ROW_H
        rows[column] += 1
        boxes[item["name"]] = Box(item["name"], item.get("kind") or "component", x, y,
                                  bool(item.get("enabled", True)), running.get(item["name"], 0),
                                  item.get("class_name", ""), item["name"] == selected,
                                  item.get("error"))
        found = (health or {}).get(item["name"])
        if found is not None:
            box = boxes[item["name"]]
            box.light, box.queue, box.error = found["light"], found["queue"], found["error"]
    lines = []
    for item in items:
        source = boxes[item["name"]]
        for target_name in item.get("connections") or []:
            target = boxes.get(target_name)
            if target is None:
                continue
            lines.append(Line(source.name, target.name, _route(source, target),
                              selected in (source.name, target.name)))
    height = TOP + max(max(rows), 1) * ROW_H + 10
    width = LEFT * 2 + 3 * BOX_W + 2 * COL_GAP
    columns = [(title, LEFT + i * (BOX_W + COL_GAP)) for i, (_, title) in enumerate(COLUMNS)]
    return ConfigDiagram(width, height, columns, list(boxes.values()), lines)


def _route(a: Box, b: Box) -> str:
    """A curve from a's right edge to b's left edge; a loop around when b is not to the right."""
    ay, by = a.y + BOX_H // 2, b.y + BOX_H // 2
    if b.x > a.x:
        x1, x2 = a.x + BOX_W, b.x
        mid = (x1 + x2) // 2
        return f"M{x1},{ay} C{mid},{ay} {mid},{by} {x2 - 6},{by}"
    # Same column (process → process) or backwards: leave right, come back in from the left.
    x1, x2 = a.x + BOX_W, b.x
    return (f"M{x1},{ay} C{x1 + 50},{ay} {x1 + 50},{(ay + by) // 2} {(x1 + x2) // 2},"
            f"{(ay + by) // 2 + 18} S{x2 - 50},{by} {x2 - 6},{by}")


# ---------------------------------------------------------------------------- trace

LANE_W, LANE_HEAD_H, STEP_H = 190, 52, 52


def duration(seconds: float | None) -> str:
    """A span of time as people read it: ``0.4 ms``, ``35 ms``, ``1.204 s``, ``2 min 5.3 s``."""
    if seconds is None:
        return ""
    seconds = max(0.0, seconds)
    ms = seconds * 1000
    if ms < 10:
        return f"{ms:.1f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    if seconds < 60:
        return f"{seconds:.3f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {seconds % 60:.1f} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


@dataclass
class Arrow:
    id: int
    x1: int
    x2: int
    y: int
    label: str
    detail: str
    kind: str  # request / response
    status: str
    error: str | None
    resent_from: int | None


@dataclass
class TraceDiagram:
    width: int
    height: int  # of the arrows' drawing; the lane heads are drawn apart (they stay in view)
    lanes: list[tuple[str, int]]  # (host, centre x)
    arrows: list[Arrow]


def _order_hosts(messages: list[dict[str, Any]], kinds: dict[str, str]) -> list[str]:
    """Hosts in order of first appearance, services first (as IRIS draws a trace)."""
    seen: list[str] = []
    for m in messages:
        for host in (m["source"], m["target"]):
            if host not in seen:
                seen.append(host)
    rank = {"service": 0, "process": 1, "operation": 2}
    return sorted(seen, key=lambda h: (rank.get(kinds.get(h, ""), 1), seen.index(h)))


def trace_diagram(messages: list[dict[str, Any]], kinds: dict[str, str],
                  started: float | None = None) -> TraceDiagram:
    """One lane per host; one arrow per message in id order, labelled with its body class,
    the time since the session began (``started``, else the first message shown) and its
    status; a request says how long it took."""
    hosts = _order_hosts(messages, kinds)
    centre = {h: 20 + LANE_W // 2 + i * LANE_W for i, h in enumerate(hosts)}
    if started is None:
        started = messages[0]["created"] if messages else 0.0
    arrows = []
    for n, m in enumerate(messages):
        took = ""
        if m.get("processed") and m["type"] == "request":
            took = f", took {duration(m['processed'] - m['created'])}"
        body = (m.get("body_class") or "(no body)").rsplit(".", 1)[-1]
        arrows.append(Arrow(
            m["id"], centre[m["source"]], centre[m["target"]], 30 + n * STEP_H,
            f"#{m['id']} {body}", f"+{duration(m['created'] - started)} · {m['status']}{took}",
            m["type"], m["status"], m.get("error"), m.get("resent_from")))
    width = 40 + max(len(hosts), 1) * LANE_W
    height = 30 + len(messages) * STEP_H
    return TraceDiagram(width, height, [(h, centre[h]) for h in hosts], arrows)
