"""Browser tests of the portal: one real `iop --serve` and one headless Chromium per module."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from portal_support import Portal, browser_page
from remote_server import REPO, start_engine, stop_engine


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    root = tmp_path_factory.mktemp("portal")
    roots = root / "data"
    archive = roots / "archive"
    archive.mkdir(parents=True)
    (roots / "inbox").mkdir()
    demo = root / "demo"
    shutil.copytree(REPO / "examples" / "demo", demo,
                    ignore=shutil.ignore_patterns("__pycache__"))
    engine = start_engine(root / "home", IOP_PORTAL_ROOTS=str(roots))
    try:
        loaded = engine.iop_local("-m", str(demo / "settings.py"))
        assert loaded.returncode == 0, loaded.stderr
        assert engine.iop_local("-d", "Demo.Production").returncode == 0
        with browser_page() as page:
            yield Portal(engine, page, archive)
    finally:
        stop_engine(engine)
