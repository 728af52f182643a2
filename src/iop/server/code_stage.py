"""A private temporary folder where the code identity finds a namespace's code.

IOP_HOME is not readable by the identity user code runs as (and is hidden from it), so the
folders a call needs (the upload and classpaths in the namespace's projects folder, and
private classpaths outside IOP_HOME that a local migration bound) are copied into a folder
owned by that identity, bounded in size, and removed after the call. Paths in what the
child answers are mapped back to the real folders.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from iop.engine.errors import EngineError
from iop.server.containment import CodeIdentity, open_to_others
from iop.store import iop_home

STAGE_MB_ENV = "IOP_CODE_STAGE_MB"
DEFAULT_STAGE_MB = 200
MAX_STAGED_FILES = 20_000
_SKIPPED = shutil.ignore_patterns("__pycache__", ".git", "*.pyc")


class CodeTooLarge(EngineError):
    """The code folders a call needs exceed the staging bound."""


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


class CodeStage:
    """Copies of code folders for one call; ``workdir`` is the child's working folder."""

    def __init__(self, identity: CodeIdentity | None, code_root: str) -> None:
        self.identity = identity
        # Only folders under the namespace's own projects folder are ever copied: a classpath
        # that names another namespace's folder or a store stays where the code cannot see it.
        self.code_root = os.path.realpath(code_root)
        self.root = tempfile.mkdtemp(prefix="iop-code-", dir=os.environ.get("IOP_CODE_TMP"))
        os.chmod(self.root, 0o700)
        self.workdir = os.path.join(self.root, "work")
        os.mkdir(self.workdir)
        self._copies: dict[str, str] = {}  # real folder -> staged copy
        self._bytes = 0
        self._files = 0
        limit = os.environ.get(STAGE_MB_ENV, "").strip()
        self._limit = (int(limit) if limit.isdigit() else DEFAULT_STAGE_MB) * 1024 * 1024

    # -------------------------------------------------------------- real -> staged
    def path(self, real: str) -> str:
        """Where the child finds ``real`` (a file or folder); copied first when needed."""
        if not real or self.identity is None:
            return real  # no identity switch: the child reads the server's own files
        real = os.path.realpath(real)
        folder = real if os.path.isdir(real) else os.path.dirname(real)
        if _inside(real, os.path.realpath(iop_home())):
            if not _inside(real, self.code_root) or real == self.code_root:
                return real  # hidden from the code: never copied
        elif open_to_others(folder):
            return real  # the code identity reads it where it is
        # Else a private folder outside IOP_HOME: only a local `iop -m` (an administrator)
        # can have bound it, as remote migrations may only add folders open to others.
        for done, copy in self._copies.items():
            if _inside(real, done):
                return copy + real[len(done):]
        if not os.path.isdir(folder):
            return real
        copy = os.path.join(self.root, f"code{len(self._copies)}")
        shutil.copytree(folder, copy, symlinks=True, ignore=_SKIPPED,
                        copy_function=self._copy_file)
        # A folder inside the new copy is now served from it.
        self._copies = {k: v for k, v in self._copies.items() if not _inside(k, folder)}
        self._copies[folder] = copy
        return copy + real[len(folder):]

    def classpath(self, value: str) -> str:
        """A classpath (os.pathsep-separated folders) as the child sees it."""
        return os.pathsep.join(self.path(part) for part in value.split(os.pathsep))

    def _copy_file(self, source: str, target: str) -> Any:
        self._files += 1
        self._bytes += os.lstat(source).st_size
        if self._files > MAX_STAGED_FILES or self._bytes > self._limit:
            raise CodeTooLarge(f"the namespace's code folders hold more than "
                               f"{self._limit // (1024 * 1024)} MB or {MAX_STAGED_FILES} files; "
                               f"remove unused classpaths or raise {STAGE_MB_ENV}")
        return shutil.copy2(source, target)

    def hand_over(self) -> None:
        """Give the staged folder to the code identity (it alone may read it)."""
        if self.identity is None:
            return
        for folder, dirs, files in os.walk(self.root):
            for name in [*dirs, *files]:
                os.lchown(os.path.join(folder, name), self.identity.uid, self.identity.gid)
        os.chown(self.root, self.identity.uid, self.identity.gid)

    # -------------------------------------------------------------- staged -> real
    def real(self, value: Any) -> Any:
        """``value`` (JSON data) with staged paths replaced by the real ones."""
        if isinstance(value, str):
            for folder, copy in sorted(self._copies.items(), key=lambda kv: -len(kv[1])):
                value = value.replace(copy, folder)
            return value
        if isinstance(value, list):
            return [self.real(x) for x in value]
        if isinstance(value, dict):
            return {self.real(k): self.real(v) for k, v in value.items()}
        return value

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
