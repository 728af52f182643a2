"""Helpers of the messaging-connector tests: private brokers on free ports (so that a test
may stop and start its own broker without touching the machine's shared ones), and the
production a round trip runs (a broker service sending to a broker operation)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from remote_server import free_port

PRODUCTION = "Queues.Production"


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def wait_port(port: int, timeout: float, up: bool = True) -> None:
    deadline = time.monotonic() + timeout
    while port_open(port) != up:
        if time.monotonic() > deadline:
            raise AssertionError(f"port {port} not {'open' if up else 'closed'} after {timeout} s")
        time.sleep(0.1)


def production(service_class: str, service_adapter: dict[str, Any], operation_class: str,
               operation_adapter: dict[str, Any], operation_host: dict[str, Any] | None = None
               ) -> str:
    """Settings source: item BrokerIn (the service) sends to BrokerOut (the operation)."""
    lines = [f'prod = Production("{PRODUCTION}")',
             f'svc = prod.service("BrokerIn", class_name="{service_class}")',
             'svc.host_setting("TargetConfigNames", "BrokerOut")']
    lines += [f'svc.adapter_setting("{k}", {str(v)!r})' for k, v in service_adapter.items()]
    lines.append(f'op = prod.operation("BrokerOut", class_name="{operation_class}")')
    lines += [f'op.adapter_setting("{k}", {str(v)!r})' for k, v in operation_adapter.items()]
    lines += [f'op.host_setting("{k}", {str(v)!r})'
              for k, v in (operation_host or {}).items()]
    lines.append("PRODUCTIONS = [prod]")
    return "\n".join(lines) + "\n"


def log_texts(store: Any, item: str | None = None) -> list[str]:
    return [e.text for e in store.log_since(0) if item is None or e.item == item]


class _Process:
    """A broker process this test started (stopped by its pid only)."""

    proc: subprocess.Popen[bytes] | None = None
    port = 0
    root: Path

    def remove(self) -> None:
        """Stop the broker and delete its folder."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def stop(self) -> None:
        raise NotImplementedError

    def _wait_gone(self) -> None:
        if self.proc is not None:
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self.proc = None
        wait_port(self.port, 30, up=False)


def _own_folder(prefix: str) -> Path:
    """A folder under /tmp a broker that drops root to its own user can reach (pytest's
    tmp_path lies under a folder only root may enter)."""
    return Path(tempfile.mkdtemp(prefix=prefix))


class Mosquitto(_Process):
    """``mosquitto -c`` on a free port, persistence in a temporary folder."""

    def __init__(self) -> None:
        self.root = root = _own_folder("iopq-mosquitto-")
        self.port = free_port()
        root.mkdir(parents=True, exist_ok=True)
        if _has_user("mosquitto"):  # mosquitto started as root runs as this user
            shutil.chown(root, "mosquitto", "mosquitto")
        self.config = root / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {root}/\nautosave_interval 1\n", encoding="utf-8")

    def start(self) -> None:
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.config)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, 20)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
        self._wait_gone()


class NatsServer(_Process):
    """``nats-server -js`` on a free port, its JetStream store in a temporary folder."""

    def __init__(self) -> None:
        self.root = _own_folder("iopq-nats-")
        self.port = free_port()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["nats-server", "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd",
             str(self.root), "--http_port", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, 20)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
        self._wait_gone()


class RabbitNode(_Process):
    """A RabbitMQ node of its own (unique node name, free AMQP and distribution ports, data
    and logs in a temporary folder); it takes some seconds to boot."""

    def __init__(self) -> None:
        self.root = root = _own_folder("iopq-rabbit-")
        self.port = free_port()
        self.dist_port = free_port()
        self.name = f"iopq{uuid.uuid4().hex[:8]}@localhost"
        for sub in ("mnesia", "log"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        (root / "rabbitmq.conf").write_text(f"listeners.tcp.default = {self.port}\n"
                                            "loopback_users = none\n", encoding="utf-8")
        (root / "enabled_plugins").write_text("[].\n", encoding="utf-8")
        if _has_user("rabbitmq"):  # the server script runs as this user when started as root
            for path in [root, *root.rglob("*")]:
                shutil.chown(path, "rabbitmq", "rabbitmq")
        self.env = {**os.environ,
                    "RABBITMQ_NODE_PORT": str(self.port), "RABBITMQ_NODENAME": self.name,
                    "RABBITMQ_DIST_PORT": str(self.dist_port),
                    "RABBITMQ_MNESIA_BASE": str(root / "mnesia"),
                    "RABBITMQ_LOG_BASE": str(root / "log"),
                    "RABBITMQ_CONFIG_FILE": str(root / "rabbitmq"),
                    "RABBITMQ_ENABLED_PLUGINS_FILE": str(root / "enabled_plugins"),
                    "RABBITMQ_FEATURE_FLAGS_FILE": str(root / "feature_flags"),
                    "RABBITMQ_PID_FILE": str(root / "pid"), "HOME": str(root)}

    def start(self) -> None:
        with open(self.root / "log" / "console.log", "ab") as out:
            self.proc = subprocess.Popen(["rabbitmq-server"], env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT)
        wait_port(self.port, 120)

    def stop(self) -> None:
        pid_file = self.root / "pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
            except (ProcessLookupError, ValueError):
                pass
        self._wait_gone()


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return os.geteuid() == 0
