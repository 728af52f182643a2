"""PUT /migrate: put the uploaded project in place and run its migration file.

Nothing is written unless every file name is safe. The project replaces the previous upload
of the same package only if its migration succeeds; otherwise the previous project comes
back and the store is left as it was (the migration writer undoes its own writes).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from iop.engine.errors import Busy
from iop.server import isolated, uploads

DEADLINE_SECONDS = 25.0  # the remote client gives up after 30 s
_log = logging.getLogger("iop.server")
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _project_lock(namespace: str, package: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(f"{namespace}/{package}", threading.Lock())


def migrate_upload(namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    """Apply an uploaded project (spec section 7); the answer lists what was migrated."""
    started = time.monotonic()
    settings_file = body.get("settings_file") or "settings.py"
    settings_path = uploads.safe_relative(settings_file, "settings file")
    package = uploads.check_package(body.get("package") or "python")
    files = uploads.check_files(body.get("body") if "body" in body else [])
    if settings_path not in {path for path, _ in files}:
        raise uploads.UploadRejected(f"the upload has no {settings_file} (settings_file)")
    warnings = []
    remote_folder = body.get("remote_folder") or ""
    if remote_folder:
        # IoP's client lets any caller choose a server folder; here uploads always stay
        # under the namespace's own project folder.
        warnings.append(f"remote_folder {remote_folder!r} ignored: projects are kept in "
                        f"{uploads.projects_root(namespace)}")
        _log.warning("migrate in %s: %s", namespace, warnings[-1])
    lock = _project_lock(namespace, package)
    if not lock.acquire(timeout=DEADLINE_SECONDS / 2):
        raise Busy(f"another migration of package {package} in namespace {namespace} "
                   "is still running")
    try:
        with uploads.replaced_project(namespace, package, files) as folder:
            remaining = DEADLINE_SECONDS - (time.monotonic() - started)
            lines = isolated.call(namespace, "migrate", remaining,
                                  path=os.path.join(folder, *settings_path.parts),
                                  strict=bool(body.get("strict_production_validation")))
    finally:
        lock.release()
    return {"status": "migrated", "namespace": namespace, "package": package,
            "folder": folder, "files": len(files), "warnings": warnings, "output": lines}
