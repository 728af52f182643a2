"""The portal's Credentials page in a real browser: an admin adds credentials, changes their
password and removes them; the password field is never filled back and the password shows
in no page. A developer reads names and user names only; a viewer does not see the page.
The configuration page offers the stored names for an adapter's Credentials setting."""

from __future__ import annotations

import subprocess

from portal_support import Portal
from remote_server import DEVELOPER, PYTHON, VIEWER

PASSWORD = "pw-Lc28-typed-in-the-portal"
NEW_PASSWORD = "pw-Tw90-changed-in-the-portal"


def _stored_password(portal: Portal, name: str) -> str:
    """What the server's store holds for ``name``, decrypted with the server's key."""
    done = subprocess.run(
        [PYTHON, "-c", "import sys; from iop.store import open_store; "
                       "from iop.connectors.credentials import load_credentials; "
                       "print(load_credentials(open_store('USER'), sys.argv[1]).password)", name],
        env=portal.engine.server_env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _password_fields_are_empty(page: object) -> None:
    values = page.eval_on_selector_all(  # type: ignore[attr-defined]
        "input[type=password]", "fields => fields.map(f => f.value)")
    assert values and all(v == "" for v in values)


def test_admin_adds_changes_and_removes_credentials(portal: Portal) -> None:
    page = portal.page
    portal.login()
    page.click("nav a[data-nav=credentials]")
    page.wait_for_url("**/ns/USER/credentials")
    assert page.locator("#credentials-empty").is_visible()

    page.fill("#credentials-name", "Partner.Sftp")
    page.fill("#credentials-username", "acme")
    page.fill("#credentials-password", PASSWORD)
    page.click("#credentials-add-button")
    page.wait_for_selector("tr[data-name='Partner.Sftp']")
    assert "Credentials Partner.Sftp added (user name 'acme')." in page.inner_text(".flash")
    assert page.inner_text("tr[data-name='Partner.Sftp'] .credentials-username") == "acme"
    _password_fields_are_empty(page)
    assert PASSWORD not in page.content()
    assert _stored_password(portal, "Partner.Sftp") == PASSWORD
    portal.shot("credentials-list")

    # A form without this session's token changes nothing.
    forged = page.request.post(portal.url + "/ns/USER/credentials",
                               form={"csrf": "not-the-token", "mode": "change",
                                     "name": "Partner.Sftp", "username": "x", "password": "y"},
                               headers={"Origin": portal.url})
    assert forged.status == 403 and "This form has expired" in forged.text()
    assert _stored_password(portal, "Partner.Sftp") == PASSWORD

    # The same name again is refused, and says where to change it.
    page.fill("#credentials-name", "Partner.Sftp")
    page.fill("#credentials-password", "another")
    page.click("#credentials-add-button")
    page.wait_for_selector(".flash-error")
    assert "credentials Partner.Sftp already exist" in page.inner_text(".flash-error")
    assert _stored_password(portal, "Partner.Sftp") == PASSWORD

    row = page.locator("tr[data-name='Partner.Sftp']")
    row.locator("input[name=username]").fill("acme2")
    row.locator("input[name=password]").fill(NEW_PASSWORD)
    row.locator("form.credentials-change button").click()
    page.wait_for_selector(".flash:has-text('Credentials Partner.Sftp changed')")
    assert page.inner_text("tr[data-name='Partner.Sftp'] .credentials-username") == "acme2"
    _password_fields_are_empty(page)
    assert NEW_PASSWORD not in page.content()
    assert _stored_password(portal, "Partner.Sftp") == NEW_PASSWORD

    # The configuration page offers the stored name for Credentials settings.
    page.goto(portal.url + "/ns/USER/config?production=Demo.Production&item=AuditOperation")
    assert page.locator("#credentials-list option[value='Partner.Sftp']").count() == 1

    page.goto(portal.url + "/ns/USER/credentials")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.locator("tr[data-name='Partner.Sftp'] form.credentials-remove button").click()
    page.wait_for_selector("#credentials-empty")
    assert asked and "Remove credentials Partner.Sftp?" in asked[0]
    assert "Credentials Partner.Sftp removed." in page.inner_text(".flash")
    log = portal.engine.iop_local("-L", "50").stdout
    assert "credentials Partner.Sftp saved (user name 'acme2') by admin (portal)" in log
    assert "credentials Partner.Sftp removed by admin (portal)" in log
    assert PASSWORD not in log and NEW_PASSWORD not in log
    assert PASSWORD not in portal.engine.server_log()


def test_developer_reads_and_viewer_does_not_see_credentials(portal: Portal) -> None:
    page = portal.page
    added = portal.engine.iop_local("--credentials-add", "Lab.Db", "--username", "lab",
                                    stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr

    page.context.clear_cookies()
    portal.login(DEVELOPER)
    page.goto(portal.url + "/ns/USER/credentials")
    assert page.inner_text("tr[data-name='Lab.Db'] .credentials-username") == "lab"
    assert page.locator("#credentials-add").count() == 0
    assert page.locator("form.credentials-remove, form.credentials-change").count() == 0
    # A hand-made POST, with the session's own CSRF token, is still refused on the server.
    csrf = page.get_attribute("input[name=csrf]", "value")
    refused = page.request.post(portal.url + "/ns/USER/credentials/remove",
                                form={"csrf": csrf or "", "name": "Lab.Db"},
                                headers={"Origin": portal.url})
    assert refused.status == 403
    assert "needs the admin role in namespace USER" in refused.text()
    assert _stored_password(portal, "Lab.Db") == PASSWORD

    page.context.clear_cookies()
    portal.login(VIEWER)
    assert page.locator("nav a[data-nav=credentials]").count() == 0
    answer = page.goto(portal.url + "/ns/USER/credentials")
    assert answer is not None and answer.status == 403
    assert "Lab.Db" not in page.content()
    page.context.clear_cookies()
