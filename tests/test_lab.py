"""`make lab` (python -m gdnb.lab): a seeded sandbox, then JupyterLab on the notebooks in its environment.

The lab is started headlessly on a free port with a token. The test lists the notebooks through Jupyter's
REST API, starts a kernel there, runs every code cell of 00_kms_key through the kernel's websocket (the
Jupyter messaging protocol, as JupyterLab does when you press Run) and checks what the notebook found
against the sandbox, reached through plain boto3.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from gdnb.sandbox import control

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """The REST API and kernel websocket of a running Jupyter server."""

    def __init__(self, port: int, token: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.token = token

    def api(self, path: str, method: str = "GET", body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method,
                                         headers={"Authorization": f"token {self.token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read() or b"null")

    def run(self, kernel_id: str, code: str, timeout: float = 120) -> dict[str, Any]:
        """Execute ``code`` in the kernel; return its reply status, text output and errors."""
        import websocket

        url = f"ws://127.0.0.1:{self.base.rsplit(':', 1)[1]}/api/kernels/{kernel_id}/channels?token={self.token}"
        ws = websocket.create_connection(url, timeout=timeout, suppress_origin=True)
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test", "session": uuid.uuid4().hex,
                       "version": "5.3", "date": dt.datetime.now(dt.UTC).isoformat()},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        out: dict[str, Any] = {"status": None, "text": "", "errors": [], "data": []}
        idle = False
        deadline = time.monotonic() + timeout
        try:
            while out["status"] is None or not idle:
                ws.settimeout(max(0.1, deadline - time.monotonic()))
                message = json.loads(ws.recv())
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = message["header"]["msg_type"], message["content"]
                if kind == "execute_reply":
                    out["status"] = content["status"]
                elif kind == "stream":
                    out["text"] += content["text"]
                elif kind == "error":
                    out["errors"].append(f"{content['ename']}: {content['evalue']}")
                elif kind in ("execute_result", "display_data"):
                    out["data"].append(content["data"])
                elif kind == "status" and content["execution_state"] == "idle":
                    idle = True
        finally:
            ws.close()
        return out


def wait_for_lab(proc: subprocess.Popen, lab: Lab, log: Path, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"gdnb.lab exited ({proc.returncode}):\n{log.read_text()[-3000:]}"
        try:
            lab.api("/api/status")
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


def test_lab_serves_the_notebooks_against_a_seeded_sandbox_and_runs_them(tmp_path: Path):
    data, log = tmp_path / "sandbox", tmp_path / "lab.log"
    port, token = free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "GDNB_SANDBOX_DIR"}
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    command = [sys.executable, "-m", "gdnb.lab", "--data-dir", str(data), "--port", "0",
               "--output-dir", str(tmp_path / "setup"), "--", "--no-browser", f"--ServerApp.port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}"]
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                cwd=ROOT, start_new_session=True)
    lab = Lab(port, token)
    try:
        wait_for_lab(proc, lab, log)
        state = control.read_state(data)
        assert state is not None and control.health(state)
        setup = log.read_text()
        assert "ran 00_kms_key" in setup and "ran 01_bucket_and_export" in setup and "seeded " in setup

        listing = {item["name"] for item in lab.api("/api/contents/")["content"]}
        assert {"00_kms_key.ipynb", "01_bucket_and_export.ipynb", "05_findings_report.ipynb"} <= listing
        notebook = lab.api("/api/contents/00_kms_key.ipynb?content=1")["content"]
        cells = [c["source"] for c in notebook["cells"] if c["cell_type"] == "code"]

        kernel = lab.api("/api/kernels", "POST", {"name": "python3"})
        env_check = lab.run(kernel["id"], "import os; print(os.environ['AWS_ENDPOINT_URL'])")
        assert env_check["text"].strip() == state.endpoint  # the kernel reaches the sandbox, not AWS
        for source in cells:
            result = lab.run(kernel["id"], source)
            assert result["status"] == "ok" and not result["errors"], (source[:80], result["errors"])
        found = lab.run(kernel["id"], "from gdnb.record import recorded; print(recorded()['key_arn'])")
        assert found["status"] == "ok", found["errors"]
        kms = boto3.client("kms", region_name="ap-northeast-1", endpoint_url=state.endpoint,
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        key_arn = kms.describe_key(KeyId="alias/guardduty-alert")["KeyMetadata"]["Arn"]
        assert found["text"].strip() == key_arn
        lab.api(f"/api/kernels/{kernel['id']}", "DELETE")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the lab we started (jupyter replaced gdnb.lab in this process)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        control.stop(data)
