"""A backup directory written by IoP 4.1.1's apply (metadata.json and production.json, no
manifest) is rolled back by the engine's CLI, and the engine's backups carry IoP's metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PRODUCTION = "Backup.Production"

COMPONENTS = '''
class Echo(BusinessOperation):
    Prefix = setting("echo")

    def on_message(self, request):
        return request
'''


def _settings(prefix: str) -> str:
    return f'''
prod = Production("{PRODUCTION}")
prod.operation("Echo", Echo).host_setting("Prefix", {prefix!r})
PRODUCTIONS = [prod]
'''


def test_an_iop_backup_rolls_back_and_ours_carry_iop_metadata(
        make_project: Any, run_iop: Any, iop_json: Any, tmp_path: Path) -> None:
    project = make_project(COMPONENTS, _settings("before"))
    project.migrate()
    before = iop_json("-e", PRODUCTION)

    project.write_settings(_settings("after"))
    plan = tmp_path / "plan.json"
    run_iop("--plan", project.settings, "--production", PRODUCTION, "--out", plan)
    run_iop("--apply-plan", plan, "--settings", project.settings, "--backup-dir",
            tmp_path / "ours")
    [ours] = list((tmp_path / "ours").iterdir())
    metadata = json.loads((ours / "metadata.json").read_text())
    assert (metadata["production"], metadata["plan_id"]) == (
        PRODUCTION, json.loads(plan.read_text())["id"])

    # IoP keys production.json by the production's name and has no manifest.json.
    iop_backup = tmp_path / "iop" / "20260604T120000Z-0123456789ab"
    iop_backup.mkdir(parents=True)
    (iop_backup / "production.json").write_text(json.dumps(
        {PRODUCTION: before["Production"]}))
    (iop_backup / "metadata.json").write_text(json.dumps(
        {"backup_id": iop_backup.name, "production": PRODUCTION, "namespace": "",
         "plan_id": "0123456789ab"}))
    refused = run_iop("--rollback-backup", iop_backup, check=False)
    assert refused.returncode == 1 and "allow" in refused.stderr
    out = run_iop("--rollback-backup", iop_backup, "--allow-destructive").stdout
    assert out.splitlines() == [f"Production {PRODUCTION} restored from {iop_backup}"]
    assert iop_json("-e", PRODUCTION) == before
