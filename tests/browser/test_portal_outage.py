"""Issue 25: the portal shows a store outage while it lasts (a real browser).

A served engine keeps its IOP_HOME on a small tmpfs; its production runs. Filling the disk
below the free-space threshold is an outage of the store's disk: new input pauses, and the
supervisor says so in its status file. Every portal page then shows a banner naming it, and
`iop -x` adds its StoreOutage key; once space is freed the banner and the key go.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from portal_support import Portal, browser_page
from remote_server import SCENARIO_PRODUCTION, SCENARIO_SETTINGS, start_engine, stop_engine

TMPFS_MB = 32


def fill(path: Path) -> None:
    """Write ``path`` until the disk refuses more (ENOSPC)."""
    chunk = b"\0" * (256 * 1024)
    with open(path, "wb", buffering=0) as fh:
        while len(chunk) >= 512:
            try:
                fh.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                chunk = chunk[: len(chunk) // 2]


@pytest.fixture
def portal_on_small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Portal]:
    """A served engine whose IOP_HOME is a TMPFS_MB tmpfs (inputs pause below 4 MB free),
    its scenario production running, and a logged-in browser."""
    if os.geteuid() != 0:
        pytest.fail("this test mounts a tmpfs and must run as root")
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_MB}m,mode=0700", "tmpfs",
                    str(home)], check=True)
    monkeypatch.setenv("IOP_MIN_FREE_MB", "4")
    try:
        engine = start_engine(home)
        try:
            settings = tmp_path / "settings.py"
            settings.write_text(SCENARIO_SETTINGS, encoding="utf-8")
            for args in (("-m", str(settings)), ("-s", SCENARIO_PRODUCTION, "-D")):
                done = engine.iop_local(*args)
                assert done.returncode == 0, done.stderr
            with browser_page() as page:
                portal = Portal(engine, page, tmp_path)
                portal.login()
                yield portal
        finally:
            stop_engine(engine)
    finally:
        subprocess.run(["umount", str(home)], check=False)
        if os.path.ismount(home):
            subprocess.run(["umount", "-l", str(home)], check=False)


def _status(portal: Portal) -> dict[str, object]:
    shown = portal.engine.iop_local("-x")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)  # type: ignore[no-any-return]


def test_the_portal_and_iop_x_show_a_store_outage_while_it_lasts(
        portal_on_small_disk: Portal, wait_for: object) -> None:
    portal = portal_on_small_disk
    page = portal.page
    productions = f"{portal.url}/ns/USER/productions"
    page.goto(productions)
    assert page.locator("#store-outage").count() == 0
    assert _status(portal) == {"Production": SCENARIO_PRODUCTION, "Status": "running"}

    filler = portal.engine.home / "filler.bin"
    fill(filler)

    def banner_shown() -> bool:
        page.goto(productions)
        return page.locator("#store-outage").count() == 1

    wait_for(banner_shown, timeout=30, what="the outage banner")  # type: ignore[operator]
    banner = page.locator("#store-outage")
    assert banner.is_visible()
    text = banner.inner_text()
    assert "Store unavailable" in text and "inputs paused" in text, text
    portal.shot("store-outage-banner")
    shown = _status(portal)
    assert shown["Status"] == "running"
    outage = shown["StoreOutage"]
    assert isinstance(outage, dict) and "inputs paused" in str(outage["reason"])
    page.goto(f"{portal.url}/ns/USER/log")  # every page shows it, not the productions page only
    assert page.locator("#store-outage").is_visible()

    filler.unlink()
    wait_for(lambda: not banner_shown(), timeout=30,  # type: ignore[operator]
             what="the banner to go once space is freed")
    assert "StoreOutage" not in _status(portal)
