"""``make demo``: the walkthrough on the offline sandbox, with no AWS account.

Starts (or reuses) a sandbox with its data in ``.gdnb/sandbox`` of the checkout, on port 4566 when it is
free, runs the walkthrough notebooks with ``params/sandbox.yaml`` into ``reports/``, and prints what was
made and what GuardDuty exported. The sandbox keeps running afterwards, so the notebooks can be opened
in JupyterLab against it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gdnb.config import load_settings
from gdnb.errors import GdnbError
from gdnb.notebooks import run_notebook
from gdnb.record import read_records

ROOT = Path(__file__).resolve().parent.parent
DEMO_NOTEBOOKS: tuple[str, ...] = ("00_kms_key", "01_bucket_and_export")
ATHENA_NOTEBOOKS: tuple[str, ...] = ("02_create_tables", "03_manual_partitions", "04_exfiltration_queries")
REPORT_PARAMS = ROOT / "params" / "report.sandbox.yaml"
DEFAULT_PORT = 4566


def start_sandbox(data_dir: Path, port: int | None = None):
    """The sandbox on ``data_dir``: the running one, else a new one on ``port`` (4566 if free, else any)."""
    from gdnb.sandbox import control

    if port is None:
        port = DEFAULT_PORT if control.port_free(DEFAULT_PORT) else 0  # 0 also reuses one running there
    state = control.start(port=port, data_dir=data_dir)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.update(state.env())
    return state


def _summary(records: dict[str, Any]) -> str:
    changes = Counter(a.get("change") for a in records.get("planned_actions", []))
    writes = sum(c.get("calls", 0) for c in records.get("aws_calls", []) if c.get("write"))
    counts = ", ".join(f"{n} {k}" for k, n in sorted(changes.items())) or "no plan"
    return f"{counts}; {writes} AWS write call(s)"


def _scalars(records: dict[str, Any]) -> list[str]:
    """The records worth a line: scalars, and the scalars one level down in dicts (e.g. incidents.all_match)."""
    skip = {"planned_actions", "aws_calls"}
    lines = []
    for key, value in records.items():
        if key in skip or isinstance(value, list):
            continue
        if isinstance(value, dict):
            lines += [f"    {key}.{k}: {v}" for k, v in value.items() if not isinstance(v, list | dict)]
        else:
            lines.append(f"    {key}: {value}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gdnb.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".gdnb" / "sandbox", help="the sandbox's data")
    parser.add_argument("--params", type=Path, default=ROOT / "params" / "sandbox.yaml")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "reports", help="where executed notebooks go")
    parser.add_argument("--port", type=int, default=None, help="sandbox port (default 4566 if free; 0: any)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.params)
        state = start_sandbox(args.data_dir, args.port)
        print(f"sandbox: {state.endpoint} (pid {state.pid}, data in {state.data_dir})")
        for name in DEMO_NOTEBOOKS:
            started = time.monotonic()
            path = run_notebook(name, args.params, output_dir=args.output_dir)
            records = read_records(path)
            print(f"\n{name}: {_summary(records)} in {time.monotonic() - started:.1f} s -> {path}")
            print("\n".join(_scalars(records)))
        from gdnb.setup import list_exported_objects

        objects = list_exported_objects(settings)
        print(f"\nExported to s3://{settings.bucket}/ ({len(objects)} objects):")
        if len(objects):
            print(objects[["region", "day", "key", "size"]].to_string(index=False))

        from gdnb.lab import seed_history
        from gdnb.report.runner import run_report, summary_line

        started = time.monotonic()
        seeded = seed_history(state, settings)
        print(f"\nseeded {seeded['findings']} findings ({seeded['rows']} rows, {seeded['start']} .. {seeded['end']}, "
              f"{', '.join(seeded['regions'])}) in {time.monotonic() - started:.1f} s; ground truth in "
              f"{seeded['manifest_path']}")
        # The window ends on the last seeded day, so 04's comparison with the manifest leaves out
        # today's sample findings.
        window = {"end": seeded["end"], "lookback_days": 7}
        for name in ATHENA_NOTEBOOKS:
            started = time.monotonic()
            extra = {"manifest_path": seeded["manifest_path"]} if name == "04_exfiltration_queries" else {}
            path = run_notebook(name, args.params, {**window, **extra}, output_dir=args.output_dir)
            records = read_records(path)
            print(f"\n{name}: in {time.monotonic() - started:.1f} s -> {path}")
            print("\n".join(_scalars(records)))
        report = run_report(REPORT_PARAMS, window, output_dir=args.output_dir)
        print(f"\n05_findings_report: {summary_line(report.records())} in {report.seconds:.1f} s")
        if not report.ok:
            print(f"demo failed: the report notebook failed: {report.error} (see {report.html})", file=sys.stderr)
            return 1
        print(f"report: {report.html}")
    except GdnbError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 2
    data = state.data_dir
    print(f"\nThe sandbox keeps running. Use it from a shell with:  eval \"$(gdnb sandbox env --data-dir {data})\"")
    print(f"then open the notebooks with `jupyter lab notebooks/`; stop it with `gdnb sandbox down --data-dir {data}`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
