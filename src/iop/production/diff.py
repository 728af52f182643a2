"""Directional comparison of two productions.

``diff_productions(desired, current)`` is IoP's ``Production.diff()``: ProductionDiff of
ProductionDiffEntry (action, kind, path such as ``items.X.settings.Host.Limit``, before, after)
over production fields, item signatures and route connections; with ``include_graph_metadata``
it is ``graph_diff()`` and connections carry each edge's origin and interaction.

``diff_exports(desired, current)`` compares the IRIS export shape itself, export fields the
model does not know included: the change plan and the migration are built on it. Both sides
are canonicalised first (text flags, IRIS defaults), so import metadata such as item kinds,
Python classes and route origins never shows up as a change.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from iop.production.component import ComponentRef
    from iop.production.production import Production

__all__ = ["Change", "ExportDiff", "ProductionDiff", "ProductionDiffEntry", "canonical_export",
           "diff_exports", "diff_productions", "export_body", "index_export"]

PRODUCTION_ATTRIBUTES = ("@Name", "@TestingEnabled", "@LogGeneralTraceEvents", "Description",
                         "ActorPoolSize")
ITEM_ATTRIBUTES = ("@ClassName", "@PoolSize", "@Enabled", "@Foreground", "@Comment", "@Category",
                   "@LogTraceEvents", "@Schedule")

ADD, REMOVE, CHANGE = "add", "remove", "change"
# What a change is about.
PRODUCTION = "production"                # the whole production (it is missing on one side)
PRODUCTION_ATTRIBUTE = "production_attribute"
PRODUCTION_SETTING = "production_setting"
PRODUCTION_FIELD = "production_field"    # an export field the model does not know
ITEM = "item"
ITEM_ATTRIBUTE = "item_attribute"
ITEM_FIELD = "item_field"
SETTING = "setting"


@dataclass(frozen=True)
class Change:
    """One difference: ``action`` (add/remove/change) on ``scope`` named ``name``."""

    action: str
    scope: str
    name: str
    item: str | None = None
    target: str | None = None
    before: Any = None
    after: Any = None

    def describe(self) -> str:
        """One readable line, e.g. ``~ item FileIn Host setting Limit: '5' -> '10'``."""
        mark = {ADD: "+", REMOVE: "-", CHANGE: "~"}[self.action]
        where = f"item {self.item} " if self.item else ""
        if self.scope == PRODUCTION:
            return f"{mark} production {self.name}"
        if self.scope == ITEM:
            class_name = (self.after or self.before or {}).get("@ClassName", "?")
            return f"{mark} item {self.name} [{class_name}]"
        if self.scope == SETTING:
            what = f"{where}{self.target} setting {self.name}"
        elif self.scope == PRODUCTION_SETTING:
            what = f"production setting {self.name}"
        elif self.scope in (PRODUCTION_FIELD, ITEM_FIELD):
            what = f"{where}export field {self.name}"
        else:
            what = f"{where}{self.name}"
        if self.action == ADD:
            return f"{mark} {what} = {self.after!r}"
        if self.action == REMOVE:
            return f"{mark} {what} (was {self.before!r})"
        return f"{mark} {what}: {self.before!r} -> {self.after!r}"

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)


_Entry = TypeVar("_Entry")


class _ChangeList(Generic[_Entry]):
    """What both diffs answer about their ``changes``: truth, length and iteration."""

    changes: Any

    @property
    def has_changes(self) -> bool:
        """Whether anything differs."""
        return bool(self.changes)

    def __bool__(self) -> bool:
        return self.has_changes

    def __len__(self) -> int:
        return len(self.changes)

    def __iter__(self) -> Iterator[_Entry]:
        return iter(self.changes)


class ExportDiff(_ChangeList[Change]):
    """The export changes that make the current production match the desired one, in a stable
    order."""

    def __init__(self, production: str, changes: list[Change]) -> None:
        self.production = production
        self.changes = changes

    def to_dict(self) -> dict[str, Any]:
        """``{"production", "has_changes", "changes": [...]}``."""
        return {"production": self.production, "has_changes": self.has_changes,
                "changes": [c.to_dict() for c in self.changes]}

    def __str__(self) -> str:
        if not self.changes:
            return f"Production {self.production}: no changes"
        lines = [f"Production {self.production}: {len(self.changes)} change(s)"]
        lines += [f"  {c.describe()}" for c in self.changes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"ExportDiff({self.production!r}, {len(self.changes)} changes)"


def export_body(data: Mapping[str, Any]) -> dict[str, Any]:
    """The production entry of an export: under ``"Production"`` (IRIS's shape) or under the
    production's name (the shape of IoP's ``to_dict()``)."""
    body = data.get("Production")
    if body is None and len(data) == 1:
        body = next(iter(data.values()))
    return dict(body) if isinstance(body, Mapping) else {}


def canonical_export(data: Mapping[str, Any]) -> dict[str, Any]:
    """The export with flags, numbers and defaults written the way ``to_dict`` writes them."""
    from iop.production.export_shape import production_export
    from iop.production.production import Production

    return production_export(Production.from_dict(data))


def _settings(entries: Any) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for entry in _as_list(entries):
        found[(str(entry.get("@Target") or "Host"), str(entry["@Name"]))] = \
            str(entry.get("#text") or "")
    return found


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return [value] if isinstance(value, Mapping) else list(value)


def index_export(data: Mapping[str, Any]) -> dict[str, Any]:
    """A canonical export as lookups: attributes, settings, fields and items by name."""
    body = canonical_export(data)["Production"]
    known = set(PRODUCTION_ATTRIBUTES) | {"Setting", "Item"}
    items = {}
    for entry in _as_list(body.get("Item")):
        item_known = set(ITEM_ATTRIBUTES) | {"@Name", "Setting"}
        items[entry["@Name"]] = {
            "entry": entry,
            "attributes": {k: entry.get(k, "") for k in ITEM_ATTRIBUTES},
            "settings": _settings(entry.get("Setting")),
            "fields": {k: v for k, v in entry.items() if k not in item_known},
        }
    return {
        "name": body["@Name"],
        "body": body,
        "attributes": {k: body.get(k, "") for k in PRODUCTION_ATTRIBUTES},
        "settings": {name: text for (_, name), text in _settings(body.get("Setting")).items()},
        "fields": {k: v for k, v in body.items() if k not in known},
        "items": items,
    }


def _compare(desired: Mapping[Any, Any], current: Mapping[Any, Any]) -> Iterator[tuple[str, Any]]:
    """(action, key) for keys added, removed or changed, desired order first."""
    for key, value in desired.items():
        if key not in current:
            yield ADD, key
        elif current[key] != value:
            yield CHANGE, key
    for key in current:
        if key not in desired:
            yield REMOVE, key


def diff_exports(desired: Mapping[str, Any], current: Mapping[str, Any] | None) -> ExportDiff:
    """Changes that turn ``current`` (None: not deployed) into ``desired``."""
    want = index_export(desired)
    name = want["name"]
    if current is None:
        whole = {"Production": want["body"]}
        return ExportDiff(name, [Change(ADD, PRODUCTION, name, after=whole)])
    have = index_export(current)
    changes: list[Change] = []

    def add(action: str, scope: str, key: str, old: Any, new: Any, **where: Any) -> None:
        changes.append(Change(action, scope, key, before=None if action == ADD else old,
                              after=None if action == REMOVE else new, **where))

    for action, key in _compare(want["attributes"], have["attributes"]):
        add(action, PRODUCTION_ATTRIBUTE, key, have["attributes"].get(key),
            want["attributes"].get(key))
    for action, key in _compare(want["settings"], have["settings"]):
        add(action, PRODUCTION_SETTING, key, have["settings"].get(key), want["settings"].get(key),
            target="Production")
    for action, key in _compare(want["fields"], have["fields"]):
        add(action, PRODUCTION_FIELD, key, have["fields"].get(key), want["fields"].get(key))
    for action, item in _compare(want["items"], have["items"]):
        new, old = want["items"].get(item), have["items"].get(item)
        if action != CHANGE:
            add(action, ITEM, item, old and old["entry"], new and new["entry"])
            continue
        for a, key in _compare(new["attributes"], old["attributes"]):
            add(a, ITEM_ATTRIBUTE, key, old["attributes"].get(key), new["attributes"].get(key),
                item=item)
        for a, (target, key) in _compare(new["settings"], old["settings"]):
            add(a, SETTING, key, old["settings"].get((target, key)),
                new["settings"].get((target, key)), item=item, target=target)
        for a, key in _compare(new["fields"], old["fields"]):
            add(a, ITEM_FIELD, key, old["fields"].get(key), new["fields"].get(key), item=item)
    return ExportDiff(name, changes)


# -- IoP's diff of two Production objects ---------------------------------------------------

# Production settings IoP models as fields: (field, IRIS setting name, IoP's default).
PRODUCTION_SETTING_FIELDS = (
    ("shutdown_timeout", "ShutdownTimeout", 120), ("update_timeout", "UpdateTimeout", 10),
    ("alert_notification_manager", "AlertNotificationManager", ""),
    ("alert_notification_operation", "AlertNotificationOperation", ""),
    ("alert_notification_recipients", "AlertNotificationRecipients", ""),
    ("alert_action_window", "AlertActionWindow", 60),
)
ITEM_FIELDS = ("class_name", "category", "pool_size", "enabled", "foreground", "comment",
               "log_trace_events", "schedule")
# The engine calls a route configured by a setting a "setting" interaction; IoP a "request".
_INTERACTIONS = {"setting": "request"}


def text_value(value: Any) -> str:
    """A value as IoP compares it: flags as ``true``/``false``, None as empty text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def flag_text(value: Any) -> str:
    """A flag as IoP compares it (``1``/``yes``/``on`` are true, ``0``/``no``/``off`` false)."""
    if isinstance(value, bool):
        return text_value(value)
    lowered = str(value).lower().strip()
    return {"1": "true", "yes": "true", "on": "true", "0": "false", "no": "false",
            "off": "false"}.get(lowered, lowered)


