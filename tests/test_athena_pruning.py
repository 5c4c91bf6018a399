"""Partition pruning and bytes scanned: what each query reads, as Athena bills it."""

from __future__ import annotations

from pathlib import Path

import pytest
from athena_engine_support import NOW, MemoryStore, RecordingExecutor, guardduty_tree, local_engine_at, write_object

from gdnb.sandbox.athena import statements
from gdnb.sandbox.athena.catalog import LocalCatalog
from gdnb.sandbox.athena.context import StatementContext
from gdnb.sandbox.athena.engine import BytesScannedLimitExceeded, Engine
from gdnb.sandbox.athena.errors import AthenaSqlError

REGIONS = ("us-east-1", "eu-west-1", "ap-northeast-1")
DAYS = ("2026/12/24", "2026/12/25", "2026/12/26", "2026/12/27", "2026/12/28")
TABLE_DDL = """CREATE EXTERNAL TABLE gd (id string, type string, severity string)
PARTITIONED BY (region_p string, dt string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://findings/AWSLogs/123456789012/GuardDuty/'"""


@pytest.fixture()
def setup(tmp_path):
    sizes = guardduty_tree(tmp_path, regions=REGIONS, days=DAYS)
    executor = RecordingExecutor()
    engine = local_engine_at(tmp_path, executor)
    engine.execute("CREATE DATABASE db", now=NOW)
    engine.execute(TABLE_DDL, database="db", now=NOW)
    adds = "\n".join(
        f"PARTITION (region_p='{r}', dt='{d}') LOCATION 's3://findings/AWSLogs/123456789012/GuardDuty/{r}/{d}/'"
        for r in REGIONS for d in DAYS)
    engine.execute("ALTER TABLE gd ADD " + adds, database="db", now=NOW)
    return engine, executor, sizes


def scanned(engine: Engine, sql: str, **kw) -> int:
    return engine.execute(sql, database="db", now=NOW, **kw).data_scanned_bytes


def total(sizes, regions=REGIONS, days=DAYS) -> int:
    return sum(sizes[(r, d)] for r in regions for d in days)


ALL = ("SELECT count(*) FROM gd", REGIONS, DAYS)
CASES = [
    ALL,
    ("SELECT * FROM gd WHERE region_p = 'us-east-1' AND dt >= '2026/12/25' AND type LIKE 'Trojan%'",
     ("us-east-1",), DAYS[1:]),
    # A conjunct mixing in a data column cannot prune: it is dropped, the rest still prunes.
    ("SELECT * FROM gd WHERE (region_p = 'us-east-1' OR type = 'x') AND dt = '2026/12/26'", REGIONS, ("2026/12/26",)),
    # Predicates are pushed through CTEs and subqueries.
    ("WITH x AS (SELECT * FROM gd) SELECT count(*) FROM x "
     "WHERE dt BETWEEN '2026/12/25' AND '2026/12/26' AND region_p IN ('eu-west-1')", ("eu-west-1",), DAYS[1:3]),
    ("SELECT count(*) FROM (SELECT id, dt FROM gd WHERE region_p = 'ap-northeast-1') s WHERE s.dt = '2026/12/24'",
     ("ap-northeast-1",), DAYS[:1]),
    # Constant folding: DATE - interval stays a DATE, as in Trino.
    ("SELECT * FROM gd WHERE dt >= date_format(DATE '2026-12-28' - interval '2' day, '%Y/%m/%d')",
     REGIONS, DAYS[2:]),
    # current_date is the query's clock (NOW = 2026-12-28).
    ("SELECT * FROM gd WHERE dt >= date_format(current_date - interval '1' day, '%Y/%m/%d')", REGIONS, DAYS[3:]),
    ("SELECT * FROM gd WHERE dt = date_format(date_add('day', -4, current_date), '%Y/%m/%d')", REGIONS, DAYS[:1]),
    # Any expression DuckDB can evaluate over partition columns prunes.
    ("SELECT * FROM gd WHERE concat(region_p, '/', dt) = 'us-east-1/2026/12/27'", ("us-east-1",), ("2026/12/27",)),
    ("SELECT * FROM gd WHERE substr(dt, 9, 2) IN ('24', '28') AND region_p <> 'eu-west-1'",
     ("us-east-1", "ap-northeast-1"), (DAYS[0], DAYS[4])),
    ("SELECT * FROM gd WHERE 1 = 0", (), ()),
]


