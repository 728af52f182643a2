"""The client conformance suite: every ``Client`` method against ``LocalClient`` and against
``RemoteClient`` talking to a real `iop --serve` on loopback over the same IOP_HOME.

``client`` is the client under test (``mode`` says which); ``other`` is the other path to the
same namespace, through which a test reads back what the call changed. One server serves a
test module; each test works in a namespace of its own unless its module shares one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from conformance_support import MODES, SETTINGS, close_client, open_client, other_mode
from remote_server import ServedEngine, clean_env, start_engine, stop_engine

from iop.client.base import Client


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedEngine]:
    """One real `iop --serve` for the module. This process takes the same IOP_HOME (and drops
    any variable choosing another server or backend), so a LocalClient here and the server
    work on the same stores."""
    engine = start_engine(tmp_path_factory.mktemp("conformance") / "home")
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(clean_env(IOP_HOME=str(engine.home)))
    try:
        yield engine
    finally:
        os.environ.clear()
        os.environ.update(saved)
        stop_engine(engine)


@pytest.fixture(scope="module")
def settings_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The project's settings.py (its components and its production in one file)."""
    root = tmp_path_factory.mktemp("project")
    (root / "settings.py").write_text(SETTINGS, encoding="utf-8")
    return str(root / "settings.py")


@pytest.fixture(scope="module", params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """Which client is under test: "local" or "remote"."""
    return str(request.param)


@pytest.fixture
def namespace(served: ServedEngine) -> str:
    """A fresh namespace for the test, created the way `iop -i` does it."""
    return served.new_namespace("CONF")


@pytest.fixture
def client(mode: str, served: ServedEngine, namespace: str) -> Iterator[Client]:
    """The client under test: LocalClient or RemoteClient on ``namespace``."""
    opened = open_client(mode, served, namespace)
    yield opened
    close_client(opened)


@pytest.fixture
def other(mode: str, served: ServedEngine, namespace: str) -> Iterator[Client]:
    """The other path to the same namespace, to read back what the client under test did."""
    opened = open_client(other_mode(mode), served, namespace)
    yield opened
    close_client(opened)
