"""What the connectors keep in a store, the same on both backends: credentials (a secret the
store holds only as the bytes it was given) and adapters' memory of what they delivered."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest

from iop.connectors.state import MAX_KEY_LENGTH, AdapterState
from iop.store.base import Store


def test_credentials_are_kept_updated_listed_and_deleted(store: Store) -> None:
    assert store.list_credentials() == [] and store.get_credential("mail") is None
    secret = bytes(range(256))  # any bytes survive, NUL and high bytes included
    before = time.time()
    store.put_credential("mail", "olivia", secret)
    store.put_credential("ftp", "bob", b"x")
    assert store.get_credential("mail") == ("olivia", secret)
    listed = store.list_credentials()
    assert [(n, u) for n, u, _ in listed] == [("ftp", "bob"), ("mail", "olivia")]
    assert all(t >= before - 1 for _, _, t in listed)
    store.put_credential("mail", "olivia2", b"new")
    assert store.get_credential("mail") == ("olivia2", b"new")
    assert store.delete_credential("mail") is True
    assert store.delete_credential("mail") is False
    assert store.get_credential("mail") is None
    assert [n for n, _, _ in store.list_credentials()] == ["ftp"]


def _adapter(store: Store, item: str) -> Any:
    return SimpleNamespace(_iop_runtime=SimpleNamespace(store=store, item=item))


def test_adapter_state_is_per_item_and_scope(store: Store) -> None:
    rows = AdapterState(_adapter(store, "SqlIn"), "sql.keys")
    files = AdapterState(_adapter(store, "SqlIn"), "ftp.files")
    other = AdapterState(_adapter(store, "OtherIn"), "sql.keys")
    assert not rows.seen("42")
    rows.remember("42")
    rows.remember("7", "2026-12-07T10:00")
    assert rows.seen("42") and rows.value("7") == "2026-12-07T10:00"
    assert not files.seen("42") and not other.seen("42")
    rows.remember("7", "changed")  # remembering again replaces the value
    assert rows.value("7") == "changed"
    assert list(rows.keys()) == [("42", ""), ("7", "changed")]
    assert rows.forget("42") is True and rows.forget("42") is False
    other.remember("1")
    assert rows.forget_all() == 1
    assert list(rows.keys()) == [] and other.seen("1")


def test_adapter_state_pages_through_many_keys(store: Store) -> None:
    state = AdapterState(_adapter(store, "FtpIn"), "ftp.files")
    names = [f"file{n:04d}.txt" for n in range(25)]
    for name in names:
        state.remember(name)
    assert [k for k, _ in state.keys(page=7)] == names


def test_adapter_state_refuses_empty_and_oversized_keys(store: Store) -> None:
    state = AdapterState(_adapter(store, "FtpIn"), "ftp.files")
    with pytest.raises(ValueError, match="1 to"):
        state.remember("")
    with pytest.raises(ValueError, match="1 to"):
        state.remember("x" * (MAX_KEY_LENGTH + 1))
    state.remember("é" * MAX_KEY_LENGTH)
    assert state.seen("é" * MAX_KEY_LENGTH)