@dataclass(frozen=True)
class ProductionDiffEntry:
    """One difference: ``action`` (add/remove/change) of a ``kind`` (production, item, setting,
    connection) at ``path``."""

    action: str
    kind: str
    path: str
    before: Any = None
    after: Any = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"action": self.action, "kind": self.kind, "path": self.path}
        if self.before is not None:
            data["before"] = self.before
        if self.after is not None:
            data["after"] = self.after
        if self.detail:
            data["detail"] = self.detail
        return data

    def to_text(self) -> str:
        line = f"{self.action} {self.kind} {self.path}"
        if self.detail:
            return f"{line}: {self.detail}"
        if self.action == CHANGE:
            return f"{line}: {_value_text(self.before)} -> {_value_text(self.after)}"
        if self.action == ADD:
            return f"{line}: {_value_text(self.after)}"
        if self.action == REMOVE:
            return f"{line}: {_value_text(self.before)}"
        return line


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    try:
        return json.dumps(value, sort_keys=True)
    except TypeError:
        return repr(value)


@dataclass(frozen=True)
class ProductionDiff(_ChangeList[ProductionDiffEntry]):
    """What would change to make the current (deployed or imported) production match the
    desired Python one."""

    production_name: str
    changes: tuple[ProductionDiffEntry, ...]
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"production": self.production_name,
                                "has_changes": self.has_changes,
                                "changes": [change.to_dict() for change in self.changes]}
        if self.warnings:
            data["warnings"] = list(self.warnings)
        return data

    def to_text(self) -> str:
        lines = [f"Production diff: {self.production_name}"]
        lines += [f"  {change.to_text()}" for change in self.changes] or ["  no changes"]
        if self.warnings:
            lines.append("  warnings:")
            lines += [f"    {warning}" for warning in self.warnings]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


