"""The sandbox's life cycle through the `gdnb sandbox` command, as a user drives it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import boto3

from gdnb.sandbox import control


def _gdnb(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gdnb.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_up_env_status_down(tmp_path: Path):
    data = tmp_path / "sb"
    up = _gdnb("sandbox", "up", "--port", "0", "--data-dir", str(data))
    assert up.returncode == 0, up.stderr
    assert "export AWS_ENDPOINT_URL=http://127.0.0.1:" in up.stdout
    try:
        env = _gdnb("sandbox", "env", "--data-dir", str(data))
        exports = dict(line.removeprefix("export ").split("=", 1) for line in env.stdout.splitlines()
                       if line.startswith("export "))
        # The printed environment is enough for plain boto3.
        s = boto3.Session(aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"])
        sts = s.client("sts", region_name="ap-northeast-1", endpoint_url=exports["AWS_ENDPOINT_URL"])
        assert sts.get_caller_identity()["Account"] == "123456789012"
        status = _gdnb("sandbox", "status", "--data-dir", str(data))
        assert status.returncode == 0 and "running" in status.stdout
        # A second `up` on the same data dir reuses the running sandbox.
        again = _gdnb("sandbox", "up", "--port", "0", "--data-dir", str(data))
        assert again.returncode == 0 and exports["AWS_ENDPOINT_URL"] in again.stdout
    finally:
        down = _gdnb("sandbox", "down", "--data-dir", str(data))
    assert "stopped" in down.stdout
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
