"""pyathena against the sandbox's Athena, unmodified, with only the sandbox environment set."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import boto3
import pytest
from pyathena import connect
from pyathena.error import OperationalError
from pyathena.pandas.cursor import PandasCursor

from gdnb.sandbox import control

REGION = "eu-west-1"
RESULTS = "pyathena-results"
DATA = "pyathena-data"


def _connect(schema_name: str = "gd"):
    return connect(s3_staging_dir=f"s3://{RESULTS}/staging/", region_name=REGION, schema_name=schema_name,
                   poll_interval=0.05)


@pytest.fixture()
def table(clean_sandbox: control.SandboxState) -> None:
    """``gd.events`` over two gzip JSON Lines objects, made through Athena DDL."""
    s3 = boto3.client("s3", region_name=REGION)
    for bucket in (RESULTS, DATA):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    events = [{"id": i, "name": f'say "hi" {i}' if i % 2 else f"plain, {i}", "score": i * 1.5,
               "seen": f"2026-11-0{1 + i % 5}T10:00:00Z", "tag": None if i == 3 else "t"} for i in range(6)]
    for part in range(2):
        body = "\n".join(json.dumps(e) for e in events[part * 3:(part + 1) * 3]) + "\n"
        s3.put_object(Bucket=DATA, Key=f"events/p{part}.jsonl.gz", Body=gzip.compress(body.encode()))
    with _connect(schema_name="default") as conn:
        cursor = conn.cursor()
        cursor.execute("CREATE DATABASE IF NOT EXISTS gd")
        cursor.execute(f"""CREATE EXTERNAL TABLE gd.events (id bigint, name string, score double, seen string,
                           tag string)
                           ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
                           LOCATION 's3://{DATA}/events/'""")


def test_cursor_reads_typed_rows_and_query_metadata(table: None):
    with _connect() as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT id, name, score, tag, CAST(from_iso8601_timestamp(seen) AS date) AS day "
                       "FROM events ORDER BY id")
        rows = cursor.fetchall()
        assert [d[:2] for d in cursor.description] == [("id", "bigint"), ("name", "varchar"), ("score", "double"),
                                                         ("tag", "varchar"), ("day", "date")]
        assert rows[0] == (0, "plain, 0", 0.0, "t", dt.date(2026, 11, 1))
        assert rows[1] == (1, 'say "hi" 1', 1.5, "t", dt.date(2026, 11, 2))
        assert rows[3][3] is None
        assert len(rows) == 6
        assert cursor.state == "SUCCEEDED" and cursor.data_scanned_in_bytes > 0
        assert cursor.output_location == f"s3://{RESULTS}/staging/{cursor.query_id}.csv"
        assert cursor.work_group == "primary" and cursor.statement_type == "DML"


def test_pandas_cursor_reads_the_result_file(table: None):
    with _connect() as conn:
        frame = conn.cursor(PandasCursor).execute("SELECT id, name, score, tag FROM events ORDER BY id").as_pandas()
    assert list(frame.columns) == ["id", "name", "score", "tag"]
    assert frame["id"].tolist() == [0, 1, 2, 3, 4, 5]
    assert frame["name"].tolist()[:2] == ["plain, 0", 'say "hi" 1']  # comma and quotes survive the CSV
    assert frame["score"].tolist()[2] == 3.0
    assert frame["tag"].isna().tolist() == [False, False, False, True, False, False]


def test_pandas_cursor_reads_ddl_and_utility_results(table: None):
    with _connect() as conn:
        cursor = conn.cursor(PandasCursor)
        tables = cursor.execute("SHOW TABLES IN gd").as_pandas()
        assert tables.iloc[:, 0].tolist() == ["events"]
        assert cursor.output_location.endswith(".txt")
        created = cursor.execute("CREATE DATABASE IF NOT EXISTS other").as_pandas()
        assert created.empty


def test_parameters_client_side_and_server_side(table: None):
    with _connect() as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT count(*) FROM events WHERE name = %(name)s", {"name": 'say "hi" 1'})
        assert cursor.fetchone() == (1,)
        cursor.execute("SELECT count(*) FROM events WHERE id >= ? AND tag = ?", ["2", "'t'"], paramstyle="qmark")
        assert cursor.fetchone() == (3,)


def test_bad_sql_raises_operational_error_with_athenas_reason(table: None):
    with _connect() as conn, pytest.raises(OperationalError, match=r"^SYNTAX_ERROR: "):
        conn.cursor().execute("SELEC id FROM events")


def test_missing_table_raises_operational_error(table: None):
    with _connect() as conn, pytest.raises(OperationalError, match="TABLE_NOT_FOUND"):
        conn.cursor(PandasCursor).execute("SELECT * FROM no_such_table")


def test_cursor_metadata_calls_describe_the_glue_table(table: None):
    with _connect() as conn:
        cursor = conn.cursor()
        assert "gd" in [d.name for d in cursor.list_databases(None)]
        metadata = cursor.get_table_metadata("events")
        assert metadata.name == "events" and metadata.table_type == "EXTERNAL_TABLE"
        assert [(c.name, c.type) for c in metadata.columns] == [
            ("id", "bigint"), ("name", "string"), ("score", "double"), ("seen", "string"), ("tag", "string")]
        assert metadata.location == f"s3://{DATA}/events/"
        assert [t.name for t in cursor.list_table_metadata()] == ["events"]


def test_query_cache_reuses_a_previous_execution(table: None):
    # pyathena's cache looks queries up with ListQueryExecutions and BatchGetQueryExecution.
    with _connect() as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT count(*) FROM events", cache_size=10)
        first = cursor.query_id
        assert cursor.fetchone() == (6,)
        cursor.execute("SELECT count(*) FROM events", cache_size=10)
        assert cursor.query_id == first and cursor.fetchone() == (6,)
        cursor.execute("SELECT count(*) FROM events")
        assert cursor.query_id != first