def production_signature(production: Production) -> dict[str, Any]:
    """The production fields IoP compares, as text."""
    signature = {
        "testing_enabled": flag_text(production.testing_enabled),
        "log_general_trace_events": flag_text(production.log_general_trace_events),
        "actor_pool_size": text_value(production.actor_pool_size),
        "description": production.description or "",
    }
    for field_name, iris_name, default in PRODUCTION_SETTING_FIELDS:
        value = vars(production).get(field_name)
        if value is None:
            value = production.production_settings.get(iris_name, default)
        signature[field_name] = text_value(value)
    return signature


def item_signature(ref: ComponentRef) -> dict[str, Any]:
    """One item's fields and settings as IoP compares them."""
    return {
        "class_name": ref.class_name or "",
        "category": ref.category or "",
        "pool_size": text_value(ref.pool_size),
        "enabled": flag_text(ref.enabled),
        "foreground": flag_text(ref.foreground),
        "comment": ref.comment or "",
        "log_trace_events": flag_text(ref.log_trace_events),
        "schedule": ref.schedule or "",
        "host_settings": {key: text_value(ref.host_settings[key])
                          for key in sorted(ref.host_settings)},
        "adapter_settings": {key: text_value(ref.adapter_settings[key])
                             for key in sorted(ref.adapter_settings)},
        "other_settings": [{"@Name": name, "@Target": target, "#text": text_value(value)}
                           for target, name, value in ref.other_settings],
    }


def _edge_parts(edge: Any) -> tuple[str, str, str, str, str]:
    """(source item, source target setting, target, origin, interaction) of a graph edge."""
    source = getattr(edge, "source_item", None) or edge.source
    setting = getattr(edge, "source_target_setting", None)
    if setting is None:
        setting = edge.port
    interaction = _INTERACTIONS.get(edge.interaction, edge.interaction) or "unknown"
    return source, setting, edge.target, edge.origin, interaction


