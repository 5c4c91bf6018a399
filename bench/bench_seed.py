"""Seeding speed: 90 days x 3 regions x 1,000 findings a day through a real sandbox.

Goal: the 270,000 findings (plus their re-exported updates and the planted incidents) in under 2 minutes
on a 2-core machine, i.e. at least 2,250 findings/s.

The script starts a sandbox on a free port with a temporary data directory, sets up each region as a
user would (KMS key and key policy, bucket and bucket policy, detector, publishing destination, through
boto3 with the documented policies), seeds, and prints the rates next to two references measured in the
same run: the goal (2,250 findings/s) and the in-process baseline (generate the same history's first
days and encode them as gzip JSON Lines, without the sandbox, S3 or HTTP).

    .venv/bin/python bench/bench_seed.py [--days 90] [--per-day 1000] [--regions us-east-1,eu-west-1,ap-southeast-2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the boto3 set-up helpers the tests use

GOAL_SECONDS = 120.0
GOAL_RATE = 270_000 / GOAL_SECONDS  # findings/s: 90 days x 3 regions x 1,000 a day in 2 minutes


def baseline_rate(days: int, per_day: int, regions: list[str], end: dt.date) -> tuple[float, float]:
    """(findings/s, rows/s) of generating and gzip-encoding the history in this process, without the sandbox."""
    from gdnb.sandbox.guardduty.exporter import encode_jsonl_gz
    from gdnb.sandbox.seed import History, SeedRequest

    request = SeedRequest(days=days, findings_per_day=per_day, seed=7, regions=None, accounts=(), end=end)
    history = History(request, "123456789012", regions, {r: "0" * 32 for r in regions})
    started = time.perf_counter()
    rows = 0
    for batch in history.batches():
        rows += encode_jsonl_gz(batch.findings)[1]
    elapsed = time.perf_counter() - started
    findings = days * per_day * len(regions)
    return findings / elapsed, rows / elapsed


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--per-day", type=int, default=1000)
    parser.add_argument("--regions", default="us-east-1,eu-west-1,ap-southeast-2")
    parser.add_argument("--baseline-days", type=int, default=10, help="days of the in-process baseline")
    args = parser.parse_args()
    regions = args.regions.split(",")
    end = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)

    from gdnb.sandbox import control

    with tempfile.TemporaryDirectory(prefix="gdnb-bench-seed-") as tmp:
        state = control.start(port=0, data_dir=Path(tmp))
        try:
            os.environ.update(state.env())
            for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
                os.environ.pop(var, None)
            import gd_setup

            started = time.perf_counter()
            for n, region in enumerate(regions):
                gd_setup.setup_export(region, f"gdnb-bench-findings-{n}", "guardduty")
            setup_s = time.perf_counter() - started
            body = {"days": args.days, "findings_per_day": args.per_day, "seed": 7, "regions": regions,
                    "end": end.isoformat()}
            started = time.perf_counter()
            reply = control.control_call(state, "/_gdnb/seed", body, timeout=1800)
            seed_s = time.perf_counter() - started
            rss_mb = _rss_mb(state.pid)
        finally:
            control.stop(Path(tmp))

    findings = args.days * args.per_day * len(regions)
    rows = reply["rows"]
    rate = findings / seed_s
    base_findings_rate, base_rows_rate = baseline_rate(args.baseline_days, args.per_day, regions, end)

    print(f"seeded {args.days} days x {len(regions)} regions x {args.per_day}/day = {findings:,} new findings; "
          f"{rows:,} exported rows (updates and incidents included) in {reply['objects_written']:,} objects")
    print(f"set-up (keys, buckets, policies, detectors, destinations via boto3): {setup_s:.2f} s")
    print(f"seeding through the sandbox (HTTP call, generation, gzip, S3 writes, manifest): {seed_s:.1f} s "
          f"(server-side {reply['seconds']:.1f} s)")
    print(f"  {rate:,.0f} findings/s, {rows / seed_s:,.0f} rows/s")
    print(f"sandbox memory after seeding: {rss_mb:,.0f} MB RSS (the export objects live in moto's S3)")
    print(f"goal: 270,000 findings in {GOAL_SECONDS:.0f} s = {GOAL_RATE:,.0f} findings/s -> "
          f"ratio {rate / GOAL_RATE:.2f}x the goal ({'met' if rate >= GOAL_RATE else 'MISSED'})")
    print(f"baseline, same run ({args.baseline_days} days generated and gzip-encoded in-process, no sandbox): "
          f"{base_findings_rate:,.0f} findings/s, {base_rows_rate:,.0f} rows/s -> sandbox/baseline "
          f"{rate / base_findings_rate:.2f}")
    return 0 if rate >= GOAL_RATE else 1


if __name__ == "__main__":
    sys.exit(main())
