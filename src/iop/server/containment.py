"""Run one child that imports user code, contained, and end it and everything it started.

The server starts a *warden* (``python -m iop.server.containment``) in a new session. The
warden is our code only: it makes itself the subreaper of its descendants (so a grandchild
that calls ``setsid`` or double-forks is re-parented to it, not to init), and when the server
runs as root it enters new mount and network namespaces, hides ``IOP_HOME`` under an empty
tmpfs, and makes the Python installation reachable to the code identity. It then starts the
*worker* (``python -m iop.server.isolated``) as the unprivileged code identity with resource
limits and an allow-listed environment, waits for it up to the deadline, and finally kills
every process left below it, reaping them, before it answers with one JSON line.

Limits of the worker (see docs/remote.md): CPU seconds = deadline + 1, address space
``IOP_CODE_MEMORY_MB`` (default 2048), 256 open files, no core dumps, files it writes at most
64 MB, and (with the identity switch) at most 128 processes of the code identity.
"""

from __future__ import annotations

import ctypes
import json
import os
import pwd
import resource
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from iop.engine.errors import EngineError

CODE_USER_ENV = "IOP_CODE_USER"
HIDE_ENV = "IOP_CODE_HIDE"
# PostgreSQL's local sockets: reachable as files, not through the network namespace.
_HIDDEN_ALWAYS = ("/run/postgresql", "/var/run/postgresql", "/tmp/.s.PGSQL.5432")
MEMORY_ENV = "IOP_CODE_MEMORY_MB"
DEFAULT_CODE_USER = "nobody"
DEFAULT_MEMORY_MB = 2048
OPEN_FILES = 256
PROCESSES = 128
FILE_SIZE = 64 * 1024 * 1024
_ANSWER_LIMIT = 16 * 1024 * 1024  # the server parses it: a bigger answer is refused
_ERROR_TAIL = 64 * 1024
_KILL_ROUNDS = 200
_WARDEN_GRACE = 5.0

# Linux constants (linux/prctl.h, linux/sched.h, linux/mount.h).
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_CLONE_NEWNS = 0x00020000
_CLONE_NEWNET = 0x40000000
_MS_NOSUID, _MS_NODEV, _MS_BIND, _MS_REC, _MS_PRIVATE = 2, 4, 4096, 16384, 1 << 18
_MNT_DETACH = 2

# The only variables the worker sees; nothing of the server's (IOP_DATABASE_URL, IOP_PASSWORD,
# tokens...) reaches user code.
_PASSED_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TZ")
_SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class CodeIdentity:
    """The unprivileged OS identity user code runs as when the server runs as root."""

    uid: int
    gid: int
    name: str


def code_identity() -> CodeIdentity | None:
    """The identity for user code (``IOP_CODE_USER``: a user name or ``uid[:gid]``; default
    ``nobody``), or None when the server does not run as root and cannot switch."""
    if os.geteuid() != 0:
        return None
    wanted = os.environ.get(CODE_USER_ENV, "").strip() or DEFAULT_CODE_USER
    if wanted.replace(":", "").isdigit():
        uid_text, _, gid_text = wanted.partition(":")
        uid = int(uid_text)
        gid = int(gid_text) if gid_text else uid
        identity = CodeIdentity(uid, gid, wanted)
    else:
        try:
            entry = pwd.getpwnam(wanted)
        except KeyError:
            raise EngineError(f"{CODE_USER_ENV}={wanted}: no such user; create it (useradd "
                              "--system iop-code) or give a numeric uid:gid") from None
        identity = CodeIdentity(entry.pw_uid, entry.pw_gid, wanted)
    if identity.uid == 0 or identity.gid == 0:
        raise EngineError(f"{CODE_USER_ENV}={wanted} is root; user code must run unprivileged")
    return identity


def hidden_folders(home: str) -> list[str]:
    """What the code must not see (covered by an empty tmpfs when mount namespaces are
    available): IOP_HOME, PostgreSQL's socket folders, and ``IOP_CODE_HIDE`` (folders
    separated by ``:``)."""
    extra = [f for f in os.environ.get(HIDE_ENV, "").split(os.pathsep) if f.strip()]
    return [home, *_HIDDEN_ALWAYS, *extra]


