"""EnsLib.FTP.PassthroughService and EnsLib.FTP.PassthroughOperation: the file passthrough
hosts with the FTP adapters (files from a server to targets; messages to files on a server)."""

from __future__ import annotations

from iop.engine.builtins import FilePassthroughOperation, FilePassthroughService

__all__ = ["FTPPassthroughOperation", "FTPPassthroughService"]


class FTPPassthroughService(FilePassthroughService):
    """EnsLib.FTP.PassthroughService: sends each file picked up on the server to
    TargetConfigNames."""

    @classmethod
    def get_adapter_type(cls) -> str | None:
        return "EnsLib.FTP.InboundAdapter"


class FTPPassthroughOperation(FilePassthroughOperation):
    """EnsLib.FTP.PassthroughOperation: writes each received file (Filename: %f the
    original name, %Q a time stamp) to FilePath on the server."""

    @classmethod
    def get_adapter_type(cls) -> str | None:
        return "EnsLib.FTP.OutboundAdapter"
