"""Issue 25, "resend of any message", in a real browser: requests left in `error` by a bug
are sent again once it is fixed, from a message's own page in a new session and from the
message list in their own session; a viewer is offered neither and is refused the route.

One server, one browser, one production for the module; the store is read to check what the
portal did (the new messages' status and session)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from portal_support import Portal, browser_page
from remote_server import VIEWER, start_engine, stop_engine
from sample_components import TILL

from iop.store import records as r
from iop.store.queries import MessageFilter

PRODUCTION = "Resend.Production"

COMPONENTS = '''
import os
from dataclasses import dataclass

from iop import BusinessOperation, Message, handler, setting
''' + TILL

SETTINGS = '''
from iop import Production
from resend_components import Till

prod = Production("{production}", testing_enabled=True)
prod.operation("Till", Till).host_setting("FixedFlag", {fixed!r})
PRODUCTIONS = [prod]
'''


@dataclass
class Resends:
    """The portal and the two requests to Till that ended in error."""

    portal: Portal
    fixed: Path  # written once the bug is fixed
    errored: list[int]


@pytest.fixture(scope="module")
def resends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Resends]:
    root = tmp_path_factory.mktemp("resend")
    project, fixed = root / "project", root / "fixed"
    project.mkdir()
    (project / "resend_components.py").write_text(COMPONENTS)
    (project / "settings.py").write_text(SETTINGS.format(production=PRODUCTION,
                                                         fixed=str(fixed)))
    engine = start_engine(root / "home")
    try:
        for args in (("-m", str(project / "settings.py")), ("-s", PRODUCTION, "-D")):
            done = engine.iop_local(*args)
            assert done.returncode == 0, done.stderr
        for n in (1, 2):
            failed = engine.iop_local("-t", "Till", "-C", "resend_components.Order", "-B",
                                      f'{{"n": {n}}}')
            assert failed.returncode == 1 and f"till closed for order {n}" in failed.stderr
        with browser_page() as page:
            portal = Portal(engine, page, root)
            store = portal.store()
            errored = sorted(h.id for h in store.search_messages(
                MessageFilter(target="Till", type=r.REQUEST), limit=10))
            assert [store.get_header(i).status for i in errored] == [r.ERROR, r.ERROR]
            yield Resends(portal, fixed, errored)
    finally:
        stop_engine(engine)


def _resent_id(portal: Portal, original: int) -> int:
    flash = portal.page.inner_text("main .flash")
    found = re.search(rf"#{original} → #(\d+)", flash)
    assert found, flash
    return int(found.group(1))


def test_a_viewer_is_offered_no_resend_and_is_refused(resends: Resends) -> None:
    portal, original = resends.portal, resends.errored[0]
    with httpx.Client(base_url=portal.url, timeout=60) as http:
        token = re.search(r'name="login_token" value="([^"]+)"', http.get("/login").text)
        assert token is not None
        http.post("/login", data={"login_token": token.group(1), "username": VIEWER[0],
                                  "password": VIEWER[1]})
        page = http.get(f"/ns/USER/messages/{original}")
        assert page.status_code == 200 and "till closed for order 1" in page.text
        assert "message-resend-form" not in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        refused = http.post("/ns/USER/messages/resend", headers={"Origin": portal.url},
                            data={"csrf": csrf.group(1), "ids": str(original),
                                  "new_session": "1"})
        assert refused.status_code == 403, refused.text[:500]
    store = portal.store()
    assert len(store.search_messages(MessageFilter(target="Till", type=r.REQUEST),
                                     limit=10)) == 2  # nothing was resent


def test_resend_from_the_message_page_in_a_new_session(resends: Resends, wait_for: Any) -> None:
    portal, original = resends.portal, resends.errored[0]
    resends.fixed.write_text("fixed")  # the bug is fixed
    portal.login()
    page = portal.page
    page.goto(f"{portal.url}/ns/USER/messages/{original}")
    assert page.inner_text(".page-head .status") == r.ERROR
    page.check("#message-resend-new-session")
    page.click("#message-resend-button")
    page.wait_for_url(f"**/ns/USER/messages/{original}")
    resent = _resent_id(portal, original)
    portal.shot("resend-01-from-message-page")

    store = portal.store()
    old, new = store.get_header(original), store.get_header(resent)
    assert new.session_id == resent != old.session_id  # a session of its own
    assert (new.source, new.target, new.type, new.body_class) == \
        (old.source, old.target, r.REQUEST, old.body_class)
    assert store.get_body(new) == store.get_body(old)
    wait_for(lambda: store.get_header(resent).status == r.COMPLETED, timeout=60,
             what="the message resent in a new session to complete")
    assert store.get_header(original).status == r.ERROR  # the original keeps its history


def test_resend_from_the_list_in_its_own_session(resends: Resends, wait_for: Any) -> None:
    portal, original = resends.portal, resends.errored[1]
    page = portal.page
    page.goto(f"{portal.url}/ns/USER/messages?target=Till&status=error")
    rows = page.locator("#message-table tbody tr")
    assert sorted(int(rows.nth(i).get_attribute("data-id") or 0)
                  for i in range(rows.count())) == resends.errored
    page.locator(f"#message-table tbody tr[data-id='{original}'] input[name=ids]").check()
    page.click("#resend-button")
    resent = _resent_id(portal, original)
    portal.shot("resend-02-from-list")

    store = portal.store()
    old, new = store.get_header(original), store.get_header(resent)
    assert new.session_id == old.session_id and new.id != old.id
    assert store.get_body(new) == store.get_body(old)
    wait_for(lambda: store.get_header(resent).status == r.COMPLETED, timeout=60,
             what="the message resent in its session to complete")
    session = store.search_messages(MessageFilter(session_id=old.session_id, type=r.REQUEST),
                                    limit=10)
    assert sorted(h.id for h in session) == [original, resent]
