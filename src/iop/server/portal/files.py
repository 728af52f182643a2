"""The directory and file pickers: listings of the server's file system, within allowed roots.

Which folders a portal user may browse is the server's choice, never the browser's: by
default only the namespace's own folder under IOP_HOME (its store and whatever the project
keeps there), plus the folders named by ``iop --serve --portal-root DIR`` (repeatable) or
``IOP_PORTAL_ROOTS`` (os.pathsep-separated). The user's home is *not* a default root: it
holds credentials (~/.ssh, cloud configs) whose names alone say too much to every portal
user. Listings show names only (never contents), skip hidden entries, and resolve symbolic
links before checking the root, so a link cannot lead outside. A setting may still be set to
any path by typing it: the roots limit browsing, not what an item may use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from iop.server.auth import Forbidden
from iop.store import namespace_dir

ENV_ROOTS = "IOP_PORTAL_ROOTS"
MAX_ENTRIES = 500


class OutsideRoots(Forbidden):
    """A path the pickers may not show (HTTP 403)."""


@dataclass(frozen=True)
class FileRoots:
    """The configured roots (besides each namespace's own folder)."""

    extra: tuple[str, ...] = ()

    @classmethod
    def configured(cls, flags: list[str] | None = None) -> FileRoots:
        named = list(flags or []) + [p for p in os.environ.get(ENV_ROOTS, "").split(os.pathsep)
                                     if p.strip()]
        return cls(tuple(os.path.realpath(os.path.expanduser(p)) for p in named))

    def for_namespace(self, namespace: str) -> list[str]:
        own = os.path.realpath(namespace_dir(namespace))
        return [own, *[p for p in self.extra if p != own]]


def _inside(path: str, roots: list[str]) -> bool:
    return any(path == root or os.path.commonpath([path, root]) == root for root in roots)


def listing(roots: list[str], path: str | None, want_files: bool) -> dict[str, Any]:
    """The folders (and files, for the file picker) in ``path``; the roots when no path."""
    if not path:
        return {"path": "", "parent": None, "roots": roots,
                "entries": [{"name": root, "path": root, "dir": True,
                             "exists": os.path.isdir(root)} for root in roots]}
    real = os.path.realpath(os.path.expanduser(path))
    if not _inside(real, roots):
        raise OutsideRoots(f"{path} is outside the folders this server lets the portal browse "
                           f"({', '.join(roots)}); start it with --portal-root to add one")
    if not os.path.isdir(real):
        raise OutsideRoots(f"{path} is not a folder on the server")
    entries = []
    try:
        with os.scandir(real) as found:
            for entry in sorted(found, key=lambda e: e.name.lower()):
                if entry.name.startswith("."):
                    continue
                target = os.path.realpath(entry.path)
                is_dir = os.path.isdir(target)
                if not _inside(target, roots) or (not is_dir and not want_files):
                    continue
                entries.append({"name": entry.name, "path": entry.path, "dir": is_dir})
                if len(entries) >= MAX_ENTRIES:
                    break
    except PermissionError as exc:
        raise OutsideRoots(f"the server may not read the folder {path}") from exc
    parent = os.path.dirname(real)
    return {"path": real, "parent": parent if _inside(parent, roots) and parent != real else "",
            "roots": roots, "entries": entries, "truncated": len(entries) >= MAX_ENTRIES}