@pytest.mark.parametrize(("sql", "regions", "days"), CASES)
def test_bytes_are_the_objects_of_the_selected_partitions(setup, sql, regions, days):
    engine, _executor, sizes = setup
    assert scanned(engine, sql) == total(sizes, regions, days)


def test_self_join_counts_each_reference(setup):
    engine, executor, sizes = setup
    sql = ("SELECT * FROM gd a JOIN gd b ON a.id = b.id "
           "WHERE a.dt = '2026/12/24' AND a.region_p = 'us-east-1' AND b.dt = '2026/12/25'")
    assert scanned(engine, sql) == sizes[("us-east-1", "2026/12/24")] + total(sizes, REGIONS, ("2026/12/25",))
    # The executor gets the union of what both references need, once.
    objects = executor.last_tables[("db", "gd")].objects
    assert len(objects) == 2 * 4
    assert len({(o.bucket, o.key) for o in objects}) == len(objects)


def test_outer_joins_prune_only_the_null_supplying_side_from_on(setup):
    engine, _executor, sizes = setup
    sql = ("SELECT * FROM gd a LEFT JOIN gd b ON a.id = b.id AND b.dt = '2026/12/24' AND a.dt = '2026/12/25'")
    # a keeps every row of a LEFT JOIN: its ON conjunct does not prune it; b's does.
    assert scanned(engine, sql) == total(sizes) + total(sizes, REGIONS, DAYS[:1])


def test_where_on_a_null_extended_table_prunes_only_when_null_rejecting(setup):
    engine, _executor, sizes = setup
    rejecting = "SELECT * FROM gd a LEFT JOIN gd b ON a.id = b.id WHERE b.dt = '2026/12/24'"
    assert scanned(engine, rejecting) == total(sizes) + total(sizes, REGIONS, DAYS[:1])
    keeps_nulls = "SELECT * FROM gd a LEFT JOIN gd b ON a.id = b.id WHERE b.dt IS NULL OR b.dt = '2026/12/24'"
    assert scanned(engine, keeps_nulls) == 2 * total(sizes)


def test_subquery_references_are_counted_and_not_pruned_by_the_subquery(setup):
    engine, _executor, sizes = setup
    sql = "SELECT * FROM gd WHERE dt IN (SELECT max(dt) FROM gd WHERE region_p = 'eu-west-1')"
    assert scanned(engine, sql) == total(sizes) + total(sizes, ("eu-west-1",))


def test_objects_carry_their_partition_values(setup):
    engine, executor, _sizes = setup
    scanned(engine, "SELECT * FROM gd WHERE region_p = 'eu-west-1' AND dt = '2026/12/27'")
    scan = executor.last_tables[("db", "gd")]
    assert [o.key.rsplit("/", 1)[1] for o in scan.objects] == ["a.jsonl.gz", "b.jsonl.gz"]
    assert {o.partition for o in scan.objects} == {(("region_p", "eu-west-1"), ("dt", "2026/12/27"))}
    assert scan.table["Name"] == "gd"


def test_execution_parameters_prune_like_literals(setup):
    engine, _executor, sizes = setup
    sql = "SELECT * FROM gd WHERE region_p = ? AND dt = ?"
    assert scanned(engine, sql, execution_parameters=["'us-east-1'", "'2026/12/28'"]) == sizes[
        ("us-east-1", "2026/12/28")]


