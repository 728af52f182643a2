"""Editing the production from the Configuration page: add an item of a bound class, copy one,
remove one, change its connections, and roll back to a backup of an earlier edit.

Every edit is checked in the contained child and saved through the change plan the ``iop`` CLI
applies (iop.client.production_edit), so each writes a backup first; the page lists the
production's backups with a Roll back button (``iop --rollback-backup DIR
--allow-destructive`` restores the same folders from a shell).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from iop.errors import IopError
from iop.server.portal import pages_config
from iop.server.portal.web import Page, first, last

MAX_TARGETS = 500


def edit_from(form: dict[str, list[str]]) -> dict[str, Any]:
    """The production edit a Configuration form posted (see production_edit.check_edit)."""
    action = first(form, "action")
    if action == "add":
        return {"action": "add", "class_name": first(form, "class_name"),
                "name": first(form, "name"), "pool_size": first(form, "pool_size", "1"),
                "enabled": last(form, "enabled", "0"), "settings": first(form, "settings")}
    if action == "copy":
        return {"action": "copy", "item": first(form, "item"), "name": first(form, "name")}
    if action == "remove":
        return {"action": "remove", "item": first(form, "item")}
    if action == "connect":
        return {"action": "connect", "item": first(form, "item"),
                "setting": first(form, "setting"),
                "targets": [t for t in form.get("targets", [])[:MAX_TARGETS] if t]}
    return {"action": action[:40]}


def _after(edit: dict[str, Any]) -> str | None:
    """The item to show once the edit is saved: the new one, the edited one, or none."""
    if edit["action"] in ("add", "copy"):
        return str(edit.get("name") or "").strip() or None
    if edit["action"] == "connect":
        return str(edit.get("item") or "") or None
    return None


async def edit_production(page: Page) -> Response:
    form = page.request.state.form
    production = first(form, "production")
    edit = edit_from(form)
    try:
        done = await page.call("edit_production", production, edit)
    except IopError as exc:
        return await pages_config.configuration(
            page, {"production": production, "item": first(form, "item") or None,
                   "edit": {k: v for k, v in edit.items() if k != "targets"}},
            edit_error=f"Not saved: {exc}")
    page.session.flash("ok", f"Saved: {done['summary']}. Backup {done['backup_id']} was written "
                             "first; Backups on this page can roll it back.")
    if done.get("update_needed"):
        page.session.flash("update", "The running production still uses the previous "
                                     "configuration: update it to apply the change.")
    return page.redirect("config", production=production, item=_after(edit))


async def rollback(page: Page) -> Response:
    form = page.request.state.form
    production, backup = first(form, "production"), first(form, "backup")
    try:
        done = await page.call("rollback_edit", production, backup)
    except IopError as exc:
        page.session.flash("error", f"Rollback failed: {exc}")
        return page.redirect("config", production=production)
    page.session.flash("ok", f"Production {production} rolled back to backup {backup}"
                       + (" and the running production updated." if done.get("updated_running")
                          else "."))
    return page.redirect("config", production=production)