def memory_limit() -> int:
    """The worker's address-space limit in bytes."""
    text = os.environ.get(MEMORY_ENV, "").strip()
    megabytes = int(text) if text.isdigit() and int(text) >= 256 else DEFAULT_MEMORY_MB
    return megabytes * 1024 * 1024


def worker_env(home: str) -> dict[str, str]:
    """The allow-listed environment of the worker: locale and time zone, nothing else."""
    env = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ}
    env.setdefault("LANG", "C.UTF-8")
    env.update(PATH=_SAFE_PATH, HOME=home, TMPDIR=home, PYTHONIOENCODING="utf-8")
    return env


# ------------------------------------------------------------------ server side
@dataclass
class WorkerOutcome:
    """What the warden reports about one worker."""

    returncode: int | None
    timed_out: bool
    answer: str
    error_line: str


def run(request: dict[str, Any], seconds: float, *, identity: CodeIdentity | None,
        workdir: str, hidden: list[str]) -> WorkerOutcome:
    """Run ``python -m iop.server.isolated`` on ``request`` contained; the worker's outcome."""
    seconds = max(1.0, seconds)
    order: dict[str, Any] = {"seconds": seconds, "identity": identity.__dict__ if identity else None,
             "workdir": workdir, "hidden": hidden, "memory": memory_limit(),
             "server_pid": os.getpid(),
             "request": request}
    proc = subprocess.Popen([sys.executable, "-I", "-B", "-m", "iop.server.containment"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True, cwd=workdir,
                            env=worker_env(workdir))
    try:
        out, err = proc.communicate(json.dumps(order).encode(),
                                    timeout=seconds + _WARDEN_GRACE)
    except subprocess.TimeoutExpired:
        out, err = b"", b"the warden did not answer"
    finally:
        # The warden's own group (it and a worker it could not end); descendants that left
        # the group were already killed by the warden.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
    try:
        report = json.loads(out.decode("utf-8", "replace").strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        lines = [x for x in err.decode("utf-8", "replace").splitlines() if x.strip()]
        raise EngineError("the contained child could not run"
                          + (f": {lines[-1]}" if lines else "")) from None
    if "warden_error" in report:
        raise EngineError(str(report["warden_error"]))
    return WorkerOutcome(report.get("returncode"), bool(report.get("timed_out")),
                   str(report.get("answer", "")), str(report.get("error_line", "")))


# ------------------------------------------------------------------ warden side
_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    def enc(text: str | None) -> bytes | None:
        return text.encode() if text is not None else None

    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags),
                       enc(data)), f"mount {target}")


def _can_enter(path: str, identity: CodeIdentity) -> bool:
    st = os.stat(path)
    if st.st_uid == identity.uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == identity.gid:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def open_to_others(folder: str) -> bool:
    """Whether any account may list and read ``folder`` (every folder above it enterable)."""
    try:
        st = os.stat(folder)
        parts = os.path.realpath(folder).strip("/").split("/")
        above = ["/" + "/".join(parts[:depth]) for depth in range(len(parts))]
        return stat.S_ISDIR(st.st_mode) and st.st_mode & 0o005 == 0o005 and all(
            os.stat(f).st_mode & stat.S_IXOTH for f in above)
    except OSError:
        return False


def _closed_ancestor(path: str, identity: CodeIdentity) -> str | None:
    """The outermost folder on the way to ``path`` the identity cannot enter."""
    parts = path.strip("/").split("/")
    for depth in range(len(parts)):
        folder = "/" + "/".join(parts[:depth])
        if not _can_enter(folder, identity):
            return folder
    return None


