"""Benchmark: what partition pruning saves, on a 90-day, 3-region sandbox history.

The same question (findings per type over the last 7 days, each finding once) asked three ways:

* over ``gd_findings`` (manual partitions, ``date_partition`` window): it must scan exactly the bytes of those
  7 days' partitions: ``scanned / minimum = 1.00``, the minimum computed by listing the objects;
* over ``gd_findings_projected`` (partition projection): the same bytes;
* over ``gd_logs`` (the AWS docs table, unpartitioned, window on updatedAt): the whole history;
  goal: ``gd_findings / gd_logs <= 0.08``.

Run: ``.venv/bin/python bench/bench_pruning.py`` (a minute or two on 2 cores).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from pathlib import Path

from gdnb.athena import Session, compare_scans, ensure_workgroup, format_bytes, format_usd
from gdnb.config import load_settings
from gdnb.partitions import discover_partitions, in_window, partition_bytes, sync_partitions
from gdnb.sandbox import control
from gdnb.setup import apply, plan_bucket, plan_export, plan_key
from gdnb.tables import create_tables

REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-1"]
DAYS = 90
WINDOW_DAYS = 7
FINDINGS_PER_DAY = 40


def main() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="gdnb-bench-pruning-"))
    state = control.start(port=0, data_dir=data_dir)
    os.environ.update(state.env())
    try:
        end = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
        s = load_settings(overrides={"apply": True, "home_region": "us-east-1", "export_regions": REGIONS,
                                     "sample_findings": "none", "bucket": "bench-findings",
                                     "end": end.isoformat(), "lookback_days": WINDOW_DAYS})
        for plan in (plan_key, plan_bucket, plan_export):
            apply(plan(s))
        began = time.perf_counter()
        reply = control.control_call(state, "/_gdnb/seed", {"days": DAYS, "regions": REGIONS, "seed": 11,
                                                            "findings_per_day": FINDINGS_PER_DAY,
                                                            "end": end.isoformat()})
        print(f"seeded {DAYS} days x {len(REGIONS)} regions: {reply['findings']} findings, {reply['rows']} exported "
              f"rows, {reply['objects_written']} objects ({time.perf_counter() - began:.1f} s)")
        ensure_workgroup(s)
        session = Session(s)
        create_tables(session)
        sync = sync_partitions(s, session=session, progress=False)
        print(f"registered {len(sync.added)} partitions with {sync.write_calls} statements")

        start, stop = s.window()
        found = discover_partitions(s)
        window = in_window(found.partitions, start, stop)
        minimum = partition_bytes(s, window)
        print(f"window {start} .. {stop}: {len(window)} partitions, {format_bytes(minimum)} of objects "
              f"(the least a query can read)")

        timings = {}
        results = {}
        for label, name, table in (("gd_logs", "summarize_findings_by_type_unpartitioned", None),
                                   ("gd_findings", "summarize_findings_by_type", None),
                                   ("gd_findings_projected", "summarize_findings_by_type", "gd_findings_projected")):
            began = time.perf_counter()
            results[label] = session.run(name, table=table) if table else session.run(name)
            timings[label] = time.perf_counter() - began
        frame = compare_scans(results)
        print(frame[["query", "rows", "bytes_scanned", "billed_bytes", "cost_usd", "share_of_baseline"]]
              .to_string(index=False))
        full, pruned, projected = (results[k].stats.bytes_scanned for k in ("gd_logs", "gd_findings",
                                                                            "gd_findings_projected"))
        same = results["gd_findings"].frame.equals(results["gd_findings_projected"].frame)
        print(f"gd_findings scanned / window minimum = {pruned / minimum:.2f} (goal 1.00)")
        print(f"gd_findings_projected scanned / window minimum = {projected / minimum:.2f} (goal 1.00); "
              f"same answer as gd_findings: {same}")
        print(f"gd_findings scanned / gd_logs scanned = {pruned / full:.3f} (goal <= 0.08; "
              f"{WINDOW_DAYS}/{DAYS} days = {WINDOW_DAYS / DAYS:.3f})")
        print(f"cost per query: gd_logs {format_usd(results['gd_logs'].stats.cost_usd)}, gd_findings "
              f"{format_usd(results['gd_findings'].stats.cost_usd)} (both may sit on the 10 MB minimum here; "
              f"the bytes are what grows with the history)")
        print("query time (s): " + ", ".join(f"{k} {v:.2f}" for k, v in timings.items()))
    finally:
        control.stop(data_dir)


if __name__ == "__main__":
    main()
