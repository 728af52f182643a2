"""The key that seals the passwords of the credentials store, kept outside the store.

``IOP_CREDENTIALS_KEY`` (the key itself: several hosts sharing one PostgreSQL store need the
same one) or a key file: ``IOP_CREDENTIALS_KEY_FILE``, by default ``<IOP_HOME>/credentials.key``,
made 0600 on the first add. A password is sealed with AES-256-GCM, the credentials' name as
associated data (a sealed password copied onto another name does not open), behind a short
fingerprint of the key, so that a wrong key is told apart from a damaged secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from dataclasses import dataclass, field

from iop.errors import ConnectorError

__all__ = ["CredentialsKey", "CredentialsKeyError", "KEY_ENV", "KEY_FILE_ENV", "key_file_path"]

KEY_ENV = "IOP_CREDENTIALS_KEY"
KEY_FILE_ENV = "IOP_CREDENTIALS_KEY_FILE"
KEY_FILE_NAME = "credentials.key"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
FINGERPRINT_BYTES = 4
FORMAT = b"\x01"  # the first byte of every sealed secret: how the rest is laid out
_HEADER = len(FORMAT) + FINGERPRINT_BYTES + NONCE_BYTES
_AAD_PREFIX = b"iop-credentials\x00"


class CredentialsKeyError(ConnectorError):
    """No key, a key that is not one, or the wrong key for the stored secret."""


def key_file_path() -> str:
    """Where the key file is read (and made on the first add)."""
    configured = os.environ.get(KEY_FILE_ENV, "").strip()
    if configured:
        return os.path.abspath(os.path.expanduser(configured))
    from iop.store import iop_home

    return os.path.join(iop_home(), KEY_FILE_NAME)


def _decode(text: str, where: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise CredentialsKeyError(
            f"the credentials key in {where} is not a key: it must be {KEY_BYTES} bytes in "
            "URL-safe base64 (44 characters), as the key file iop makes holds")
    return raw


@dataclass(frozen=True)
class CredentialsKey:
    """A loaded key and where it came from (said in errors; the key never is)."""

    raw: bytes = field(repr=False)
    where: str

    @classmethod
    def load(cls, create: bool = False) -> CredentialsKey:
        """The configured key; with ``create``, a new key file when none is configured."""
        text = os.environ.get(KEY_ENV, "")
        if text.strip():
            return cls(_decode(text, KEY_ENV), KEY_ENV)
        path = key_file_path()
        where = f"key file {path}"
        try:
            with open(path, encoding="ascii", errors="replace") as fh:
                return cls(_decode(fh.read(200), where), where)
        except FileNotFoundError:
            if not create:
                raise CredentialsKeyError(
                    f"no credentials key: {KEY_ENV} is not set and {path} does not exist") \
                    from None
        except OSError as exc:
            raise CredentialsKeyError(f"cannot read the credentials key {path}: "
                                      f"{exc.strerror}") from None
        return cls(_create_key_file(path), where)

    @property
    def fingerprint(self) -> bytes:
        return hashlib.sha256(b"iop-credentials-key\x00" + self.raw).digest()[:FINGERPRINT_BYTES]

    def seal(self, name: str, password: str) -> bytes:
        """The password of credentials ``name``, encrypted for the store."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(self.raw).encrypt(nonce, password.encode("utf-8"), _aad(name))
        return FORMAT + self.fingerprint + nonce + sealed

    def open(self, name: str, secret: bytes) -> str:
        """The password sealed in ``secret``; CredentialsKeyError says why it cannot be."""
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        cannot = f"credentials {name} cannot be decrypted"
        secret = bytes(secret)
        if len(secret) < _HEADER or not secret.startswith(FORMAT):
            raise CredentialsKeyError(f"{cannot}: the stored secret is not one iop sealed; "
                                      "save the password again")
        if secret[1:1 + FINGERPRINT_BYTES] != self.fingerprint:
            raise CredentialsKeyError(f"{cannot}: the key in {self.where} is not the one they "
                                      "were stored with")
        nonce = secret[1 + FINGERPRINT_BYTES:_HEADER]
        try:
            plain = AESGCM(self.raw).decrypt(nonce, secret[_HEADER:], _aad(name))
        except InvalidTag:
            raise CredentialsKeyError(f"{cannot}: the stored secret is damaged or belongs to "
                                      "other credentials; save the password again") from None
        return plain.decode("utf-8")


def _aad(name: str) -> bytes:
    return _AAD_PREFIX + name.encode("utf-8")


def _create_key_file(path: str) -> bytes:
    """A new random key in a new 0600 file; if another process made one meanwhile, its key.
    The key is written whole to a private temporary file, then linked to its name, so no
    reader ever sees half a key."""
    from iop.store.private import make_private_folder

    folder = make_private_folder(os.path.dirname(path))
    raw = secrets.token_bytes(KEY_BYTES)
    temporary = os.path.join(folder, f".{KEY_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(base64.urlsafe_b64encode(raw).decode("ascii") + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(temporary, 0o600)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return CredentialsKey.load().raw
    finally:
        os.unlink(temporary)
    return raw
