"""EnsLib.Kafka.*: what can be tested without a Kafka broker, which cannot be started on
this machine (no broker in the Debian or npm registries; the PyPI packages that start one
download Apache's release at run time, and only PyPI, Debian and npm are reachable).
Registration and settings, and a clear one-line error when no broker is reachable, for the
consumer (event log) and the producer (the message's error) of a production run by the CLI.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from messaging_support import PRODUCTION, free_port, log_texts, production

pytest.importorskip("kafka")

NAMES = ["EnsLib.Kafka.InboundAdapter", "EnsLib.Kafka.OutboundAdapter", "EnsLib.Kafka.Service",
         "EnsLib.Kafka.Operation", "EnsLib.Kafka.Message"]


def test_classes_and_settings_under_iris_names() -> None:
    from iop.components.settings import describe_settings
    from iop.engine.registry import builtin_class
    from iop.messages.codec import message_class_name

    classes = {name: builtin_class(name) for name in NAMES}
    assert all(classes.values())
    inbound = {s.name: s for s in describe_settings(classes["EnsLib.Kafka.InboundAdapter"])}
    for name in ("Servers", "Topic", "GroupID", "Credentials", "SecurityProtocol",
                 "SASLMechanism", "QueueLimit"):
        assert name in inbound, name
    assert inbound["Servers"].default == "localhost:9092"
    assert inbound["Topic"].category == "Kafka Settings" and inbound["Topic"].required
    outbound = {s.name for s in describe_settings(classes["EnsLib.Kafka.OutboundAdapter"])}
    assert {"ClientID", "Servers", "Credentials"} <= outbound
    assert classes["EnsLib.Kafka.Service"].get_adapter_type() == "EnsLib.Kafka.InboundAdapter"
    assert classes["EnsLib.Kafka.Operation"].get_adapter_type() == \
        "EnsLib.Kafka.OutboundAdapter"
    message = classes["EnsLib.Kafka.Message"](topic="t", value="v", key="k")
    assert message_class_name(type(message)) == "EnsLib.Kafka.Message"


def test_unreachable_broker_is_a_one_line_error_in_and_out(make_project: Any, store: Any,
                                                          wait_for: Any, tmp_path: Path
                                                          ) -> None:
    port = free_port()  # nothing listens there
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    source = production(
        "EnsLib.Kafka.Service", {"Servers": f"127.0.0.1:{port}", "Topic": "t",
                                 "CallInterval": 0.2, "BrokerRetryInterval": 0.5,
                                 "ConnectTimeout": 1},
        "EnsLib.Kafka.Operation", {"Servers": f"127.0.0.1:{port}", "Topic": "out",
                                   "ConnectTimeout": 1},
        {"FailureTimeout": 0})
    source = source.replace("PRODUCTIONS = [prod]", f'''
files = prod.service("FileIn", class_name="EnsLib.File.PassthroughService")
files.adapter_setting("FilePath", {str(inbox)!r}).adapter_setting("CallInterval", "0.2")
files.host_setting("TargetConfigNames", "BrokerOut")
PRODUCTIONS = [prod]''')
    project = make_project("", source)
    project.migrate()
    project.start(PRODUCTION)

    wanted = f"Kafka 127.0.0.1:{port}: no broker reachable (unable to bootstrap); connecting " \
             "again every 0.5 s"

    def logged() -> Any:
        return [t for t in log_texts(store, "BrokerIn") if "Kafka consumer" in t]
    lines = wait_for(logged, timeout=30, what="the consumer's error")
    assert any(wanted in line for line in lines), lines

    (inbox / "record.txt").write_text("hello", encoding="utf-8")

    def failed() -> Any:
        return [h for h in store.query_headers(target="BrokerOut", limit=10) if h.error]
    error = wait_for(failed, timeout=60, what="the operation's error")[0].error.strip()
    assert error.endswith(f"Kafka 127.0.0.1:{port}: no broker reachable (unable to "
                          "bootstrap)"), error
    assert "\n" not in error
    time.sleep(1.0)
    assert len(logged()) == 1, logged()
