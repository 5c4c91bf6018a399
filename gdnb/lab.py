"""``make lab``: JupyterLab on the notebooks, against a seeded sandbox, with no AWS account.

Starts (or reuses) the sandbox of ``make demo`` (data in ``.gdnb/sandbox`` of the checkout, port 4566
when free). When its findings bucket is empty, it sets the export up the way the walkthrough does
(notebooks 00 and 01 with ``params/sandbox.yaml``) and seeds a history of findings with planted
incidents. Then it replaces itself with ``jupyter lab --notebook-dir notebooks`` in the sandbox's
environment, so every notebook (and its kernel) reaches the sandbox as it would reach AWS.

Usage: ``python -m gdnb.lab [--data-dir DIR] [--port PORT] [-- JUPYTER LAB OPTIONS...]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import botocore.exceptions

from gdnb.config import Settings, load_settings
from gdnb.errors import GdnbError

ROOT = Path(__file__).resolve().parent.parent
SETUP_NOTEBOOKS: tuple[str, ...] = ("00_kms_key", "01_bucket_and_export")
SEED_DAYS = 14
SEED_FINDINGS_PER_DAY = 50


def bucket_is_empty(settings: Settings) -> bool:
    """True when the findings bucket is missing or has nothing under ``[prefix/]AWSLogs/``."""
    from gdnb import aws
    from gdnb.tables import findings_prefix

    s3 = aws.client("s3", settings.home_region, settings)
    try:
        answer = s3.list_objects_v2(Bucket=settings.bucket, Prefix=findings_prefix(settings), MaxKeys=1)
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchBucket", "404"):
            return True
        raise
    return not answer.get("KeyCount")


def seed_history(state: Any, settings: Settings, *, days: int = SEED_DAYS,
                 findings_per_day: int = SEED_FINDINGS_PER_DAY) -> dict[str, Any]:
    """Seed ``days`` days (ending yesterday, UTC) of findings in every exporting region; return the reply."""
    from gdnb.sandbox import control

    body = {"days": days, "findings_per_day": findings_per_day, "regions": list(settings.exporting_regions)}
    return control.control_call(state, "/_gdnb/seed", body)


def prepare_sandbox(state: Any, params: Path, output_dir: Path) -> list[str]:
    """Set up and seed the sandbox when its bucket is empty; return what was done (one line each)."""
    from gdnb.notebooks import run_notebook

    settings = load_settings(params)
    if not bucket_is_empty(settings):
        return [f"s3://{settings.bucket} already holds findings: nothing to set up"]
    done = []
    for name in SETUP_NOTEBOOKS:
        path = run_notebook(name, params, output_dir=output_dir)
        done.append(f"ran {name} -> {path}")
    reply = seed_history(state, settings)
    done.append(f"seeded {reply['findings']} findings ({reply['rows']} rows) from {reply['start']} to {reply['end']} "
                f"in {', '.join(reply['regions'])}; ground truth in {reply['manifest_path']}")
    return done


def jupyter_command(notebook_dir: Path, extra: Sequence[str] = ()) -> list[str]:
    """``jupyter lab --notebook-dir ...`` with this Python's jupyter (and ``--allow-root`` when run as root)."""
    jupyter = Path(sys.executable).with_name("jupyter")
    program = str(jupyter) if jupyter.exists() else (shutil.which("jupyter") or "jupyter")
    command = [program, "lab", f"--notebook-dir={notebook_dir}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra:
        command.append("--allow-root")  # Jupyter refuses to start as root otherwise (containers, CI)
    return [*command, *extra]


def main(argv: Sequence[str] | None = None) -> int:
    """Start the sandbox, set it up and seed it when empty, then run JupyterLab on ``notebooks/``."""
    from gdnb.demo import start_sandbox

    parser = argparse.ArgumentParser(prog="python -m gdnb.lab", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".gdnb" / "sandbox", help="the sandbox's data")
    parser.add_argument("--port", type=int, default=None, help="sandbox port (default 4566 if free; 0: any)")
    parser.add_argument("--params", type=Path, default=ROOT / "params" / "sandbox.yaml")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "reports", help="where the setup notebooks go")
    parser.add_argument("jupyter_args", nargs=argparse.REMAINDER, help="options for jupyter lab, after --")
    args = parser.parse_args(argv)
    extra = args.jupyter_args[1:] if args.jupyter_args[:1] == ["--"] else args.jupyter_args
    try:
        state = start_sandbox(args.data_dir, args.port)  # also exports its environment to os.environ
        print(f"sandbox: {state.endpoint} (pid {state.pid}, data in {state.data_dir})", flush=True)
        for line in prepare_sandbox(state, args.params, args.output_dir):
            print(f"  {line}", flush=True)
    except GdnbError as exc:
        print(f"lab failed: {exc}", file=sys.stderr)
        return 2
    command = jupyter_command(ROOT / "notebooks", extra)
    print(f"starting {' '.join(command)}\nthe sandbox keeps running afterwards; stop it with "
          f"`gdnb sandbox down --data-dir {state.data_dir}`", flush=True)
    os.execvpe(command[0], command, os.environ)
    return 0  # pragma: no cover - execvpe does not return


if __name__ == "__main__":
    sys.exit(main())
