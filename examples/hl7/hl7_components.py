"""The HL7 example's own component: a router that sends each HL7 v2 message on by its type
(the service and the operations are the engine's EnsLib.HL7 classes)."""

from __future__ import annotations

import fnmatch

from iop import BusinessProcess, Category, setting


class HL7Router(BusinessProcess):
    """Sends each message to the target its type (MSH-9, e.g. ADT_A01) matches in Routes."""

    Routes = setting("ADT_*=ADTFileOut,ORU_*=LabHttpOut", category=Category.BASIC,
                     description="type pattern=target pairs, tried in order, e.g. "
                                 "ADT_*=ADTFileOut,ORU_R01=LabHttpOut")

    def on_request(self, request):
        kind = request.Name  # <MSH-9.1>_<MSH-9.2>, e.g. ADT_A01
        for rule in str(self.Routes).split(","):
            pattern, _, target = rule.partition("=")
            if target.strip() and fnmatch.fnmatchcase(kind, pattern.strip()):
                self.log_info(f"{kind} {request.GetValueAt('MSH:10')} -> {target.strip()}")
                self.send_request_async(target.strip(), request)
                return None
        self.log_warning(f"{kind} {request.GetValueAt('MSH:10')}: no route; not sent on")
        return None
