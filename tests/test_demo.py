"""`make demo` (python -m gdnb.demo): a sandbox of its own, the setup notebooks, what was made."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gdnb.sandbox import control


def test_demo_runs_the_setup_notebooks_on_its_own_sandbox(tmp_path: Path):
    data, reports = tmp_path / "sandbox", tmp_path / "reports"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    try:
        out = subprocess.run([sys.executable, "-m", "gdnb.demo", "--port", "0", "--data-dir", str(data),
                              "--output-dir", str(reports)], capture_output=True, text=True, env=env, timeout=300)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "00_kms_key: 5 create, 1 update" in out.stdout
        assert "01_bucket_and_export: 11 create, 3 no-op" in out.stdout
        for region in ("ap-northeast-1", "us-east-1", "eu-west-1"):
            assert f"AWSLogs/123456789012/GuardDuty/{region}/" in out.stdout
        assert {"00_kms_key.ipynb", "01_bucket_and_export.ipynb"} <= {p.name for p in reports.iterdir()}
        assert control.read_state(data) is not None  # left running for JupyterLab
    finally:
        control.stop(data)