def test_unpartitioned_table_reads_everything_below_its_location(tmp_path):
    engine = local_engine_at(tmp_path)
    engine.execute("CREATE DATABASE db", now=NOW)
    engine.execute("CREATE EXTERNAL TABLE logs (id string) ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' "
                   "LOCATION 's3://findings/AWSLogs/123456789012/GuardDuty'", database="db", now=NOW)
    sizes = guardduty_tree(tmp_path)
    write_object(tmp_path, "findings", "AWSLogs/123456789012/GuardDuty/_SUCCESS", 7)
    write_object(tmp_path, "findings", "AWSLogs/123456789012/GuardDuty/us-east-1/.part.crc", 7)
    write_object(tmp_path, "findings", "AWSLogs/123456789012/GuardDuty/_tmp/x.json", 7)
    write_object(tmp_path, "findings", "AWSLogs/123456789012/GuardDutyOther/x.json", 7)  # not below the location
    assert scanned(engine, "SELECT count(*) FROM logs") == sum(sizes.values())


def _memory_engine(tmp_path: Path, regions: dict[str, str], engine_region: str = "us-east-1"):
    store = MemoryStore(regions)
    executor = RecordingExecutor()
    catalog = LocalCatalog(tmp_path / "catalog.json")
    engine = Engine(catalog, store, engine_region, executor=executor)
    engine.execute("CREATE DATABASE db", now=NOW)
    return engine, store, executor


def test_folder_markers_and_hidden_objects_are_skipped(tmp_path):
    engine, store, executor = _memory_engine(tmp_path, {"b": "us-east-1"})
    engine.execute("CREATE EXTERNAL TABLE t (a string) LOCATION 's3://b/t/'", database="db", now=NOW)
    store.put("b", "t/", b"")
    store.put("b", "t/sub/", b"")
    store.put("b", "t/sub/data.json", b"12345")
    store.put("b", "t/data2.json", b"123")
    store.put("b", "t/_SUCCESS", b"1")
    store.put("b", "t/.hidden/x.json", b"1")
    assert scanned(engine, "SELECT * FROM t") == 8
    assert sorted(o.key for o in executor.last_tables[("db", "t")].objects) == ["t/data2.json", "t/sub/data.json"]


def test_one_listing_per_bucket_whatever_the_number_of_partitions(tmp_path):
    engine, store, _executor = _memory_engine(tmp_path, {"b": "us-east-1"})
    engine.execute("CREATE EXTERNAL TABLE t (a string) PARTITIONED BY (dt string) LOCATION 's3://b/t/'",
                   database="db", now=NOW)
    days = [f"2026-12-{d:02d}" for d in range(1, 29)]
    for d in days:
        store.put("b", f"t/{d}/x.json", b"1234")
    engine.execute("ALTER TABLE t ADD " + " ".join(f"PARTITION (dt='{d}') LOCATION 's3://b/t/{d}/'" for d in days),
                   database="db", now=NOW)
    store.list_calls.clear()
    assert scanned(engine, "SELECT * FROM t WHERE dt >= '2026-12-10'") == 19 * 4
    assert store.list_calls == [("b", "t/")]


def test_cutoff_cancels_a_query_that_would_scan_more(setup):
    engine, executor, sizes = setup
    calls_before = len(executor.calls)
    with pytest.raises(BytesScannedLimitExceeded) as excinfo:
        scanned(engine, "SELECT count(*) FROM gd", bytes_scanned_cutoff=total(sizes) - 1)
    err = excinfo.value
    assert (err.kind, err.reason, err.state) == ("BYTES_SCANNED_LIMIT_EXCEEDED", "Bytes scanned limit was exceeded",
                                                  "CANCELLED")
    assert (err.data_scanned_bytes, err.would_scan) == (total(sizes) - 1, total(sizes))
    assert len(executor.calls) == calls_before  # nothing was read
    narrow = "SELECT count(*) FROM gd WHERE dt = '2026/12/28'"
    assert scanned(engine, narrow, bytes_scanned_cutoff=total(sizes) - 1) == total(sizes, REGIONS, DAYS[4:])


