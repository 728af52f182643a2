"""Damaged stores are detected and named, checked and repaired (issue 25).

An empty store file, one with a foreign header and one with a page overwritten in the middle
of a populated store: every command that meets the damage says so in one line (exit 1, no
traceback) and names what to run; nothing treats the file as a fresh namespace.
`iop --check-store` reports the damage as JSON and `--repair` salvages every readable row
into a new store file, keeping the damaged one beside it.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path
from typing import Any

from damaged_support import (
    COMPONENTS,
    DAMAGE_HINT,
    PRODUCTION,
    SETTINGS,
    assert_damage_line,
    corrupt_table_page,
    json_of,
    populate,
    store_path,
)
from remote_server import ADMIN, start_engine, stop_engine

MESSAGES = 2000


def _kept_files(path: Path) -> list[Path]:
    return sorted(p for p in path.parent.iterdir() if p.name.startswith(path.name + ".damaged-")
                  and not p.name.endswith(("-wal", "-shm")))


def _repair_gives_a_working_store(run_iop: Any, path: Path) -> dict[str, Any]:
    assert not Path(f"{path}-wal").exists()  # every command checkpointed its writes
    original = path.read_bytes()
    repaired = run_iop("--check-store", "--repair")
    result = json_of(repaired)
    assert result["store"] == str(path) and result["ok"] is True
    kept = _kept_files(path)
    assert len(kept) == 1 and kept[0].read_bytes() == original  # the damaged file, untouched
    assert json_of(run_iop("-x"))["Status"] == "stopped"
    assert json_of(run_iop("--check-store"))["ok"] is True
    return result  # type: ignore[no-any-return]


def test_an_empty_store_file_is_named_never_a_fresh_namespace(iop_home: Path,
                                                                run_iop: Any) -> None:
    path = store_path(iop_home)
    path.parent.mkdir(mode=0o700)
    path.touch(mode=0o600)
    for args in (("-x",), ("--messages", "--count"), ("-s", PRODUCTION, "-D")):
        assert_damage_line(run_iop(*args, check=False), path, "the file is empty (0 bytes)")
    assert path.stat().st_size == 0  # nothing was written over it
    checked = run_iop("--check-store", check=False)
    assert checked.returncode == 1
    assert json_of(checked) == {"store": str(path), "ok": False,
                                "problems": ["the file is empty (0 bytes)"],
                                "checked": "SQLite integrity check (pages, records, indexes)"}
    result = _repair_gives_a_working_store(run_iop, path)
    assert result["tables"] == {}


def test_a_foreign_header_is_named(iop_home: Path, run_iop: Any) -> None:
    path = store_path(iop_home)
    path.parent.mkdir(mode=0o700)
    garbage = b"PK\x03\x04 not a database at all " + os.urandom(8192)
    path.write_bytes(garbage)
    for args in (("-x",), ("--messages", "--count"), ("-s", PRODUCTION, "-D")):
        assert_damage_line(run_iop(*args, check=False), path, "file is not a database")
    assert path.read_bytes() == garbage
    checked = json_of(run_iop("--check-store", check=False))
    assert checked["ok"] is False
    assert checked["problems"] == ["the file does not start with the SQLite header"]
    result = _repair_gives_a_working_store(run_iop, path)
    assert result["tables"] == {}
    assert "the list of tables cannot be read" in result["problems"][0]


def test_a_corrupted_page_is_named_checked_repaired_and_watched(
        iop_home: Path, run_iop: Any, make_project: Any, wait_for: Any) -> None:
    project = make_project(COMPONENTS, SETTINGS)
    project.migrate()
    populate(MESSAGES)
    path = store_path(iop_home)
    assert json_of(run_iop("--messages", "--count")) == {"completed": MESSAGES}
    page = corrupt_table_page(path, "headers")

    # Met at run time by a read, and by the quick check a start runs.
    assert_damage_line(run_iop("--messages", "--count", check=False), path,
                       "database disk image is malformed")
    assert_damage_line(run_iop("-s", PRODUCTION, "-D", check=False), path, "")
    assert json_of(run_iop("-x"))["Status"] == "stopped"  # nothing started on it

    checked = run_iop("--check-store", check=False)
    assert checked.returncode == 1
    report = json_of(checked)
    assert report["store"] == str(path) and report["ok"] is False and report["problems"]
    print(f"corrupted page {page}; check-store problems: {report['problems'][:3]}")

    result = _repair_gives_a_working_store(run_iop, path)
    headers, bodies = result["tables"]["headers"], result["tables"]["bodies"]
    print(f"repair: headers {headers}, bodies {bodies}")
    assert headers["salvaged"] + headers["lost"] == MESSAGES
    assert 0 < headers["lost"] < 100 and "lost_is_estimate" not in headers
    assert bodies == {"salvaged": MESSAGES, "lost": 0}
    assert result["tables"]["productions"] == {"salvaged": 1, "lost": 0}
    # The repaired store serves the salvaged rows, and the production starts on it.
    assert json_of(run_iop("--messages", "--count")) == {"completed": headers["salvaged"]}
    run_iop("-s", PRODUCTION, "-D")
    assert json_of(run_iop("-x"))["Status"] == "running"

    refused = run_iop("--check-store", "--repair", check=False)
    assert refused.returncode == 1 and "a production runs on the store" in refused.stderr
    assert len(_kept_files(path)) == 1

    # The supervisor's scheduled quick check (StoreCheckSeconds 1) finds new damage.
    corrupt_table_page(path, "headers")
    log = wait_for(lambda: "is damaged" in (out := run_iop("-L", "50").stdout) and out,
                   timeout=30, what="the scheduled store check's alert")
    alert = next(line for line in log.splitlines() if "is damaged" in line)
    assert f"store {path} is damaged: " in alert and "iop --check-store" in alert
    print(f"scheduled check alert: {alert}")


def test_the_api_and_the_portal_name_a_corrupted_page(tmp_path: Path, iop_home: Path,
                                                       monkeypatch: Any) -> None:
    home = tmp_path / "served" / "home"
    home.mkdir(mode=0o700, parents=True)
    monkeypatch.setenv("IOP_HOME", str(home))
    namespace = "DAMAGED"
    populate(MESSAGES, namespace)
    path = home / namespace / "store.sqlite3"
    corrupt_table_page(path, "headers")
    engine = start_engine(home)
    try:
        expected = f"store {path} is damaged: database disk image is malformed" + DAMAGE_HINT
        with engine.http() as http:
            answer = http.get("/api/iop/messages", params={"namespace": namespace,
                                                            "count": "1"})
        assert answer.status_code == 503, answer.text
        assert expected in answer.text and "Traceback" not in answer.text
        with engine.http(None) as http:
            form = http.get("/login")
            token = re.search(r'name="login_token" value="([^"]+)"', form.text)
            assert token, form.text
            assert http.post("/login", data={"login_token": token.group(1), "username": ADMIN[0],
                                             "password": ADMIN[1]}).status_code == 303
            page = http.get(f"/ns/{namespace}/messages")
        assert page.status_code == 503, page.text[:500]
        assert html.escape(expected, quote=True) in page.text or expected in page.text
        assert "Traceback" not in page.text
    finally:
        stop_engine(engine)
