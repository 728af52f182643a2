"""An adapter's ``Credentials`` setting in a running production: ``credentials_for`` reads
the entry from the namespace's store (SQLite and PostgreSQL), decrypts its password with the
key outside the store, and fails the message with one line naming what is missing: the
entry, or the right key. The password reaches the outside system and nothing of ours."""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from credentials_support import BACKENDS, Namespace, in_any, namespace_on
from remote_server import PYTHON

PASSWORD = "pw-Hd52-in-production"
NEW_PASSWORD = "pw-Rt19-changed-while-running"

COMPONENTS = '''
from iop.connectors.credentials import credentials_for, credentials_setting


@dataclass
class Login(Message):
    text: str = ""


@dataclass
class LoggedIn(Message):
    user: str = ""


class LoginAdapter(OutboundAdapter):
    """Logs in to an outside system, here a file that records each login it is given."""

    Credentials = credentials_setting()
    OutsideFile = setting("")

    def log_in(self):
        found = credentials_for(self)
        with open(self.OutsideFile, "a", encoding="utf-8") as fh:
            fh.write(f"{found.username}:{found.password}\\n")
        return found.username


class LoginOperation(BusinessOperation):
    @classmethod
    def get_adapter_type(cls):
        return "{module}.LoginAdapter"

    def on_message(self, request):
        return LoggedIn(user=self.adapter.log_in())
'''

PRODUCTION = '''
prod = Production("Cred.Production", testing_enabled=True)
prod.operation("Good", LoginOperation).adapter_setting("Credentials", "Db.Main") \\
    .adapter_setting("OutsideFile", {outside!r})
prod.operation("Missing", LoginOperation).adapter_setting("Credentials", "Nope") \\
    .adapter_setting("OutsideFile", {outside!r})
PRODUCTIONS = [prod]
'''


@pytest.fixture(params=BACKENDS)
def namespace(request: pytest.FixtureRequest, iop_home: Path,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[Namespace]:
    yield from namespace_on(request.param, iop_home, monkeypatch)


def _iop(*args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "iop", *args], input=stdin, capture_output=True,
                          text=True, timeout=90, env={**os.environ, **env})


def _test(module: str, item: str, **env: str) -> subprocess.CompletedProcess[str]:
    return _iop("-t", item, "-C", f"{module}.Login", "-B", "{}", **env)


def test_an_adapter_logs_in_with_the_stored_credentials(namespace: Namespace, make_project: Any,
                                                         tmp_path: Path, run_iop: Any) -> None:
    outside = tmp_path / "outside.txt"
    project = make_project(COMPONENTS, "PRODUCTIONS = []")
    project.components.write_text(project.components.read_text().replace(
        "{module}", project.module))
    project.write_settings(PRODUCTION.format(outside=str(outside)))
    assert _iop("--credentials-add", "Db.Main", "--username", "alice",
                stdin=PASSWORD + "\n").returncode == 0
    project.migrate()
    project.start("Cred.Production")

    good = _test(project.module, "Good")
    assert good.returncode == 0, good.stderr
    assert '"user": "alice"' in good.stdout
    assert outside.read_text() == f"alice:{PASSWORD}\n"

    # A new password is used by the next message, without a restart.
    assert _iop("--credentials-add", "Db.Main", "--username", "alice",
                stdin=NEW_PASSWORD + "\n").returncode == 0
    assert _test(project.module, "Good").returncode == 0
    assert outside.read_text().splitlines()[-1] == f"alice:{NEW_PASSWORD}"

    missing = _test(project.module, "Missing")
    assert missing.returncode == 1
    assert (f"credentials Nope do not exist in namespace {namespace.name}: add them with iop "
            "--credentials-add Nope --username USER") in missing.stderr + missing.stdout

    # The production restarted with another key: the entry is there, the key is not its own.
    run_iop("-S")
    other_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    assert _iop("-s", "Cred.Production", "-D", IOP_CREDENTIALS_KEY=other_key).returncode == 0
    wrong = _test(project.module, "Good")
    assert wrong.returncode == 1
    assert ("credentials Db.Main cannot be decrypted: the key in IOP_CREDENTIALS_KEY is not "
            "the one they were stored with") in wrong.stderr + wrong.stdout
    assert "Traceback" not in wrong.stderr
    log = run_iop("-L", "100").stdout
    assert "the key in IOP_CREDENTIALS_KEY is not the one they were stored with" in log
    assert "credentials Nope do not exist" in log
    assert "Traceback" not in log
    run_iop("-S")

    # The passwords went to the outside system only: not to the event log, the messages,
    # the export, the CLI's answers, the job logs or any byte of the store.
    said = [p.stdout + p.stderr for p in (good, missing, wrong)]
    exported = run_iop("-e", "Cred.Production").stdout
    assert '"Db.Main"' in exported
    messages = run_iop("--messages").stdout
    for secret in (PASSWORD, NEW_PASSWORD):
        assert not in_any(secret, log, exported, messages, *said, namespace.raw_bytes())
