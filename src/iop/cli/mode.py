"""Local or remote mode for one command line: its flags (``--force-local``, ``-R FILE``,
``-m FILE``, ``-n NS``) and the environment, in the order iop.client.connection gives."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from iop.client.base import Client
from iop.client.connection import ModeError, open_client, remote_settings

__all__ = ["ModeError", "select_client"]


def select_client(args: Any, env: Mapping[str, str] | None = None) -> Client:
    """The client for this command line: RemoteClient or LocalClient."""
    settings = remote_settings(os.environ if env is None else env,
                               force_local=getattr(args, "force_local", False),
                               settings_file=getattr(args, "remote_settings", None),
                               migrate_file=getattr(args, "migrate", None))
    return open_client(settings, getattr(args, "namespace", None))
