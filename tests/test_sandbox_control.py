"""The sandbox's life cycle through the `gdnb sandbox` command, as a user drives it."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from gdnb.cli import _data_dir_flag
from gdnb.sandbox import control

VENV_BIN = Path(sys.executable).parent  # where the `gdnb` and `aws` commands of this environment live


def _gdnb(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gdnb.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def _user_shell_env(tmp_path: Path) -> dict[str, str]:
    """A user's shell: no sandbox variables, and an AWS_PROFILE (of a missing profile) and session token
    that `eval "$(gdnb sandbox env)"` must unset, or the AWS CLI fails."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GDNB_"))}
    config = tmp_path / "aws-config"
    config.write_text("")
    env.update({"PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}", "AWS_PROFILE": "gdnb-no-such-profile",
                "AWS_SESSION_TOKEN": "stale-token", "AWS_CONFIG_FILE": str(config),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials")})
    return env


def test_up_env_status_down(tmp_path: Path):
    data = tmp_path / "sand box"  # a space: the printed commands must quote it
    up = _gdnb("sandbox", "up", "--port", "0", "--data-dir", str(data))
    assert up.returncode == 0, up.stderr
    assert "export AWS_ENDPOINT_URL=http://127.0.0.1:" in up.stdout
    # The hint names the data directory, so following it reaches this sandbox.
    hint = f'eval "$(gdnb sandbox env --data-dir {shlex.quote(str(data.resolve()))})"'
    assert hint in up.stderr
    try:
        # Exactly as a user types it: the unset line and the quoting must work in a real shell.
        script = (f"{hint}; aws s3api create-bucket --bucket via-cli >/dev/null && "
                  "aws sts get-caller-identity --output json")
        shell = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120,
                               env=_user_shell_env(tmp_path))
        assert shell.returncode == 0, shell.stderr
        assert json.loads(shell.stdout)["Account"] == "123456789012"

        env = _gdnb("sandbox", "env", "--data-dir", str(data))
        exports = dict(line.removeprefix("export ").split("=", 1) for line in env.stdout.splitlines()
                       if line.startswith("export "))
        # The printed environment is enough for plain boto3.
        s = boto3.Session(aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"])
        sts = s.client("sts", region_name="ap-northeast-1", endpoint_url=exports["AWS_ENDPOINT_URL"])
        assert sts.get_caller_identity()["Account"] == "123456789012"
        s3 = s.client("s3", region_name="us-east-1", endpoint_url=exports["AWS_ENDPOINT_URL"])
        assert "via-cli" in [b["Name"] for b in s3.list_buckets()["Buckets"]]  # the CLI reached this sandbox
        status = _gdnb("sandbox", "status", "--data-dir", str(data))
        assert status.returncode == 0 and "running" in status.stdout
        # A second `up` on the same data dir reuses the running sandbox.
        again = _gdnb("sandbox", "up", "--port", "0", "--data-dir", str(data))
        assert again.returncode == 0 and exports["AWS_ENDPOINT_URL"] in again.stdout
    finally:
        down = _gdnb("sandbox", "down", "--data-dir", str(data))
    assert down.stdout.strip() == "sandbox stopped"
    assert not (data / control.STATE_FILE).exists()
    assert _gdnb("sandbox", "status", "--data-dir", str(data)).returncode == 1
    env_after = _gdnb("sandbox", "env", "--data-dir", str(data))
    assert env_after.returncode == 2 and "gdnb sandbox up" in env_after.stderr


def test_port_in_use_is_a_clear_error(tmp_path: Path, sandbox: control.SandboxState):
    out = _gdnb("sandbox", "up", "--port", str(sandbox.port), "--data-dir", str(tmp_path / "other"))
    assert out.returncode == 2
    assert f"Port {sandbox.port}" in out.stderr and "--port" in out.stderr


def test_moto_services_answer(clean_sandbox: control.SandboxState):
    kms = boto3.client("kms", region_name="ap-northeast-1")
    key = kms.create_key(Description="t")["KeyMetadata"]
    assert key["Arn"].startswith("arn:aws:kms:ap-northeast-1:123456789012:key/")
    glue = boto3.client("glue", region_name="ap-northeast-1")
    glue.create_database(DatabaseInput={"Name": "db1"})
    assert [d["Name"] for d in glue.get_databases()["DatabaseList"]] == ["db1"]
    gd = boto3.client("guardduty", region_name="ap-northeast-1")
    det = gd.create_detector(Enable=True)["DetectorId"]
    assert gd.list_detectors()["DetectorIds"] == [det]


def test_the_up_hint_names_no_data_dir_for_the_default_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GDNB_SANDBOX_DIR", str(tmp_path / "default"))
    assert _data_dir_flag(None) == ""
    assert _data_dir_flag(tmp_path / "default") == ""
    assert _data_dir_flag(tmp_path / "other dir") == f" --data-dir {shlex.quote(str(tmp_path / 'other dir'))}"


# -- stale state files ------------------------------------------------------------------------------------------
def _write_state(data: Path, pid: int, port: int) -> None:
    data.mkdir(parents=True, exist_ok=True)
    (data / control.STATE_FILE).write_text(json.dumps({"pid": pid, "port": port, "data_dir": str(data)}))


def test_down_leaves_an_unrelated_process_alone(tmp_path: Path, sandbox: control.SandboxState):
    # A sandbox that died left its state file; its pid now belongs to another process. Its port even
    # answers: another sandbox (the session's) listens there now, with another pid.
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        data = tmp_path / "crashed"
        _write_state(data, bystander.pid, sandbox.port)
        down = _gdnb("sandbox", "down", "--data-dir", str(data))
        assert down.returncode == 0, down.stderr
        assert down.stdout.strip() == "no sandbox was running (removed a stale state file)"
        time.sleep(0.2)
        assert bystander.poll() is None  # not signalled
        assert not (data / control.STATE_FILE).exists()
        assert control.health(sandbox) is not None  # and the sandbox on that port still runs
        status = _gdnb("sandbox", "status", "--data-dir", str(data))
        assert status.returncode == 1 and "not running" in status.stdout
    finally:
        bystander.kill()
        bystander.wait()


def test_status_and_env_do_not_take_another_sandbox_for_this_one(tmp_path: Path, sandbox: control.SandboxState):
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        data = tmp_path / "crashed"
        _write_state(data, bystander.pid, sandbox.port)
        assert _gdnb("sandbox", "status", "--data-dir", str(data)).returncode == 1
        env = _gdnb("sandbox", "env", "--data-dir", str(data))
        assert env.returncode == 2 and f"gdnb sandbox up --data-dir {data.resolve()}" in env.stderr
    finally:
        bystander.kill()
        bystander.wait()


def test_down_with_the_state_file_of_a_dead_process(tmp_path: Path):
    gone = subprocess.Popen(["true"])
    gone.wait()
    data = tmp_path / "gone"
    _write_state(data, gone.pid, 9)
    assert control.stop(data) is control.StopOutcome.STALE_STATE
    assert not (data / control.STATE_FILE).exists()
    assert control.stop(data) is control.StopOutcome.NOT_RUNNING


# -- the foreground server ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_the_foreground_sandbox_removes_its_state_file_when_it_stops(tmp_path: Path, how: signal.Signals):
    data = tmp_path / "fg"
    proc = subprocess.Popen([sys.executable, "-m", "gdnb.sandbox", "--port", "0", "--data-dir", str(data)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        state = None
        while time.monotonic() < deadline and proc.poll() is None:
            state = control.read_state(data)
            if state is not None:
                break
            time.sleep(0.05)
        assert state is not None and state.pid == proc.pid, proc.stderr.read() if proc.stderr else ""
        sts = boto3.client("sts", region_name="us-east-1", endpoint_url=state.endpoint,
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        assert sts.get_caller_identity()["Account"] == "123456789012"
        proc.send_signal(how)
        assert proc.wait(timeout=20) == 0
        assert not (data / control.STATE_FILE).exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
