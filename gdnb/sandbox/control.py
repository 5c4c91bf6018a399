"""Start, find, check and stop a sandbox running in the background.

A running sandbox writes ``sandbox.json`` (pid, port, endpoint) into its data directory and removes it
when it exits; ``gdnb sandbox env|status|down`` read it from there. A file left behind by a sandbox that
died (killed, crashed, machine rebooted) may name a pid that now belongs to another process, so nothing
is signalled before the pid is shown to be a gdnb sandbox.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from gdnb.errors import SandboxError

STATE_FILE = "sandbox.json"
SANDBOX_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def default_data_dir() -> Path:
    """``$GDNB_SANDBOX_DIR``, else ``~/.gdnb/sandbox``."""
    return Path(os.environ.get("GDNB_SANDBOX_DIR") or Path.home() / ".gdnb" / "sandbox")


@dataclasses.dataclass(frozen=True)
class SandboxState:
    """Where a running sandbox listens."""

    pid: int
    port: int
    data_dir: Path

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, region: str = "us-east-1") -> dict[str, str]:
        """The environment that points boto3, the AWS CLI and pyathena at this sandbox."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            **SANDBOX_CREDENTIALS,
            "AWS_DEFAULT_REGION": region,
            "AWS_EC2_METADATA_DISABLED": "true",
            "GDNB_SANDBOX_DIR": str(self.data_dir),
        }


def write_state(data_dir: Path, port: int) -> None:
    """Record this process as the sandbox of ``data_dir``, listening on ``port``."""
    state = {"pid": os.getpid(), "port": port, "data_dir": str(data_dir)}
    tmp = data_dir / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(state))
    tmp.replace(data_dir / STATE_FILE)


def remove_state(data_dir: Path, pid: int | None = None) -> None:
    """Remove the state file of ``data_dir``; with ``pid``, only when it still names that process
    (a sandbox that exits must not remove the file of one started after it)."""
    state = read_state(data_dir)
    if pid is None or (state is not None and state.pid == pid):
        (data_dir / STATE_FILE).unlink(missing_ok=True)


def read_state(data_dir: Path | None = None) -> SandboxState | None:
    """The state of the sandbox that uses ``data_dir``, or None when none was started there."""
    path = (data_dir or default_data_dir()) / STATE_FILE
    try:
        raw = json.loads(path.read_text())
        return SandboxState(pid=int(raw["pid"]), port=int(raw["port"]), data_dir=Path(raw["data_dir"]))
    except (OSError, ValueError, KeyError):
        return None


def health(state: SandboxState, timeout: float = 2.0) -> dict[str, Any] | None:
    """The sandbox's health answer, or None when it does not answer."""
    try:
        with urllib.request.urlopen(f"{state.endpoint}/_gdnb/health", timeout=timeout) as resp:
            return json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def is_sandbox(state: SandboxState) -> bool:
    """Whether ``state.pid`` is the gdnb sandbox the state file describes.

    Either its endpoint answers the health check with that pid, or the process's command line runs
    ``gdnb.sandbox`` (a sandbox too busy to answer). A pid reused by another process passes neither.
    """
    answer = health(state, timeout=1.0)
    if answer and answer.get("pid") == state.pid:
        return True
    return "gdnb.sandbox" in _command_line(state.pid)


def _command_line(pid: int) -> str:
    """The command line of ``pid`` ("" when there is no such process or it cannot be read)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except FileNotFoundError:
        if Path("/proc/self").exists():  # /proc works: the process is gone
            return ""
    except OSError:
        return ""
    try:  # no /proc (macOS): ask ps
        out = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout if out.returncode == 0 else ""


def control_call(state: SandboxState, path: str, body: dict[str, Any], timeout: float = 600.0) -> dict[str, Any]:
    """POST a JSON body to a control route (``/_gdnb/...``); raise SandboxError on failure."""
    req = urllib.request.Request(f"{state.endpoint}{path}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read()).get("error", "")
        except ValueError:
            detail = str(exc)
        raise SandboxError(f"The sandbox refused {path}: {detail}", "correct the arguments and run again.") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise SandboxError(f"The sandbox at {state.endpoint} does not answer ({exc}).",
                           "start it with `gdnb sandbox up`.") from exc


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start(port: int = 4566, data_dir: Path | None = None, timeout: float = 60.0) -> SandboxState:
    """Start a sandbox in the background and wait until it answers.

    ``port=0`` picks a free port. An already running sandbox on the same data directory is
    reused when it listens on the asked port (or when ``port=0``).
    """
    data_dir = Path(data_dir or default_data_dir()).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    running = read_state(data_dir)
    if running and (health(running) or {}).get("pid") == running.pid:
        if port in (0, running.port):
            return running
        raise SandboxError(f"A sandbox already runs on port {running.port} with data in {data_dir}.",
                           "stop it with `gdnb sandbox down`, or use another --data-dir.")
    if port and not port_free(port):
        raise SandboxError(f"Port {port} on 127.0.0.1 is already in use.",
                           "stop what listens there, or pass another --port (0 picks a free one).")
    (data_dir / STATE_FILE).unlink(missing_ok=True)
    log_path = data_dir / "sandbox.log"
    with open(log_path, "ab") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gdnb.sandbox", "--port", str(port), "--data-dir", str(data_dir)],
            stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise SandboxError(f"The sandbox exited at start-up (code {proc.returncode}):\n{tail}",
                               f"read {log_path} and fix what it says.")
        state = read_state(data_dir)
        if state and state.pid == proc.pid and health(state, timeout=1.0):
            return state
        time.sleep(0.1)
    proc.kill()
    raise SandboxError(f"The sandbox did not answer within {timeout:.0f} s.", f"read {log_path}.")


class StopOutcome(enum.Enum):
    """What :func:`stop` found; true only when it stopped a sandbox."""

    STOPPED = "sandbox stopped"
    NOT_RUNNING = "no sandbox was running"
    STALE_STATE = "no sandbox was running (removed a stale state file)"

    def __bool__(self) -> bool:
        return self is StopOutcome.STOPPED


def stop(data_dir: Path | None = None, timeout: float = 10.0) -> StopOutcome:
    """Stop the sandbox that uses ``data_dir``.

    A state file whose pid is not a gdnb sandbox (the sandbox died and the pid went to another
    process, or nothing runs under it any more) is removed without signalling anything.
    """
    data_dir = Path(data_dir or default_data_dir()).resolve()
    state = read_state(data_dir)
    if state is None:
        return StopOutcome.NOT_RUNNING
    if not _alive(state.pid) or not is_sandbox(state):
        remove_state(data_dir, state.pid)
        return StopOutcome.STALE_STATE
    try:
        os.kill(state.pid, signal.SIGTERM)
    except ProcessLookupError:
        remove_state(data_dir, state.pid)
        return StopOutcome.STALE_STATE
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(state.pid):
            break
        time.sleep(0.05)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.kill(state.pid, signal.SIGKILL)
        while _alive(state.pid) and time.monotonic() < deadline + 5:
            time.sleep(0.05)
    remove_state(data_dir, state.pid)
    return StopOutcome.STOPPED


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs; reaps it when it is our own child (else it lingers as a zombie)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass  # not our child: the sandbox was started by another process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, but another user's: certainly not a sandbox we started
        return True
    return True


def shell_exports(env: dict[str, str]) -> str:
    """``export K=V`` lines (and unsets of what would override them) for ``eval``."""
    lines = ["unset AWS_PROFILE AWS_SESSION_TOKEN"]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in env.items()]
    return "\n".join(lines)
