"""Classes IRIS ships that productions name by class name, implemented natively."""

from __future__ import annotations

import fnmatch
import os
import shutil
import time

from iop.components.adapters import InboundAdapter, OutboundAdapter
from iop.components.operation import BusinessOperation
from iop.components.service import BusinessService
from iop.components.settings import Category, controls, setting, target
from iop.engine.alert_operation import AlertOperation
from iop.engine.registry import register_builtin
from iop.messages.builtin import BUILTIN_MESSAGES, StreamContainer

# What a file being written is called until it is complete (then renamed to its name); the
# inbound adapters never pick up a name ending so.
PARTIAL_SUFFIX = ".iop-partial"


class FileInboundAdapter(InboundAdapter):
    """EnsLib.File.InboundAdapter: picks up files matching FileSpec in FilePath."""

    FilePath = setting("", category=Category.BASIC, required=True, control=controls.directory(),
                       description="Directory to pick files up from")
    FileSpec = setting("*", category=Category.BASIC, description="File name pattern, e.g. *.txt")
    ArchivePath = setting("", category=Category.BASIC, control=controls.directory(),
                          description="Directory to move processed files to; empty deletes them")
    WorkPath = setting("", category=Category.ADDITIONAL, control=controls.directory(),
                       description="Directory to move files to while they are processed")
    Charset = setting("utf-8", category=Category.CONNECTION, control=controls.character_set(),
                      description="Character set of the files")
    ConfirmComplete = setting(1, category=Category.ADDITIONAL,
                              description="1 (Size): take a file only once it has not changed "
                                          "for FileAccessTimeout seconds; 0: at once")
    FileAccessTimeout = setting(2, category=Category.ADDITIONAL,
                                description="Seconds a file must stay unchanged before it is "
                                            "taken (ConfirmComplete)")
    FileAccessTimeout.python_type = "float"

    def on_task(self) -> None:
        if not self.FilePath or not os.path.isdir(self.FilePath):
            return
        for name in sorted(os.listdir(self.FilePath)):
            path = os.path.join(self.FilePath, name)
            if not os.path.isfile(path) or not fnmatch.fnmatch(name, self.FileSpec or "*") \
                    or name.endswith(PARTIAL_SUFFIX) or not self._complete(path):
                continue
            with open(path, encoding=self.Charset or "utf-8", errors="replace") as fh:
                content = fh.read()
            self.business_host_process_input(StreamContainer(OriginalFilename=path, Stream=content))
            if self.ArchivePath:
                os.makedirs(self.ArchivePath, exist_ok=True)
                shutil.move(path, os.path.join(self.ArchivePath, name))
            else:
                os.remove(path)

    def _complete(self, path: str) -> bool:
        """ConfirmComplete Size: the file has not changed (its modification time, which any
        write moves) for FileAccessTimeout seconds; a file still being written waits for a
        later poll."""
        if str(self.ConfirmComplete).strip().lower() in ("0", "", "false"):
            return True
        try:
            unchanged_for = time.time() - os.stat(path).st_mtime
        except FileNotFoundError:
            return False
        return unchanged_for >= float(self.FileAccessTimeout or 0)


class FileOutboundAdapter(OutboundAdapter):
    """EnsLib.File.OutboundAdapter: writes files under FilePath."""

    FilePath = setting("", category=Category.BASIC, required=True, control=controls.directory(),
                       description="Directory to write files to")
    Charset = setting("utf-8", category=Category.CONNECTION, control=controls.character_set(),
                      description="Character set of the files")
    Overwrite = setting(False, category=Category.ADDITIONAL,
                        description="Replace an existing file instead of appending to it")

    def put_string(self, filename: str, text: str) -> str:
        """Write ``text`` to ``filename`` (replacing it with Overwrite, else at its end); the
        whole is written under a temporary name, then renamed: no one sees half a file."""
        os.makedirs(self.FilePath or ".", exist_ok=True)
        path = os.path.join(self.FilePath or ".", filename)
        partial = path + PARTIAL_SUFFIX
        overwrite = str(self.Overwrite).strip().lower() in ("1", "true", "yes", "on")
        if not overwrite and os.path.isfile(path):
            shutil.copyfile(path, partial)
        else:
            open(partial, "wb").close()
        with open(partial, "a", encoding=self.Charset or "utf-8") as fh:
            fh.write(text)
        os.replace(partial, path)
        return path


class FilePassthroughService(BusinessService):
    """EnsLib.File.PassthroughService: sends each picked-up file to TargetConfigNames."""

    TargetConfigNames = target(multi_select=True, description="Items each file is sent to")

    @classmethod
    def get_adapter_type(cls) -> str | None:
        return "EnsLib.File.InboundAdapter"

    def on_process_input(self, message_input: object = None) -> None:
        for item in [t.strip() for t in self.TargetConfigNames.split(",") if t.strip()]:
            self.send_request_async(item, message_input)


class FilePassthroughOperation(BusinessOperation):
    """EnsLib.File.PassthroughOperation: writes each received file under the adapter's FilePath."""

    Filename = setting("%f_%Q", category=Category.BASIC,
                       description="Output file name; %f is the original name, %Q a timestamp")

    @classmethod
    def get_adapter_type(cls) -> str | None:
        return "EnsLib.File.OutboundAdapter"

    def on_message(self, request: object) -> None:
        original = os.path.basename(getattr(request, "OriginalFilename", "") or "output")
        stamp = time.strftime("%Y-%m-%d_%H.%M.%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}"
        name = (self.Filename or "%f").replace("%f", original).replace("%Q", stamp)
        text = getattr(request, "Stream", None)
        if text is None:
            text = getattr(request, "StringValue", "")
        self.adapter.put_string(name, text)


class DefaultInboundAdapter(InboundAdapter):
    """Ens.InboundAdapter: calls its service every CallInterval seconds with no input."""

    def on_task(self) -> None:
        self.business_host_process_input(None)


for _name, _cls in BUILTIN_MESSAGES.items():
    register_builtin(_name, _cls)

for _name, _cls in {
    "Ens.InboundAdapter": DefaultInboundAdapter,
    "Ens.OutboundAdapter": OutboundAdapter,
    "EnsLib.File.InboundAdapter": FileInboundAdapter,
    "EnsLib.File.OutboundAdapter": FileOutboundAdapter,
    "EnsLib.File.PassthroughService": FilePassthroughService,
    "EnsLib.File.PassthroughOperation": FilePassthroughOperation,
    "EnsLib.EMail.AlertOperation": AlertOperation,
}.items():
    register_builtin(_name, _cls)