def connection_signature(production: Production, *, include_graph_metadata: bool = False
                         ) -> dict[tuple[str, str], list[Any]]:
    """(source item, source target setting) -> its sorted targets (or, with graph metadata,
    its sorted {target, origin, interaction} edges)."""
    from iop.production.graph import production_edges

    found: dict[tuple[str, str], list[Any]] = {}
    edges = [_edge_parts(edge) for edge in production_edges(production)]
    edges += [(source, "", target, "inferred", interaction)
              for (source, target), (interaction, _) in production._source_routes.items()]
    for source, setting, target, origin, interaction in edges:
        interaction = production._route_interaction.get((source, setting, target), interaction)
        values = found.setdefault((source, setting), [])
        value: Any = target
        if include_graph_metadata:
            value = {"target": target, "origin": origin, "interaction": interaction}
            reported = production._route_metadata.get((source, setting, target))
            if not reported and not setting and (source, target) in production._source_routes:
                reported = production._source_routes[(source, target)][1]
            if reported:
                value["metadata"] = dict(reported)
            elif origin == "inferred" and setting in production.item(source).host_settings:
                # An import infers a route from a setting that names items (IoP's wording).
                value["metadata"] = {"source": "Host setting fallback"}
        if value not in values:
            values.append(value)
    if not include_graph_metadata:
        # A setting that names only items is a route even where this side cannot know the
        # port (an item without its Python class), as IoP infers it when importing.
        names = set(production.item_names())
        for ref in production:
            for key, text in ref.host_settings.items():
                targets = [t.strip() for t in str(text).split(",") if t.strip()]
                if key.startswith("%") or (ref.name, key) in found or not targets \
                        or not names.issuperset(targets):
                    continue
                found[(ref.name, key)] = list(dict.fromkeys(targets))
    return {key: sorted(values, key=lambda v: json.dumps(v, sort_keys=True))
            for key, values in sorted(found.items())}


def _mapping_changes(changes: list[ProductionDiffEntry], kind: str, base: str,
                     before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
    for key in sorted(before.keys() - after.keys()):
        changes.append(ProductionDiffEntry(REMOVE, kind, f"{base}.{key}", before=before[key]))
    for key in sorted(after.keys() - before.keys()):
        changes.append(ProductionDiffEntry(ADD, kind, f"{base}.{key}", after=after[key]))
    for key in sorted(before.keys() & after.keys()):
        if before[key] != after[key]:
            changes.append(ProductionDiffEntry(CHANGE, kind, f"{base}.{key}", before[key],
                                               after[key]))


def _connection_path(source: tuple[str, str]) -> str:
    return f"connections.{source[0]}.{source[1]}" if source[1] else f"connections.{source[0]}"


def diff_productions(desired: Production, current: Production, *,
                     include_graph_metadata: bool = False) -> ProductionDiff:
    """IoP's directional diff: what changes ``current`` into ``desired``."""
    changes: list[ProductionDiffEntry] = []
    if current.name != desired.name:
        changes.append(ProductionDiffEntry(CHANGE, "production", "production.name",
                                           current.name, desired.name))
    _mapping_changes(changes, "production", "production", production_signature(current),
                     production_signature(desired))
    wanted = {ref.name: item_signature(ref) for ref in desired}
    have = {ref.name: item_signature(ref) for ref in current}
    for name in sorted(have.keys() - wanted.keys()):
        changes.append(ProductionDiffEntry(REMOVE, "item", f"items.{name}", before=have[name]))
    for name in sorted(wanted.keys() - have.keys()):
        changes.append(ProductionDiffEntry(ADD, "item", f"items.{name}", after=wanted[name]))
    for name in sorted(wanted.keys() & have.keys()):
        old, new = have[name], wanted[name]
        _mapping_changes(changes, "item", f"items.{name}",
                         {key: old[key] for key in ITEM_FIELDS},
                         {key: new[key] for key in ITEM_FIELDS})
        for target in ("Host", "Adapter"):
            field_name = f"{target.lower()}_settings"
            _mapping_changes(changes, "setting", f"items.{name}.settings.{target}",
                             old[field_name], new[field_name])
        if old["other_settings"] != new["other_settings"]:
            changes.append(ProductionDiffEntry(CHANGE, "setting", f"items.{name}.settings.Other",
                                               old["other_settings"], new["other_settings"]))
    wanted_routes = connection_signature(desired, include_graph_metadata=include_graph_metadata)
    have_routes = connection_signature(current, include_graph_metadata=include_graph_metadata)
    for source in sorted(have_routes.keys() - wanted_routes.keys()):
        changes.append(ProductionDiffEntry(REMOVE, "connection", _connection_path(source),
                                           before=have_routes[source]))
    for source in sorted(wanted_routes.keys() - have_routes.keys()):
        changes.append(ProductionDiffEntry(ADD, "connection", _connection_path(source),
                                           after=wanted_routes[source]))
    for source in sorted(wanted_routes.keys() & have_routes.keys()):
        if wanted_routes[source] != have_routes[source]:
            changes.append(ProductionDiffEntry(CHANGE, "connection", _connection_path(source),
                                               have_routes[source], wanted_routes[source]))
    return ProductionDiff(desired.name or "", tuple(changes))
