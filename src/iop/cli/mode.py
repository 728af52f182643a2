"""Local or remote mode, chosen as seed 000 says (highest priority first):

1. ``--force-local``: local, whatever else is set;
2. ``IOP_URL`` (with ``IOP_USERNAME``, ``IOP_PASSWORD``, ``IOP_NAMESPACE``,
   ``IOP_VERIFY_SSL``);
3. ``-R FILE`` / ``--remote-settings FILE``: its ``REMOTE_SETTINGS`` dict;
4. ``IOP_SETTINGS``: the same, from the file it names;
5. the file given to ``-m``, when it has a ``REMOTE_SETTINGS`` dict;
otherwise local. ``-n NS`` overrides the namespace in every mode.

A settings file's dict may leave out ``username``/``password`` (to keep secrets out of the
file): the IOP_USERNAME / IOP_PASSWORD variables fill them in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from iop.client.base import Client
from iop.client.remote import RemoteClient, read_remote_settings
from iop.errors import CliError


class ModeError(CliError):
    """A remote-settings file that was asked for explicitly cannot be used."""


def _verify(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in ("0", "false", "no", "off")


def remote_settings(args: Any, env: Mapping[str, str]) -> dict[str, Any] | None:
    """The remote connection the flags and environment select, or None for local mode."""
    if getattr(args, "force_local", False):
        return None
    if env.get("IOP_URL"):
        return {"url": env["IOP_URL"], "username": env.get("IOP_USERNAME", ""),
                "password": env.get("IOP_PASSWORD", ""),
                "namespace": env.get("IOP_NAMESPACE") or "USER",
                "verify_ssl": _verify(env.get("IOP_VERIFY_SSL", "1"))}
    explicit = getattr(args, "remote_settings", None)
    if explicit:
        if not os.path.isfile(explicit):
            raise ModeError(f"remote settings file {explicit} does not exist")
        found = read_remote_settings(explicit)
        if found is None:
            raise ModeError(f"{explicit} has no literal REMOTE_SETTINGS dict with a \"url\"")
        return _complete(found, env)
    for path in (env.get("IOP_SETTINGS"), getattr(args, "migrate", None)):
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


def select_client(args: Any, env: Mapping[str, str] | None = None) -> Client:
    """The client for this command line: RemoteClient or LocalClient."""
    env = os.environ if env is None else env
    settings = remote_settings(args, env)
    namespace = getattr(args, "namespace", None)
    if settings is not None:
        return RemoteClient(settings["url"], str(settings["username"] or ""),
                            str(settings["password"] or ""), namespace or settings["namespace"],
                            settings["verify_ssl"])
    from iop.client.local import LocalClient

    return LocalClient(namespace)