def test_bucket_in_another_region_fails_like_athena(tmp_path):
    engine, store, _executor = _memory_engine(tmp_path, {"tokyo-findings": "ap-northeast-1", "local": "us-east-1"})
    engine.execute("CREATE EXTERNAL TABLE t (a string) PARTITIONED BY (dt string) LOCATION 's3://tokyo-findings/t/'",
                   database="db", now=NOW)
    store.put("tokyo-findings", "t/1/x.json", b"1")
    engine.execute("ALTER TABLE t ADD PARTITION (dt='1') LOCATION 's3://tokyo-findings/t/1/' "
                   "PARTITION (dt='2') LOCATION 's3://local/t/2/'", database="db", now=NOW)
    with pytest.raises(AthenaSqlError) as excinfo:
        scanned(engine, "SELECT * FROM t WHERE dt = '1'")
    assert excinfo.value.reason == (
        "HIVE_CURSOR_ERROR: The authorization header is malformed; the region 'us-east-1' is wrong; expecting "
        "'ap-northeast-1' (Service: Amazon S3; Status Code: 400; Error Code: AuthorizationHeaderMalformed)")
    # A query whose partitions are all elsewhere does not touch the Tokyo bucket.
    assert scanned(engine, "SELECT * FROM t WHERE dt = '2'") == 0


def test_missing_bucket_fails_the_query(tmp_path):
    engine, _store, _executor = _memory_engine(tmp_path, {})
    engine.execute("CREATE EXTERNAL TABLE t (a string) LOCATION 's3://gone/t/'", database="db", now=NOW)
    with pytest.raises(AthenaSqlError) as excinfo:
        scanned(engine, "SELECT * FROM t")
    assert excinfo.value.kind == "HIVE_CANNOT_OPEN_SPLIT"
    assert "The specified bucket does not exist" in excinfo.value.message


def test_ddl_scans_nothing(setup):
    engine, _executor, _sizes = setup
    assert engine.execute("SHOW PARTITIONS gd", database="db", now=NOW).data_scanned_bytes == 0
    assert engine.execute("MSCK REPAIR TABLE gd", database="db", now=NOW).data_scanned_bytes == 0


def test_a_query_the_optimizer_rejects_still_prunes_its_simple_where(setup):
    engine, executor, sizes = setup
    # An unknown column makes sqlglot's optimizer give up; the executor reports it, but planning
    # still prunes on the partition conjuncts of the single table.
    out = engine.execute("SELECT nosuchcol FROM gd WHERE dt = '2026/12/28' AND nosuchcol = 1", database="db", now=NOW)
    assert out.data_scanned_bytes == total(sizes, REGIONS, DAYS[4:])
    assert executor.last_tables[("db", "gd")].objects


def test_cutoff_waits_for_the_executor_when_planning_could_not_analyse(setup):
    engine, executor, _sizes = setup
    calls_before = len(executor.calls)
    with pytest.raises(BytesScannedLimitExceeded):
        scanned(engine, "SELECT nosuchcol FROM gd", bytes_scanned_cutoff=10)
    # The executor ran first, so its own error (COLUMN_NOT_FOUND on Athena) would win.
    assert len(executor.calls) == calls_before + 1


def test_pseudo_columns_do_not_stop_the_analysis(setup):
    engine, _executor, sizes = setup
    sql = """SELECT "$path", "$file_size" FROM gd WHERE dt = '2026/12/25' AND "$path" LIKE '%a.jsonl.gz'"""
    ctx = StatementContext(sql=sql, catalog=engine.catalog, store=engine.store, region=engine.region,
                           database="db", now=NOW)
    query = statements.parse_statement(sql)
    plan = engine.plan(query, engine.resolve(query, ctx), ctx)
    assert plan.analysed
    assert plan.data_scanned_bytes == total(sizes, REGIONS, DAYS[1:2])
