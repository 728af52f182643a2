"""Projects uploaded by `iop -m` in remote mode, written only under the server's own folder.

Every upload lands in ``<IOP_HOME>/<NS>/projects/<package>``: a client cannot choose a server
path. File names are checked, all of them, before anything is written; a name that is
absolute, contains ``..``, a backslash or a control character rejects the whole upload.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import PurePosixPath
from typing import Any

from iop.engine.errors import EngineError
from iop.store import namespace_dir
from iop.store.private import FOLDER_MODE, make_private_folder, open_private

MAX_FILES = 10_000
_PACKAGE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class UploadRejected(EngineError):
    """An upload whose names would escape the project folder, or that is malformed."""


def projects_root(namespace: str) -> str:
    return os.path.join(namespace_dir(namespace), "projects")


def safe_relative(name: Any, what: str) -> PurePosixPath:
    """``name`` as a relative path that stays inside its folder; UploadRejected otherwise."""
    if not isinstance(name, str) or not name:
        raise UploadRejected(f"{what} must be a non-empty text")
    path = PurePosixPath(name)
    if path.is_absolute() or "\\" in name or _CONTROL.search(name) or name.startswith("~") \
            or re.match(r"^[A-Za-z]:", name) or any(p == ".." for p in path.parts) \
            or not path.parts:
        raise UploadRejected(f"{what} {name!r} is not a relative path inside the project")
    return path


def check_package(package: Any) -> str:
    if not isinstance(package, str) or not _PACKAGE.match(package) or package in (".", ".."):
        raise UploadRejected(f"package {package!r} must be one folder name (letters, digits, "
                             "'_', '.', '-')")
    return package


def check_files(files: Any) -> list[tuple[PurePosixPath, str]]:
    """The uploaded ``body``: a list of ``{"name", "data"}`` text files, checked."""
    if not isinstance(files, list):
        raise UploadRejected("body must be a list of {\"name\", \"data\"} files")
    if len(files) > MAX_FILES:
        raise UploadRejected(f"the upload has {len(files)} files; at most {MAX_FILES} are "
                             "accepted")
    checked: list[tuple[PurePosixPath, str]] = []
    seen: set[PurePosixPath] = set()
    for entry in files:
        if not isinstance(entry, dict):
            raise UploadRejected("each uploaded file must be an object with 'name' and 'data'")
        path = safe_relative(entry.get("name"), "file name")
        data = entry.get("data", "")
        if not isinstance(data, str):
            raise UploadRejected(f"file {entry['name']!r}: 'data' must be text")
        if path in seen:
            raise UploadRejected(f"file {entry['name']!r} is uploaded twice")
        seen.add(path)
        checked.append((path, data))
    dirs = {parent for path, _ in checked for parent in path.parents}
    clash = next((path for path, _ in checked if path in dirs), None)
    if clash is not None:
        raise UploadRejected(f"{clash} is uploaded both as a file and as a folder")
    return checked


def _write(folder: str, files: list[tuple[PurePosixPath, str]]) -> None:
    for path, data in files:
        target = os.path.join(folder, *path.parts)
        make_private_folder(os.path.dirname(target))
        with open_private(target, "w", encoding="utf-8", newline="") as fh:
            fh.write(data)


@contextmanager
def replaced_project(namespace: str, package: str,
                     files: list[tuple[PurePosixPath, str]]) -> Iterator[str]:
    """Put ``files`` in place as the project ``package`` for the body of the ``with``.

    The previous upload is kept aside and comes back if the body raises (a migration that
    fails leaves the last good project in place); otherwise it is deleted, as each migrate
    replaces the project.
    """
    root = projects_root(namespace)
    make_private_folder(root)
    folder = os.path.join(root, package)
    tag = uuid.uuid4().hex[:12]
    staging = os.path.join(root, f".upload-{package}-{tag}")
    previous = os.path.join(root, f".previous-{package}-{tag}")
    try:
        os.mkdir(staging, FOLDER_MODE)
        _write(staging, files)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise UploadRejected(f"cannot write the upload: {exc.strerror or exc}") from exc
    had_previous = os.path.isdir(folder)
    if had_previous:
        os.replace(folder, previous)
    os.replace(staging, folder)
    try:
        yield folder
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        if had_previous:
            os.replace(previous, folder)
        raise
    shutil.rmtree(previous, ignore_errors=True)
