"""Benchmark: registering partitions in batches, and what an incremental sync costs.

Goals (printed as ratios, measured side by side in one run on a fresh sandbox):

* registering 90 days x 17 regions (1,530 partitions) takes at most 16 statements (or Glue calls):
  ``statements / 16 <= 1.00`` for both methods;
* a second sync makes no writes (0 statements, 0 Glue calls);
* discovery's LIST calls grow with regions x days, not with objects: the same layout written with 1 and with
  4 objects per partition is discovered with the same number of LIST calls (ratio 1.00), while the
  number of objects grows 4x.

Run: ``.venv/bin/python bench/bench_partitions.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3

from gdnb.athena import Session, ensure_workgroup
from gdnb.config import load_settings
from gdnb.partitions import discover_partitions, registered_partitions, sync_partitions
from gdnb.regions import COMMERCIAL_REGIONS
from gdnb.sandbox import control
from gdnb.tables import create_tables

ACCOUNT = "123456789012"
REGIONS = sorted(COMMERCIAL_REGIONS)  # 17
DAYS = 90
END = dt.date(2026, 3, 31)
HOME = "us-east-1"


def write_layout(bucket: str, objects_per_partition: int) -> int:
    """One small gzip JSON Lines object per (region, day, n), where GuardDuty would write it."""
    s3 = boto3.client("s3", region_name=HOME)
    s3.create_bucket(Bucket=bucket)
    body = gzip.compress((json.dumps({"id": "x", "type": "Recon:EC2/Portscan", "severity": 2}) + "\n").encode())
    keys = [f"AWSLogs/{ACCOUNT}/GuardDuty/{region}/{END - dt.timedelta(days=d):%Y/%m/%d}/{uuid.uuid4()}.jsonl.gz"
            for region in REGIONS for d in range(DAYS) for _ in range(objects_per_partition)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=body), keys))
    return len(keys)


def main() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="gdnb-bench-partitions-"))
    state = control.start(port=0, data_dir=data_dir)
    os.environ.update(state.env())
    try:
        kms = boto3.client("kms", region_name=HOME)
        kms.create_alias(AliasName="alias/guardduty-alert", TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
        base = {"apply": True, "home_region": HOME, "account_id": ACCOUNT, "export_regions": REGIONS}

        print(f"layout: {len(REGIONS)} regions x {DAYS} days = {len(REGIONS) * DAYS} partitions")
        listing = {}
        for bucket, density in (("bench-sparse", 1), ("bench-dense", 4)):
            began = time.perf_counter()
            objects = write_layout(bucket, density)
            found = discover_partitions(load_settings(overrides={**base, "bucket": bucket}))
            listing[density] = (objects, found.list_calls, len(found.partitions))
            print(f"  {density} object(s)/partition: {objects} objects written, discovery found "
                  f"{len(found.partitions)} partitions with {found.list_calls} LIST calls "
                  f"({time.perf_counter() - began:.1f} s incl. writing)")
        (o1, l1, _), (o4, l4, _) = listing[1], listing[4]
        print(f"objects ratio dense/sparse: {o4 / o1:.2f}; LIST calls ratio dense/sparse: {l4 / l1:.2f} "
              f"(goal 1.00: LIST calls follow regions x months, not objects)")

        for method, bucket, database in (("sql", "bench-sparse", "bench_sql"), ("glue", "bench-dense", "bench_glue")):
            s = load_settings(overrides={**base, "bucket": bucket, "database": database,
                                         "results_bucket": f"{bucket}-results"})
            ensure_workgroup(s)
            session = Session(s)
            create_tables(session, tables=("gd_findings",))
            began = time.perf_counter()
            first = sync_partitions(s, session=session, method=method, progress=False)
            took = time.perf_counter() - began
            glue = boto3.client("glue", region_name=HOME)
            registered = len(registered_partitions(glue, database, "gd_findings"))
            began = time.perf_counter()
            second = sync_partitions(s, session=session, method=method, progress=False)
            took2 = time.perf_counter() - began
            unit = first.write_unit
            print(f"[{method}] first sync: {len(first.added)} partitions in {first.write_calls} {unit} "
                  f"({took:.1f} s), catalog now has {registered}; ratio {unit}/16 = {first.write_calls / 16:.2f} "
                  f"(goal <= 1.00)")
            if method == "sql":
                sizes = [len(x.encode()) for x in first.statements]
                print(f"[{method}] largest statement: {max(sizes)} bytes = {max(sizes) / 262144:.2f} of Athena's "
                      f"262,144-byte limit; at most {max(x.count('PARTITION (') for x in first.statements)} "
                      "partitions per statement")
            print(f"[{method}] second sync: {len(second.added)} added, {second.write_calls} {unit} (goal 0), "
                  f"{second.list_calls} LIST calls ({took2:.1f} s)")
    finally:
        control.stop(data_dir)


if __name__ == "__main__":
    main()
