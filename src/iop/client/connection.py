"""Which client a command or a Director talks through: local, or remote as seed 000 says
(highest priority first):

1. ``force_local`` (``--force-local``): local, whatever else is set;
2. ``IOP_URL`` (with ``IOP_USERNAME``, ``IOP_PASSWORD``, ``IOP_NAMESPACE``,
   ``IOP_VERIFY_SSL``);
3. ``settings_file`` (``-R FILE`` / ``--remote-settings FILE``): its ``REMOTE_SETTINGS`` dict;
4. ``IOP_SETTINGS``: the same, from the file it names;
5. ``migrate_file`` (the file given to ``-m``), when it has a ``REMOTE_SETTINGS`` dict;
otherwise local. A namespace given to ``open_client`` (``-n NS``) overrides the settings'.

A settings file's dict may leave out ``username``/``password`` (to keep secrets out of the
file): the IOP_USERNAME / IOP_PASSWORD variables fill them in.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Mapping
from typing import Any

from iop.client.base import Client
from iop.errors import CliError

__all__ = ["ModeError", "default_client", "open_client", "read_remote_settings",
           "remote_settings"]


class ModeError(CliError):
    """A remote-settings file that was asked for explicitly cannot be used."""


def _verify(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in ("0", "false", "no", "off")


def read_remote_settings(path: str) -> dict[str, Any] | None:
    """The literal ``REMOTE_SETTINGS = {...}`` of a Python file (with a ``url``), read
    without running the file; None when it has none."""
    try:
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), filename=path)
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return None
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == "REMOTE_SETTINGS" for t in targets):
            try:
                settings = ast.literal_eval(value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                return None
            ok = isinstance(settings, dict) and isinstance(settings.get("url"), str)
            return settings if ok and settings["url"] else None
    return None


def remote_settings(env: Mapping[str, str], *, force_local: bool = False,
                    settings_file: str | None = None,
                    migrate_file: str | None = None) -> dict[str, Any] | None:
    """The remote connection the options and environment select, or None for local mode."""
    if force_local:
        return None
    if env.get("IOP_URL"):
        return {"url": env["IOP_URL"], "username": env.get("IOP_USERNAME", ""),
                "password": env.get("IOP_PASSWORD", ""),
                "namespace": env.get("IOP_NAMESPACE") or "USER",
                "verify_ssl": _verify(env.get("IOP_VERIFY_SSL", "1"))}
    if settings_file:
        if not os.path.isfile(settings_file):
            raise ModeError(f"remote settings file {settings_file} does not exist")
        found = read_remote_settings(settings_file)
        if found is None:
            raise ModeError(f"{settings_file} has no literal REMOTE_SETTINGS dict with a "
                            "\"url\"")
        return _complete(found, env)
    for path in (env.get("IOP_SETTINGS"), migrate_file):
        found = read_remote_settings(path) if path else None
        if found is not None:
            return _complete(found, env)
    return None


def _complete(settings: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    return {"url": settings["url"],
            "username": settings.get("username", env.get("IOP_USERNAME", "")),
            "password": settings.get("password", env.get("IOP_PASSWORD", "")),
            "namespace": settings.get("namespace") or env.get("IOP_NAMESPACE") or "USER",
            "verify_ssl": _verify(settings.get("verify_ssl", env.get("IOP_VERIFY_SSL", "1")))}


def open_client(settings: Mapping[str, Any] | None, namespace: str | None = None) -> Client:
    """A RemoteClient on ``settings`` (as ``remote_settings`` returns them), else a
    LocalClient; ``namespace`` overrides the settings' namespace."""
    if settings is not None:
        from iop.client.remote import RemoteClient  # (with httpx) only in remote mode

        return RemoteClient(settings["url"], str(settings["username"] or ""),
                            str(settings["password"] or ""), namespace or settings["namespace"],
                            settings["verify_ssl"])
    from iop.client.local import LocalClient

    return LocalClient(namespace)


def default_client(namespace: str | None = None) -> Client:
    """The client of a script: remote when the environment selects remote mode (IOP_URL, or
    IOP_SETTINGS naming a file with REMOTE_SETTINGS), else local on ``namespace``'s store."""
    return open_client(remote_settings(os.environ), namespace)
