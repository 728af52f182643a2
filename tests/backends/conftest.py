"""Fixtures of the backend conformance suite: the same tests on a fresh store of each backend."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from backends_support import BACKENDS, PG_URL, Backend, drop_schema, require_postgres

from iop.store.base import Store


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Backend]:
    """A fresh, initialised store of each backend in turn."""
    if request.param == "postgresql":
        require_postgres()
    home = tmp_path / "iop_home"
    home.mkdir(mode=0o700)
    for name in ("IOP_URL", "IOP_SETTINGS", "IOP_NAMESPACE", "IOP_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IOP_HOME", str(home))
    namespace = f"T{uuid.uuid4().hex[:12].upper()}"
    if request.param == "postgresql":
        monkeypatch.setenv("IOP_DATABASE_URL", PG_URL)
    chosen = Backend(request.param, namespace, home)
    chosen.open()
    yield chosen
    for store in chosen.stores:
        store.close()
    if request.param == "postgresql":
        for name in chosen.namespaces:
            drop_schema(name)


@pytest.fixture
def store(backend: Backend) -> Store:
    """The backend's first store handle."""
    return backend.stores[0]
