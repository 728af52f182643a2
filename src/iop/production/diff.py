"""Directional comparison of two productions in the IRIS export shape.

``diff_exports(desired, current)`` lists the changes that would make ``current`` match
``desired``. Both sides are canonicalised first (text flags, IRIS defaults), so import
metadata such as item kinds, Python classes and route origins never shows up as a change.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Change", "ProductionDiff", "canonical_export", "diff_exports", "index_export"]

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


class ProductionDiff:
    """The changes that make the current production match the desired one, in a stable order."""

    def __init__(self, production: str, changes: list[Change]) -> None:
        self.production = production
        self.changes = changes

    @property
    def has_changes(self) -> bool:
        """Whether anything differs."""
        return bool(self.changes)

    def __bool__(self) -> bool:
        return self.has_changes

    def __len__(self) -> int:
        return len(self.changes)

    def __iter__(self) -> Iterator[Change]:
        return iter(self.changes)

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
        return f"ProductionDiff({self.production!r}, {len(self.changes)} changes)"


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


def diff_exports(desired: Mapping[str, Any], current: Mapping[str, Any] | None) -> ProductionDiff:
    """Changes that turn ``current`` (None: not deployed) into ``desired``."""
    want = index_export(desired)
    name = want["name"]
    if current is None:
        whole = {"Production": want["body"]}
        return ProductionDiff(name, [Change(ADD, PRODUCTION, name, after=whole)])
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
    return ProductionDiff(name, changes)
