"""The key that seals passwords, outside the store: where it comes from (IOP_CREDENTIALS_KEY,
IOP_CREDENTIALS_KEY_FILE, <IOP_HOME>/credentials.key made 0600 on the first add, once even
when several processes add at the same moment), what a sealed password is bound to (its
credentials' name), and the one line each failure gives."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
from pathlib import Path

import pytest
from remote_server import PYTHON

from iop.components.widgets import widget_for
from iop.connectors.credentials import Credential, credentials_setting
from iop.connectors.credentials_key import CredentialsKey, CredentialsKeyError


@pytest.fixture(autouse=True)
def no_configured_key(iop_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("IOP_CREDENTIALS_KEY", raising=False)
    monkeypatch.delenv("IOP_CREDENTIALS_KEY_FILE", raising=False)
    return iop_home


def test_the_first_add_makes_a_private_key_file_once(iop_home: Path) -> None:
    with pytest.raises(CredentialsKeyError) as missing:
        CredentialsKey.load()
    assert str(missing.value) == (f"no credentials key: IOP_CREDENTIALS_KEY is not set and "
                                  f"{iop_home / 'credentials.key'} does not exist")
    # Eight processes add at once: one file, one key, and every one of them holds it.
    script = ("from iop.connectors.credentials_key import CredentialsKey; "
              "print(CredentialsKey.load(create=True).raw.hex())")
    procs = [subprocess.Popen([PYTHON, "-c", script], stdout=subprocess.PIPE, text=True)
             for _ in range(8)]
    keys = {proc.communicate(timeout=60)[0].strip() for proc in procs}
    path = iop_home / "credentials.key"
    assert keys == {base64.urlsafe_b64decode(path.read_text().strip()).hex()}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in iop_home.iterdir()] == ["credentials.key"]  # no temporary left
    loaded = CredentialsKey.load()
    assert loaded.where == f"key file {path}" and loaded.raw.hex() in keys
    assert loaded.raw.hex() not in repr(loaded)


def test_a_key_file_elsewhere_and_a_key_in_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, iop_home: Path) -> None:
    elsewhere = tmp_path / "secrets" / "iop.key"
    monkeypatch.setenv("IOP_CREDENTIALS_KEY_FILE", str(elsewhere))
    sealed = CredentialsKey.load(create=True).seal("Db", "pw-1")
    assert elsewhere.exists() and not (iop_home / "credentials.key").exists()
    assert stat.S_IMODE(elsewhere.parent.stat().st_mode) == 0o700
    # The same key given to another host through the environment opens it.
    monkeypatch.setenv("IOP_CREDENTIALS_KEY", elsewhere.read_text().strip())
    monkeypatch.setenv("IOP_CREDENTIALS_KEY_FILE", str(tmp_path / "absent.key"))
    assert CredentialsKey.load().open("Db", sealed) == "pw-1"
    assert CredentialsKey.load().where == "IOP_CREDENTIALS_KEY"
    monkeypatch.setenv("IOP_CREDENTIALS_KEY", "not-a-key")
    with pytest.raises(CredentialsKeyError) as bad:
        CredentialsKey.load()
    assert str(bad.value) == ("the credentials key in IOP_CREDENTIALS_KEY is not a key: it must "
                              "be 32 bytes in URL-safe base64 (44 characters), as the key file "
                              "iop makes holds")


def test_a_sealed_password_opens_only_with_its_key_and_its_name() -> None:
    key = CredentialsKey.load(create=True)
    sealed = key.seal("Partner.Ftp", "pässwörd ✓")
    assert b"p\xc3\xa4ssw" not in sealed
    assert key.open("Partner.Ftp", sealed) == "pässwörd ✓"
    assert key.seal("Partner.Ftp", "pässwörd ✓") != sealed  # a fresh nonce each time
    with pytest.raises(CredentialsKeyError) as moved:
        key.open("Other", sealed)
    assert str(moved.value) == ("credentials Other cannot be decrypted: the stored secret is "
                                "damaged or belongs to other credentials; save the password again")
    other = CredentialsKey(os.urandom(32), "key file /elsewhere/credentials.key")
    with pytest.raises(CredentialsKeyError) as wrong:
        other.open("Partner.Ftp", sealed)
    assert str(wrong.value) == ("credentials Partner.Ftp cannot be decrypted: the key in key "
                                "file /elsewhere/credentials.key is not the one they were "
                                "stored with")
    with pytest.raises(CredentialsKeyError, match="is not one iop sealed"):
        key.open("Partner.Ftp", b"plain text password")


def test_the_setting_is_a_picker_and_a_credential_hides_its_password() -> None:
    assert widget_for(credentials_setting().control).kind == "credentials"
    found = Credential("Db", "alice", "pw-hidden-9")
    assert "pw-hidden-9" not in repr(found) and "pw-hidden-9" not in str(found)
