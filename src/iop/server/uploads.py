"""Projects uploaded by `iop -m` in remote mode, written under the server's own folder."""

from __future__ import annotations

import os
import shutil
from pathlib import PurePosixPath
from typing import Any

from iop.engine.errors import EngineError
from iop.store import namespace_dir

MAX_FILES = 5000


class UploadRejected(EngineError):
    """An uploaded file name or folder that would escape the project folder."""


def _safe_name(name: str, what: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if not name or path.is_absolute() or "\\" in name or any(p in ("..", "") for p in path.parts) \
            or name.startswith("~"):
        raise UploadRejected(f"{what} {name!r} is not a relative path inside the project")
    return path


def stage_project(namespace: str, package: str, files: list[Any]) -> tuple[str, str]:
    """Write ``files`` next to the namespace's project ``package``; return (staging, final).

    Uploads always go under ``<IOP_HOME>/<NS>/projects``: a client cannot choose a server
    path (the ``remote_folder`` of IoP's client is ignored for that reason). The staging
    folder replaces the project only once its migration is known to load (``publish``).
    """
    package = package or "python"
    _safe_name(package, "package")
    if "/" in package:
        raise UploadRejected(f"package {package!r} must be a single folder name")
    if not isinstance(files, list) or len(files) > MAX_FILES:
        raise UploadRejected(f"body must be a list of at most {MAX_FILES} files")
    entries = []
    for entry in files:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) \
                or not isinstance(entry.get("data", ""), str):
            raise UploadRejected("each uploaded file needs a text 'name' and 'data'")
        entries.append((_safe_name(entry["name"], "file name"), entry.get("data", "")))
    root = os.path.join(namespace_dir(namespace), "projects")
    folder = os.path.join(root, package)
    staging = folder + ".upload"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    for path, data in entries:
        target = os.path.join(staging, *path.parts)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as fh:
            fh.write(data)
    return staging, folder


def publish(staging: str, folder: str) -> None:
    """Make the staged upload the project (the previous upload of the package goes)."""
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(staging, folder)


def discard(staging: str) -> None:
    shutil.rmtree(staging, ignore_errors=True)
