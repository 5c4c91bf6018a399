"""Query planning cost of the local Athena: pruning + listing + bytes, against one plain listing.

Goal: planning a query costs about one listing of the table's objects, whatever the number of
partitions it selects (Athena bills by bytes, so the engine must list, but only once per bucket):
over a local copy, planning / one-listing <= 2 for 1,095 registered partitions; over moto's S3,
where a listing is nearly free, planning stays under 30 ms (sqlglot's optimizer, ~10 ms, is then
the floor); and the grouped listing beats one listing per partition prefix (the naive way) by a
wide ratio.

The data: a GuardDuty export layout of 3 regions x 365 days x 2 objects, in a LocalDirStore (a
local copy) and in moto's S3 in-process (the sandbox's store). Everything is measured in one run,
best of 5.

    .venv/bin/python bench/bench_athena_planning.py
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gdnb.sandbox.athena import statements  # noqa: E402
from gdnb.sandbox.athena.catalog import LocalCatalog  # noqa: E402
from gdnb.sandbox.athena.context import StatementContext  # noqa: E402
from gdnb.sandbox.athena.engine import Engine  # noqa: E402
from gdnb.sandbox.athena.listing import list_locations, location_prefix  # noqa: E402
from gdnb.sandbox.athena.storage import LocalDirStore, MotoS3Store  # noqa: E402

NOW = dt.datetime(2026, 12, 31, 12, tzinfo=dt.UTC)
REGIONS = ("us-east-1", "eu-west-1", "ap-northeast-1")
DAYS = [(dt.date(2026, 1, 1) + dt.timedelta(days=i)).strftime("%Y/%m/%d") for i in range(365)]
BASE = "AWSLogs/123456789012/GuardDuty"
DDL = f"""CREATE EXTERNAL TABLE gd (id string) PARTITIONED BY (region string, dt string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' LOCATION 's3://findings/{BASE}/'"""
PROJECTED = DDL.replace("CREATE EXTERNAL TABLE gd", "CREATE EXTERNAL TABLE gdp") + f"""
TBLPROPERTIES ('projection.enabled'='true', 'projection.region.type'='enum',
 'projection.region.values'='{",".join(REGIONS)}', 'projection.dt.type'='date', 'projection.dt.format'='yyyy/MM/dd',
 'projection.dt.range'='2026/01/01,NOW', 'storage.location.template'='s3://findings/{BASE}/${{region}}/${{dt}}/')"""
QUERIES = {
    "1 day": "SELECT count(*) FROM {t} WHERE dt = '2026/12/30'",
    "30 days": "SELECT count(*) FROM {t} WHERE dt >= '2026/12/01' AND region = 'us-east-1'",
    "everything": "SELECT count(*) FROM {t}",
}


def best(fn, n: int = 5) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def build(engine: Engine) -> None:
    engine.execute("CREATE DATABASE IF NOT EXISTS db", now=NOW)
    engine.execute(DDL, database="db", now=NOW)
    engine.execute(PROJECTED, database="db", now=NOW)
    adds = " ".join(f"PARTITION (region='{r}', dt='{d}') LOCATION 's3://findings/{BASE}/{r}/{d}/'"
                    for r in REGIONS for d in DAYS)
    engine.execute("ALTER TABLE gd ADD " + adds, database="db", now=NOW)


def plan_time(engine: Engine, sql: str) -> tuple[float, int]:
    ctx = StatementContext(sql=sql, catalog=engine.catalog, store=engine.store, region=engine.region,
                           database="db", now=NOW)
    result = {}

    def once() -> None:
        query = statements.parse_statement(sql)
        tables = engine.resolve(query, ctx)
        result["plan"] = engine.plan(query, tables, ctx)

    return best(once), result["plan"].data_scanned_bytes


def report(label: str, engine: Engine) -> None:
    full = f"s3://findings/{BASE}/"
    bucket, prefix = location_prefix(full)
    one_listing = best(lambda: list(engine.store.list(bucket, prefix)))
    print(f"\n{label}: one listing of the table's {len(list(engine.store.list(bucket, prefix)))} objects "
          f"= {one_listing * 1000:.1f} ms")
    for name, template in QUERIES.items():
        for table in ("gd", "gdp"):
            seconds, scanned = plan_time(engine, template.format(t=table))
            kind = "registered" if table == "gd" else "projected "
            print(f"  plan {name:>10} {kind}: {seconds * 1000:7.1f} ms  = {seconds / one_listing:5.2f} x one listing"
                  f"  ({scanned} bytes)")
    window = [f"s3://findings/{BASE}/us-east-1/{d}/" for d in DAYS[-31:]]
    grouped = best(lambda: list_locations(engine.store, engine.region, window))
    naive = best(lambda: [list(engine.store.list(*location_prefix(loc))) for loc in window], n=2)
    print(f"  31 partition prefixes: grouped listing {grouped * 1000:.1f} ms, one listing per prefix "
          f"{naive * 1000:.1f} ms -> naive/grouped = {naive / grouped:.1f}x")


def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for r in REGIONS:
            for d in DAYS:
                folder = root / "findings" / BASE / r / d
                folder.mkdir(parents=True)
                (folder / "a.jsonl.gz").write_bytes(b"x" * 300)
                (folder / "b.jsonl.gz").write_bytes(b"y" * 500)
        local = Engine(LocalCatalog(root / "catalog.json"), LocalDirStore(root), "us-east-1", executor=object())
        build(local)
        report("LocalDirStore (local copy)", local)

    import boto3
    from moto import mock_aws

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="findings")
        for r in REGIONS:
            for d in DAYS:
                s3.put_object(Bucket="findings", Key=f"{BASE}/{r}/{d}/a.jsonl.gz", Body=b"x" * 300)
                s3.put_object(Bucket="findings", Key=f"{BASE}/{r}/{d}/b.jsonl.gz", Body=b"y" * 500)
        with tempfile.TemporaryDirectory() as tmp:
            moto = Engine(LocalCatalog(Path(tmp) / "catalog.json"), MotoS3Store("123456789012"), "us-east-1",
                          executor=object())
            build(moto)
            report("MotoS3Store (sandbox S3, in-process)", moto)


if __name__ == "__main__":
    run()
