"""Editing the production from the Configuration page in a real browser, as seed 002's step 3
("add each host on the Production Configuration page"): add items of a bound iop class and of
pyprod classes (loaded with the `intersystems_pyprod` command), change an item's connections,
copy one, remove one, refuse bad input with one line in the page and nothing stored, roll an
edit back from its backup, and refuse every edit to a viewer and an operator server-side.

Each edit goes through the change plan `iop --apply-plan` uses, so each leaves a backup folder
under the namespace's home; the tests read the store and those folders to check.

One server, one browser and one production for the module; the tests run in order.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from portal_support import Portal, browser_page
from remote_server import DEVELOPER, OPERATOR, REPO, VIEWER, start_engine, stop_engine

PRODUCTION = "Edit.Production"

COMPONENTS = '''
from dataclasses import dataclass

from iop import BusinessOperation, BusinessProcess, Message, target


@dataclass
class Ping(Message):
    text: str = ""


class Echo(BusinessOperation):
    def on_message(self, request):
        return request


class Router(BusinessProcess):
    Output = target()

    def on_request(self, request):
        return self.send_request_sync(self.Output, request)
'''

SETTINGS = '''
from edit_components import Echo, Router

from iop import Production

prod = Production("{production}")
router = prod.process("Router", Router)
echo = prod.operation("Echo", Echo)
router.connect(Router.Output, echo)
PRODUCTIONS = [prod]
'''


@dataclass
class Editor:
    portal: Portal

    @property
    def page(self) -> Any:
        return self.portal.page

    def open(self, item: str | None = None) -> Any:
        query = f"production={PRODUCTION}" + (f"&item={item}" if item else "")
        self.page.goto(self.portal.url + f"/ns/USER/config?{query}")
        return self.page

    def items(self) -> dict[str, dict[str, Any]]:
        """The stored items by name: class, pool size, enabled and {(target, name): value}."""
        store = self.portal.store()
        try:
            body = store.get_production(PRODUCTION)["Production"]
        finally:
            store.close()
        found = {}
        for entry in body.get("Item") or []:
            settings = entry.get("Setting") or []
            settings = [settings] if isinstance(settings, dict) else settings
            found[entry["@Name"]] = {
                "class": entry["@ClassName"], "pool": str(entry.get("@PoolSize")),
                "enabled": str(entry.get("@Enabled")).lower(),
                "settings": {(s.get("@Target", "Host"), s["@Name"]): s.get("#text", "")
                             for s in settings}}
        return found

    def backups(self) -> list[Path]:
        folder = self.portal.engine.home / "USER" / "backups"
        return sorted(folder.iterdir()) if folder.is_dir() else []

    def backed_up_items(self, backup: Path) -> list[str]:
        definition = json.loads((backup / "production.json").read_text())
        return [i["@Name"] for i in definition["Production"].get("Item") or []]

    def boxes(self) -> list[str]:
        found = self.page.locator("#config-diagram a.item-link")
        return sorted(found.nth(i).get_attribute("data-item") for i in range(found.count()))

    def add(self, class_name: str, name: str, pool: str = "1", settings: str = "") -> None:
        page = self.page
        if not page.locator("#add-item").evaluate("d => d.open"):
            page.click("#add-item-toggle")
        page.select_option("#add-class", class_name)
        page.fill("#add-name", name)
        page.fill("#add-pool", pool)
        page.fill("#add-settings", settings)
        page.click("#add-submit")
        page.wait_for_load_state()


@pytest.fixture(scope="module")
def editor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Editor]:
    root = tmp_path_factory.mktemp("edit")
    project = root / "project"
    project.mkdir()
    (project / "edit_components.py").write_text(COMPONENTS)
    (project / "settings.py").write_text(SETTINGS.format(production=PRODUCTION))
    script = root / "hello" / "HelloWorld.py"
    script.parent.mkdir()
    shutil.copy(REPO / "tests" / "data" / "pyprod" / "HelloWorld.py", script)
    engine = start_engine(root / "home")
    try:
        done = engine.iop_local("-m", str(project / "settings.py"))
        assert done.returncode == 0, done.stderr
        assert engine.iop_local("-d", PRODUCTION).returncode == 0
        # Seed 002: the pyprod command binds the script's classes in the namespace.
        loaded = subprocess.run([sys.executable, "-m", "intersystems_pyprod", str(script)],
                                env=engine.server_env, capture_output=True, text=True,
                                timeout=90)
        assert loaded.returncode == 0, loaded.stderr
        with browser_page() as page:
            page.on("dialog", lambda dialog: dialog.accept())  # Remove and Roll back ask first
            yield Editor(Portal(engine, page, root))
    finally:
        stop_engine(engine)


def test_add_items_of_pyprod_and_iop_classes(editor: Editor) -> None:
    portal, page = editor.portal, editor.page
    portal.login(DEVELOPER)
    editor.open()
    page.click("#add-item-toggle")
    offered = page.locator("#add-class option").all_inner_texts()
    assert "helloworld.MyOperation · operation" in offered
    assert "helloworld.MyProcess · process" in offered
    assert "Python.editcomponents.Echo · operation" in offered
    assert not any("MyRequest" in o or "MyInAdapter" in o for o in offered)  # no message or adapter
    page.select_option("#add-class", "helloworld.MyOperation")
    page.fill("#add-name", "HelloOut")
    page.fill("#add-pool", "2")
    portal.shot("config-edit-01-add-item")
    assert editor.backups() == []
    page.click("#add-submit")
    page.wait_for_url("**item=HelloOut**")
    assert "Saved: added item HelloOut (helloworld.MyOperation)" in page.inner_text(".flash-ok")
    assert "HelloOut" in editor.boxes()
    assert page.inner_text("#item-title").startswith("HelloOut")
    portal.shot("config-edit-02-added")
    stored = editor.items()["HelloOut"]
    assert (stored["class"], stored["pool"], stored["enabled"]) == \
        ("helloworld.MyOperation", "2", "true")
    backups = editor.backups()
    assert len(backups) == 1 and editor.backed_up_items(backups[0]) == ["Router", "Echo"]
    plan = json.loads((backups[0] / "plan.json").read_text())
    assert [op["op"] for op in plan["operations"]] == ["add_item"]

    # A pyprod process with its Target set at once, and a disabled iop operation.
    editor.add("helloworld.MyProcess", "HelloRoute", settings="target=HelloOut")
    page.wait_for_url("**item=HelloRoute**")
    assert editor.items()["HelloRoute"]["settings"] == {("Host", "target"): "HelloOut"}
    assert page.locator("path.route[data-source='HelloRoute'][data-target='HelloOut']").count() == 1
    page.click("#add-item-toggle")
    page.select_option("#add-class", "Python.editcomponents.Echo")
    page.fill("#add-name", "Spare")
    page.uncheck("#add-enabled")
    page.click("#add-submit")
    page.wait_for_url("**item=Spare**")
    assert editor.items()["Spare"]["enabled"] == "false"
    assert len(editor.backups()) == 3


def test_change_connections(editor: Editor) -> None:
    page = editor.open("Router")
    form = page.locator("form.connections-form[data-setting='Output']")
    assert form.locator("input[name=targets][value='Echo']").is_checked()
    assert form.locator("input[name=targets][value='Router']").count() == 0  # never to itself
    form.locator("input[name=targets][value='HelloRoute']").check()
    form.locator("button[type=submit]").click()
    page.wait_for_url("**item=Router**")
    assert "Router Output set to HelloRoute" in page.inner_text(".flash-ok")
    assert editor.items()["Router"]["settings"][("Host", "Output")] == "HelloRoute"
    assert page.locator("path.route[data-source='Router'][data-target='HelloRoute']").count() == 1
    assert page.locator("path.route[data-source='Router'][data-target='Echo']").count() == 0
    plan = json.loads((editor.backups()[-1] / "plan.json").read_text())
    assert [(op["op"], op["risk"]) for op in plan["operations"]] == [("set_setting",
                                                                      "destructive")]


def test_copy_an_item(editor: Editor) -> None:
    page = editor.open("HelloRoute")
    pyprod_target = page.locator("form.connections-form[data-setting='target']")
    assert pyprod_target.locator("input[name=targets][value='HelloOut']").is_checked()
    page.fill("#copy-name", "HelloRoute2")
    page.click("#copy-submit")
    page.wait_for_url("**item=HelloRoute2**")
    items = editor.items()
    assert items["HelloRoute2"] == items["HelloRoute"]
    assert "HelloRoute2" in editor.boxes()


def test_remove_an_item(editor: Editor) -> None:
    page = editor.open("HelloRoute2")
    before = len(editor.backups())
    page.click("#remove-submit")
    page.wait_for_load_state()
    assert "Saved: removed item HelloRoute2" in page.inner_text(".flash-ok")
    assert "HelloRoute2" not in editor.items()
    assert "HelloRoute2" not in editor.boxes()
    assert len(editor.backups()) == before + 1
    assert "HelloRoute2" in editor.backed_up_items(editor.backups()[-1])


@pytest.mark.parametrize(("class_name", "name", "pool", "settings", "said"), [
    ("Python.editcomponents.Echo", "Echo", "1", "", "an item named Echo already exists"),
    # Names that would break a list of targets or a file path (names.py's one grammar).
    ("Python.editcomponents.Echo", "Echo,Router", "1", "", "invalid item name 'Echo,Router': "
                                                           "it contains ','"),
    ("Python.editcomponents.Echo", "../../etc/passwd", "1", "", "it contains '/'"),
    ("Python.editcomponents.Echo", "Fresh", "500", "", "pool size must be a whole number from 0 to "
                                                  "100, got '500'"),
    ("Python.editcomponents.Echo", "Fresh", "1", "Nope=1", "Python.editcomponents.Echo has no host setting "
                                                     "Nope"),
    ("helloworld.MyProcess", "Fresh", "1", "target=Nowhere", "Nowhere is not an item"),
    ("os.system", "Fresh", "1", "", "class os.system is not a bound service, process or "
                                    "operation"),
])
def test_bad_input_is_named_and_nothing_is_saved(editor: Editor, class_name: str, name: str,
                                                 pool: str, settings: str, said: str) -> None:
    page = editor.open()
    before, backups = editor.items(), editor.backups()
    page.click("#add-item-toggle")
    if class_name == "os.system":  # a hostile class name, posted as a tampered form would
        page.eval_on_selector("#add-class option:nth-child(2)", "o => o.value = 'os.system'")
        page.select_option("#add-class", "os.system")
    else:
        page.select_option("#add-class", class_name)
    page.fill("#add-name", name)
    page.fill("#add-pool", pool)
    page.fill("#add-settings", settings)
    page.click("#add-submit")
    page.wait_for_load_state()
    error = page.locator("#edit-error")
    assert said in error.inner_text()
    assert "\n" not in error.inner_text().strip()
    assert page.locator("#add-item[open]").count() == 1  # the form keeps what was typed
    assert page.input_value("#add-name") == name
    assert editor.items() == before and editor.backups() == backups
    if name == "Echo":
        editor.portal.shot("config-edit-03-refused")


def test_roll_back_an_edit(editor: Editor) -> None:
    page = editor.open()
    newest = editor.backups()[-1]  # the one written before HelloRoute2 was removed
    page.click("#backups summary")
    row = page.locator(f"#backup-rows tr[data-backup='{newest.name}']")
    assert row.count() == 1
    assert page.locator("#backup-rows tr[data-backup]").first.get_attribute("data-backup") == \
        newest.name  # newest first
    row.locator("button").click()
    page.wait_for_load_state()
    assert f"rolled back to backup {newest.name}" in page.inner_text(".flash-ok")
    assert "HelloRoute2" in editor.items()
    assert "HelloRoute2" in editor.boxes()
    assert list(newest.glob("before-rollback-*.json"))  # what was replaced is kept


@pytest.mark.parametrize("user", [VIEWER, OPERATOR], ids=["viewer", "operator"])
def test_lesser_roles_cannot_edit(editor: Editor, user: tuple[str, str]) -> None:
    portal, page = editor.portal, editor.page
    page.context.clear_cookies()  # a fresh login as ``user``
    portal.login(user)
    editor.open("Router")
    assert page.locator("#add-item, #backups, #item-edit").count() == 0
    before, backups = editor.items(), editor.backups()
    csrf = page.locator("form[action='/logout'] input[name=csrf]").get_attribute("value")
    posts = [("edit", {"action": "add", "class_name": "Python.editcomponents.Echo", "name": "Sneak"}),
             ("edit", {"action": "remove", "item": "Echo"}),
             ("edit", {"action": "copy", "item": "Echo", "name": "Sneak"}),
             ("edit", {"action": "connect", "item": "Router", "setting": "Output",
                       "targets": "Echo"}),
             ("rollback", {"backup": backups[0].name if backups else
                           "20260101T000000Z-0123456789ab"})]
    for route, fields in posts:
        answer = page.request.post(portal.url + f"/ns/USER/config/{route}", form={
            "csrf": csrf, "production": PRODUCTION, **fields},
            headers={"Origin": portal.url.rstrip("/")}, max_redirects=0)
        assert answer.status == 403, (route, fields)
        assert "needs the developer role" in answer.text()
    assert editor.items() == before and editor.backups() == backups


def test_edit_without_the_csrf_token_is_refused(editor: Editor) -> None:
    portal, page = editor.portal, editor.page
    page.context.clear_cookies()
    portal.login(DEVELOPER)
    before = editor.items()
    answer = page.request.post(portal.url + "/ns/USER/config/edit", form={
        "csrf": "forged", "production": PRODUCTION, "action": "remove", "item": "Echo"},
        headers={"Origin": portal.url.rstrip("/")}, max_redirects=0)
    assert answer.status == 403
    assert "did not come from this portal" in answer.text()
    assert editor.items() == before
