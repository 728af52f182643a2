"""What the browser tests share: the Portal handle (server, page, screenshots, store).

One real `iop --serve` and one headless Chromium per module (see conftest.py).

Chromium is Debian's (scripts/setup.sh installs it), driven by Playwright's Python package
through ``executable_path``; Playwright's own browser downloads are never used. Screenshots
of each page go to artifacts/screenshots/ (git-ignored).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from remote_server import ADMIN, REPO, ServedEngine, start_engine, stop_engine

SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str:
    """Debian's Chromium; a missing one fails the module with what to run."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("no Chromium found: run scripts/setup-test-tools.sh (it installs Debian's chromium)")


@contextmanager
def browser_page() -> Iterator[Any]:
    """A page of a fresh headless Chromium (closed on exit), with generous timeouts."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(),
            args=["--no-sandbox"] if os.geteuid() == 0 else [])
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.set_default_timeout(60_000)
            yield context.new_page()
        finally:
            browser.close()


@dataclass
class Portal:
    """A served engine with the demo production loaded, and a logged-out browser page."""

    engine: ServedEngine
    page: Any
    archive: Path  # a folder inside the pickers' allowed roots

    @property
    def url(self) -> str:
        return self.engine.url

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def store(self) -> Any:
        """The served namespace's store, opened here to check what the portal persisted."""
        from iop.store.sqlite import SQLiteStore

        return SQLiteStore(str(self.engine.home / "USER" / "store.sqlite3"), "USER")

    def login(self, user: tuple[str, str] = ADMIN) -> None:
        self.page.goto(self.url + "/login")
        self.page.fill("input[name=username]", user[0])
        self.page.fill("input[name=password]", user[1])
        self.page.click("button[type=submit]")
        self.page.wait_for_url("**/productions")


@dataclass
class ServedProduction:
    """A served engine running one test production (its components and settings written to
    a project folder), a browser page on it, and the folder its file service reads."""

    portal: Portal
    production: str
    project: Path
    inbox: Path
    settings: str  # the settings.py template: {production}, {inbox} and the load's extras

    def load(self, **extra: Any) -> None:
        """Write settings.py from the template (with ``extra``) and ``iop -m`` it."""
        (self.project / "settings.py").write_text(self.settings.format(
            production=self.production, inbox=str(self.inbox), **extra))
        done = self.portal.engine.iop_local("-m", str(self.project / "settings.py"))
        assert done.returncode == 0, done.stderr

    def drop(self, name: str, data: Any) -> None:
        """A JSON file for the service, renamed into the inbox whole (never read half)."""
        path = self.inbox / name
        path.with_suffix(".tmp").write_text(json.dumps(data))
        path.with_suffix(".tmp").rename(path)

    def counts(self, **filters: str) -> dict[str, int]:
        """``iop --messages --count`` with ``--KEY VALUE`` filters, as the CLI prints it."""
        args = [a for k, v in filters.items() for a in (f"--{k}", v)]
        done = self.portal.engine.iop_local("--messages", "--count", *args)
        assert done.returncode == 0, done.stderr
        return {k: int(v) for k, v in json.loads(done.stdout).items()}


@contextmanager
def served_production(root: Path, production: str, components: tuple[str, str], settings: str,
                      **extra: Any) -> Iterator[ServedProduction]:
    """``iop --serve`` in ``root``, the production loaded (``components`` is its module's
    (file name, text); ``settings`` a template given ``extra``), made default and started
    in the background, and a fresh browser page; everything stopped on exit."""
    project, inbox = root / "project", root / "inbox"
    project.mkdir()
    inbox.mkdir()
    (project / components[0]).write_text(components[1])
    engine = start_engine(root / "home")
    try:
        with browser_page() as page:
            served = ServedProduction(Portal(engine, page, root), production, project, inbox,
                                      settings)
            served.load(**extra)
            for args in (("-d", production), ("-s", production, "-D")):
                done = engine.iop_local(*args)
                assert done.returncode == 0, done.stderr
            yield served
    finally:
        stop_engine(engine)
