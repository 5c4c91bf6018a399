"""Start, find, check and stop a sandbox running in the background.

A running sandbox writes ``sandbox.json`` (pid, port, endpoint) into its data directory;
``gdnb sandbox env|status|down`` read it from there.
"""

from __future__ import annotations

import dataclasses
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
    state = {"pid": os.getpid(), "port": port, "data_dir": str(data_dir)}
    tmp = data_dir / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(state))
    tmp.replace(data_dir / STATE_FILE)


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
    if running and health(running):
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


def stop(data_dir: Path | None = None, timeout: float = 10.0) -> bool:
    """Stop the sandbox that uses ``data_dir``; return False when none was running."""
    data_dir = Path(data_dir or default_data_dir()).resolve()
    state = read_state(data_dir)
    if state is None:
        return False
    try:
        os.kill(state.pid, signal.SIGTERM)
    except ProcessLookupError:
        (data_dir / STATE_FILE).unlink(missing_ok=True)
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(state.pid):
            break
        time.sleep(0.05)
    else:
        os.kill(state.pid, signal.SIGKILL)
        _alive(state.pid)
    (data_dir / STATE_FILE).unlink(missing_ok=True)
    return True


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
    return True


def shell_exports(env: dict[str, str]) -> str:
    """``export K=V`` lines (and unsets of what would override them) for ``eval``."""
    lines = ["unset AWS_PROFILE AWS_SESSION_TOKEN"]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in env.items()]
    return "\n".join(lines)
