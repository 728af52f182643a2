"""Browser tests of the portal: one real `iop --serve` and one headless Chromium per module."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from portal_support import Portal, chromium_path
from remote_server import REPO, start_engine, stop_engine


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    from playwright.sync_api import sync_playwright

    root = tmp_path_factory.mktemp("portal")
    roots = root / "data"
    archive = roots / "archive"
    archive.mkdir(parents=True)
    (roots / "inbox").mkdir()
    demo = root / "demo"
    shutil.copytree(REPO / "examples" / "demo", demo,
                    ignore=shutil.ignore_patterns("__pycache__"))
    engine = start_engine(root / "home", IOP_PORTAL_ROOTS=str(roots))
    browser = None
    try:
        loaded = engine.iop_local("-m", str(demo / "settings.py"))
        assert loaded.returncode == 0, loaded.stderr
        assert engine.iop_local("-d", "Demo.Production").returncode == 0
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_path(),
                args=["--no-sandbox"] if os.geteuid() == 0 else [])
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.set_default_timeout(60_000)
            yield Portal(engine, context.new_page(), archive)
            browser.close()
    finally:
        stop_engine(engine)
