"""PUT /migrate: stage the uploaded project, check it loads, then migrate it for real.

Migrations run in a child `iop` process: a long-running server must not keep stale copies
of user modules in its own ``sys.modules`` from one upload to the next.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

from iop.engine.errors import EngineError
from iop.server import uploads

DEADLINE_SECONDS = 25.0  # the remote client gives up after 30 s


def _run_iop(args: list[str], namespace: str, timeout: float) -> str:
    env = {k: v for k, v in os.environ.items()
           if k not in ("IOP_URL", "IOP_SETTINGS", "IOP_USERNAME", "IOP_PASSWORD")}
    env["IOP_NAMESPACE"] = namespace
    try:
        done = subprocess.run([sys.executable, "-m", "iop", *args, "--force-local"],
                              capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise EngineError(f"migration did not finish within {timeout:.0f} s") from exc
    if done.returncode != 0:
        lines = [x for x in done.stderr.splitlines() if x.strip()]
        message = lines[-1] if lines else f"migration failed with exit code {done.returncode}"
        raise EngineError(message.removeprefix("error: "))
    return done.stdout


def migrate_upload(namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    """Apply an uploaded project; the store is unchanged when anything fails."""
    started = time.monotonic()
    settings_file = body.get("settings_file") or "settings.py"
    uploads._safe_name(settings_file, "settings file")
    staging, folder = uploads.stage_project(namespace, str(body.get("package") or "python"),
                                            body.get("body") or [])
    strict = ["--strict-production-validation"] if body.get("strict_production_validation") else []
    try:
        if not os.path.isfile(os.path.join(staging, settings_file)):
            raise EngineError(f"the upload has no {settings_file}")
        _run_iop(["-m", os.path.join(staging, settings_file), "--dry-run", *strict], namespace,
                 DEADLINE_SECONDS)
    except Exception:
        uploads.discard(staging)
        raise
    uploads.publish(staging, folder)
    remaining = max(1.0, DEADLINE_SECONDS - (time.monotonic() - started))
    output = _run_iop(["-m", os.path.join(folder, settings_file), *strict], namespace, remaining)
    return {"status": "migrated", "namespace": namespace, "folder": folder,
            "output": output.splitlines()}