def _expose(paths: list[str], identity: CodeIdentity) -> None:
    """Make ``paths`` (the interpreter, the virtualenv, iop itself) reachable to the code
    identity in this mount namespace: a closed ancestor (say /root, 0700) is covered by an
    empty tmpfs in which only these paths are bound back, so nothing else of it shows."""
    by_ancestor: dict[str, list[str]] = {}
    for path in paths:
        closed = _closed_ancestor(path, identity)
        if closed is not None and closed != path:
            by_ancestor.setdefault(closed, []).append(path)
    for ancestor, inside in by_ancestor.items():
        holders = []
        for path in inside:
            holder = tempfile.mkdtemp(prefix="iop-expose-")
            _mount(path, holder, None, _MS_BIND | _MS_REC)
            holders.append((holder, path))
        _mount("tmpfs", ancestor, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=0755,size=1m")
        for holder, path in holders:
            os.makedirs(path, exist_ok=True)
            _mount(holder, path, None, _MS_BIND | _MS_REC)
            _libc.umount2(holder.encode(), _MNT_DETACH)
            os.rmdir(holder)


def _enter_namespaces(identity: CodeIdentity, hidden: list[str]) -> list[str]:
    """As root: a private mount namespace hiding ``hidden`` and a network namespace without
    interfaces; what could be done (each step is best effort and reported)."""
    done = []
    if _libc.unshare(_CLONE_NEWNET) == 0:
        done.append("network")
    if _libc.unshare(_CLONE_NEWNS) == 0:
        _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
        for folder in sorted({os.path.realpath(f) for f in hidden}):
            if os.path.isdir(folder):
                _mount("tmpfs", folder, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=0755,size=1m")
            elif os.path.exists(folder):  # a socket or file: an empty file over it
                try:
                    _mount("/dev/null", folder, None, _MS_BIND)
                except OSError:
                    pass  # best effort: a PostgreSQL socket still asks for credentials
        iop_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        _expose(sorted({os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix),
                        sys.prefix, iop_root}), identity)
        done.append("mount")
    return done


def _limits(seconds: float, memory: int, switched: bool) -> None:
    cpu = int(seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE, FILE_SIZE))
    if switched:  # counted per user: without the switch it would count the server's jobs
        resource.setrlimit(resource.RLIMIT_NPROC, (PROCESSES, PROCESSES))


def _descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents[int(entry)] = int(fields[1])
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _kill_everything_below() -> None:
    """SIGKILL every descendant until none is left; orphans come back to us (subreaper)."""
    me = os.getpid()
    for _ in range(_KILL_ROUNDS):
        pids = _descendants(me)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.01)
        _reap()
    _reap()


def _tail_line(fh: Any, limit: int, width: int | None = None) -> str:
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    fh.seek(max(0, size - limit))
    lines = [x for x in fh.read().decode("utf-8", "replace").splitlines() if x.strip()]
    return lines[-1][:width] if lines else ""


def _on_term(signum: int, frame: Any) -> None:
    # SIGTERM (the server stops or died) ends the warden as an exit would; main() kills
    # what is left below it on the way out.
    raise SystemExit(1)


def _warden(order: dict[str, Any]) -> dict[str, Any]:
    _check(_libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl subreaper")
    signal.signal(signal.SIGTERM, _on_term)
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)  # the server died: clean up
    if os.getppid() != order["server_pid"]:  # the server died before the line above
        raise SystemExit(1)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    identity = CodeIdentity(**order["identity"]) if order.get("identity") else None
    if identity is not None:
        _enter_namespaces(identity, order["hidden"])
    seconds = float(order["seconds"])
    workdir = order["workdir"]
    switch: dict[str, Any] = {}
    if identity is not None:
        switch = {"user": identity.uid, "group": identity.gid, "extra_groups": []}
    with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as out, \
            tempfile.TemporaryFile() as err:
        stdin.write(json.dumps(order["request"]).encode())
        stdin.seek(0)
        timed_out = False
        worker = subprocess.Popen(
            [sys.executable, "-I", "-B", "-m", "iop.server.isolated"], stdin=stdin,
            stdout=out, stderr=err, cwd=workdir, env=worker_env(workdir),
            preexec_fn=lambda: _limits(seconds, int(order["memory"]), identity is not None),
            **switch)
        try:
            worker.wait(seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _kill_everything_below()
        returncode = worker.poll()
        return {"returncode": returncode, "timed_out": timed_out,
                "answer": _tail_line(out, _ANSWER_LIMIT), "error_line": _tail_line(err, _ERROR_TAIL, 500)}


def main() -> int:
    """Warden entry point: one JSON order on stdin, one JSON report on stdout."""
    try:
        report = _warden(json.loads(sys.stdin.buffer.read()))
    except SystemExit:  # terminated: see _on_term
        _kill_everything_below()
        return 1
    except Exception as exc:  # reported to the server as one line, never a traceback
        _kill_everything_below()
        report = {"warden_error": f"cannot run user code contained: {exc}"}
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
