"""Credentials: the namespace's credentials store (IRIS's Interoperability > Configure >
Credentials). Developers see names and user names; admins add, change and remove entries.
A password goes in through a password field that is never filled back, and comes out
nowhere: not in the page, not in a flash message, not in the event log."""

from __future__ import annotations

from starlette.responses import Response

from iop.connectors.credentials import BadCredentials
from iop.errors import IopError
from iop.server import roles
from iop.server.portal.web import Page, first

ADD, CHANGE = "add", "change"


def _by(page: Page) -> str:
    return f"{page.user.name} (portal)"


async def credentials_page(page: Page) -> Response:
    entries = await page.call("credentials")
    return page.render("credentials.html", active="credentials", entries=entries,
                       can_edit=roles.may(page.user, page.namespace, roles.Role.ADMIN))


async def save(page: Page) -> Response:
    """Add credentials (``mode=add``: refused when the name is taken) or change the user name
    and password of existing ones (``mode=change``)."""
    form = page.request.state.form
    name, mode = first(form, "name").strip(), first(form, "mode", ADD)
    try:
        known = {entry["name"] for entry in await page.call("credentials")}
        if mode == ADD and name in known:
            raise BadCredentials(f"credentials {name} already exist; change their password in the "
                           "list below")
        if mode == CHANGE and name not in known:
            raise BadCredentials(f"credentials {name} do not exist (any more)")
        saved = await page.call("save_credentials", name, first(form, "username"),
                                first(form, "password"), user=_by(page))
    except IopError as exc:
        page.session.flash("error", f"Nothing was saved: {exc}")
        return page.redirect("credentials")
    done = "added" if mode == ADD else "changed"
    page.session.flash("ok", f"Credentials {saved['name']} {done} (user name "
                             f"{saved['username']!r}).")
    return page.redirect("credentials")


async def remove(page: Page) -> Response:
    name = first(page.request.state.form, "name").strip()
    try:
        await page.call("remove_credentials", name, user=_by(page))
    except IopError as exc:
        page.session.flash("error", f"Nothing was removed: {exc}")
        return page.redirect("credentials")
    page.session.flash("ok", f"Credentials {name} removed.")
    return page.redirect("credentials")
