"""The FTP classes load by their IRIS names and declare IRIS's settings in IRIS's categories
(what the portal shows); nothing loads paramiko until an SFTP connection is made; the
connection description never holds a password."""

from __future__ import annotations

import subprocess
import sys

from iop.components.settings import describe_settings
from iop.connectors.ftp.remote_files import RemoteServer
from iop.engine.registry import builtin_class


def _categories(class_name: str) -> dict[str, str | None]:
    cls = builtin_class(class_name)
    assert cls is not None, class_name
    return {info.name: info.category for info in describe_settings(cls)}


def test_adapters_declare_iris_settings_in_iris_categories() -> None:
    common = {"FTPServer": "Basic", "FTPPort": "Basic", "Credentials": "Basic",
              "FilePath": "Basic", "Protocol": "Connection", "SSLConfig": "Connection",
              "UsePASV": "Connection", "StayConnected": "Connection",
              "ConnectTimeout": "Connection", "Charset": "Additional",
              "SFTPAuthenticationMethods": "SFTP", "SFTPPublicKeyFile": "SFTP",
              "SFTPPrivateKeyFile": "SFTP", "SFTPPassphraseCredentials": "SFTP"}
    inbound = _categories("EnsLib.FTP.InboundAdapter")
    assert inbound.items() >= {**common, "FileSpec": "Basic", "DeleteFromServer": "Basic",
                               "ArchivePath": "Basic", "CallInterval": "Basic",
                               "RenameFilename": "Additional", "AppendTimestamp": "Additional",
                               "ConfirmComplete": "Additional",
                               "FileAccessTimeout": "Additional",
                               "QueueLimit": "Additional"}.items()
    outbound = _categories("EnsLib.FTP.OutboundAdapter")
    assert outbound.items() >= {**common, "Overwrite": "Additional"}.items()


def test_passthrough_hosts_name_the_ftp_adapters() -> None:
    service = builtin_class("EnsLib.FTP.PassthroughService")
    operation = builtin_class("EnsLib.FTP.PassthroughOperation")
    assert service is not None and operation is not None
    assert service.get_adapter_type() == "EnsLib.FTP.InboundAdapter"
    assert operation.get_adapter_type() == "EnsLib.FTP.OutboundAdapter"
    assert "TargetConfigNames" in _categories("EnsLib.FTP.PassthroughService")
    assert _categories("EnsLib.FTP.PassthroughOperation")["Filename"] == "Basic"


def test_loading_the_classes_imports_no_client_library() -> None:
    code = ("import sys\nfrom iop.engine.registry import builtin_class\n"
            "for n in ('InboundAdapter', 'OutboundAdapter', 'PassthroughService', "
            "'PassthroughOperation'):\n    builtin_class('EnsLib.FTP.' + n)\n"
            "print('paramiko' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "False"


def test_the_server_description_holds_no_secret() -> None:
    server = RemoteServer("SFTP", "h", 22, "alice", password="pw-1", passphrase="pp-2")
    assert "pw-1" not in repr(server) and "pp-2" not in repr(server)
    assert server.describe() == "SFTP h:22"
