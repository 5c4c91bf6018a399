"""gdnb.athena: costs, the checks before the first query, the workgroup plan, and queries through the sandbox."""

from __future__ import annotations

import datetime as dt

import athena_support as sup
import boto3
import botocore.awsrequest
import pytest
from pyathena.util import RetryConfig

from gdnb.athena import (
    MB,
    Session,
    billed_bytes,
    ensure_workgroup,
    format_usd,
    plan_workgroup,
    query_cost_usd,
    query_failure,
)
from gdnb.athena.session import DEFAULT_RETRY
from gdnb.athena.sqlcheck import referenced_tables, unbounded_tables
from gdnb.errors import NotFoundError, QueryError, RegionMismatchError, ThrottledError
from gdnb.partitions import sync_partitions
from gdnb.tables import create_tables

TB = 2**40


# -- pure ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("scanned", "billed"), [
    (0, 10 * MB), (1, 10 * MB), (10 * MB, 10 * MB), (10 * MB + 1, 11 * MB), (123 * MB - 5, 123 * MB),
    (5 * 2**30, 5 * 2**30),
])
def test_dml_is_billed_per_started_mb_with_a_10_mb_minimum(scanned, billed):
    assert billed_bytes(scanned, "DML", "SUCCEEDED") == billed
    assert query_cost_usd(scanned, "DML", "SUCCEEDED", 5.0) == pytest.approx(billed / TB * 5.0)


def test_ddl_failed_and_empty_cancelled_queries_are_free():
    assert billed_bytes(5 * 2**30, "DDL", "SUCCEEDED") == 0
    assert billed_bytes(5 * 2**30, "UTILITY", "SUCCEEDED") == 0
    assert billed_bytes(5 * 2**30, "DML", "FAILED") == 0
    assert billed_bytes(0, "DML", "CANCELLED") == 0
    assert billed_bytes(3 * MB, "DML", "CANCELLED") == 10 * MB
    assert query_cost_usd(TB, price_per_tb=6.25) == pytest.approx(6.25)
    assert format_usd(query_cost_usd(1)) == "$0.000048"


def test_failure_reasons_become_errors_that_say_what_to_do():
    region = query_failure("HIVE_CURSOR_ERROR: The authorization header is malformed; the region 'us-east-1' is "
                           "wrong; expecting 'ap-northeast-1'", "q-1", "x")
    assert isinstance(region, RegionMismatchError) and "athena_region" in region.fix
    missing = query_failure("TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.guardduty.gd_x' does not exist",
                            "q-2")
    assert isinstance(missing, QueryError) and missing.query_id == "q-2" and "02_create_tables" in missing.fix
    cutoff = query_failure("Query exhausted resources: BYTES_SCANNED_LIMIT_EXCEEDED", "q-3")
    assert "bytes_scanned_cutoff" in cutoff.fix
    other = query_failure("SYNTAX_ERROR: line 1:8: oops", "q-4")
    assert "q-4" in str(other) and "SYNTAX_ERROR" in str(other)


def test_raw_sql_table_checks():
    sql = ("WITH x AS (SELECT * FROM gd_findings WHERE date_partition >= '2026/01/01') "
           "SELECT * FROM x JOIN gd_logs g ON x.id = g.id")
    assert referenced_tables(sql) == ["gd_findings", "gd_logs"]
    assert unbounded_tables(sql, {"gd_findings"}) == []
    assert unbounded_tables("SELECT count(*) FROM gd_findings WHERE type = 'x'", {"gd_findings"}) == ["gd_findings"]
    assert referenced_tables("ALTER TABLE gd_findings ADD PARTITION (a='b')") == []


def test_default_retry_covers_athena_throttling():
    assert {"TooManyRequestsException", "ThrottlingException"} <= set(DEFAULT_RETRY.exceptions)
    assert DEFAULT_RETRY.attempt >= 5


# -- against the sandbox --------------------------------------------------------------------------------------

END = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)


@pytest.fixture(scope="module")
def env(sandbox):
    """One export (us-east-1), 4 days seeded, workgroup, tables and partitions: the state notebook 03 leaves."""
    sup.reset(sandbox)
    s = sup.settings(bucket="client-findings", end=END.isoformat(), lookback_days=4)
    sup.setup_export(s)
    reply = sup.seed(sandbox, days=4, regions=["us-east-1"], findings_per_day=25, end=END)
    ensure_workgroup(s)
    session = Session(s)
    create_tables(session)
    sync_partitions(s, session=session)
    return {"settings": s, "reply": reply}


def test_region_mismatch_is_caught_before_athena_is_called(env):
    sup.create_bucket("client-tokyo-findings", "ap-northeast-1")
    s = sup.settings(bucket="client-tokyo-findings", home_region="ap-northeast-1", athena_region="us-east-1")
    session = Session(s)
    with pytest.raises(RegionMismatchError) as err:
        session.sql("SELECT 1")
    message = str(err.value)
    assert "s3://client-tokyo-findings is in ap-northeast-1" in message and "Athena would run in us-east-1" in message
    assert "the region 'us-east-1' is wrong; expecting 'ap-northeast-1'" in message
    assert "athena_region: ap-northeast-1" in err.value.fix
    assert session.history.empty and session._connection is None


def test_missing_workgroup_results_bucket_and_table_are_named(env):
    s = env["settings"]
    with pytest.raises(NotFoundError, match="workgroup 'nope' does not exist") as err:
        Session(s.replace(workgroup="nope")).sql("SELECT 1")
    assert "ensure_workgroup" in err.value.fix
    with pytest.raises(NotFoundError, match="results location") as err:
        Session(s.replace(workgroup="primary", results_bucket="client-missing-results")).sql("SELECT 1")
    with pytest.raises(NotFoundError, match=r"guardduty\.gd_nope does not exist") as err:
        Session(s).sql("SELECT count(*) FROM gd_nope")
    assert "02_create_tables" in err.value.fix
    with pytest.raises(NotFoundError, match="database 'other_db' does not exist"):
        Session(s.replace(database="other_db")).run("preview_findings", table="gd_findings_projected")


def test_workgroup_is_enforced_encrypted_and_capped(env):
    s = env["settings"]
    athena = boto3.client("athena", region_name="us-east-1")
    config = athena.get_work_group(WorkGroup="gdnb")["WorkGroup"]["Configuration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["BytesScannedCutoffPerQuery"] == s.bytes_scanned_cutoff
    assert config["ResultConfiguration"]["OutputLocation"] == "s3://client-findings-athena-results/results/"
    assert config["ResultConfiguration"]["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"
    encryption = boto3.client("s3", region_name="us-east-1").get_bucket_encryption(
        Bucket="client-findings-athena-results")["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert plan_workgroup(s).is_noop
    changed = s.replace(bytes_scanned_cutoff=20 * MB)
    plan = plan_workgroup(changed)
    assert [a.change for a in plan.actions] == ["no-op", "update"]
    assert "BytesScannedCutoffPerQuery: 10737418240 -> 20971520" in plan.actions[1].detail
    ensure_workgroup(changed)
    assert athena.get_work_group(WorkGroup="gdnb")["WorkGroup"]["Configuration"][
        "BytesScannedCutoffPerQuery"] == 20 * MB
    ensure_workgroup(s)
    assert plan_workgroup(s).is_noop


def test_query_returns_rows_with_stats_and_the_session_adds_up(env):
    session = Session(env["settings"])
    result = session.run("summarize_findings_by_type")
    stats = result.stats
    assert len(result.frame) > 0 and result.frame["findings"].sum() > 0
    assert stats.state == "SUCCEEDED" and stats.statement_type == "DML" and stats.query_id
    assert stats.bytes_scanned > 0
    assert stats.billed_bytes == max(10 * MB, -(-stats.bytes_scanned // MB) * MB)
    assert stats.cost_usd == pytest.approx(stats.billed_bytes / TB * 5.0)
    assert stats.output_location.startswith("s3://client-findings-athena-results/results/")
    assert stats.total_ms is not None and stats.engine_ms is not None
    second = session.sql("SELECT count(*) AS n FROM gd_logs")
    assert int(second.frame["n"][0]) == env["reply"]["rows"]
    history = session.history
    assert list(history["query_id"]) == [stats.query_id, second.stats.query_id]
    assert session.total_cost == pytest.approx(stats.cost_usd + second.stats.cost_usd)
    assert "2 queries" in session.cost_summary()


def test_injection_attempt_in_a_filter_value_stays_a_literal(env):
    session = Session(env["settings"])
    attack = "x' OR '1'='1"
    everything = session.run("summarize_findings_by_account")
    assert everything.frame["findings"].sum() > 0
    assert session.run("summarize_findings_by_account", accounts=[attack]).frame.empty
    counted = session.sql("SELECT count(*) AS n FROM gd_logs WHERE type = %(t)s", {"t": attack})
    assert int(counted.frame["n"][0]) == 0
    assert "'x'' OR ''1''=''1'" in counted.stats.sql


def test_unbounded_raw_sql_is_refused_before_it_is_sent(env):
    session = Session(env["settings"])
    with pytest.raises(QueryError, match="without a date window") as err:
        session.sql("SELECT count(*) AS n FROM gd_findings WHERE type = 'Recon:EC2/Portscan'")
    assert "allow_full_scan=True" in err.value.fix and session.history.empty
    full = session.sql("SELECT count(*) AS n FROM gd_findings", allow_full_scan=True)
    assert int(full.frame["n"][0]) == env["reply"]["rows"]


def test_failed_query_raises_with_reason_and_id_and_costs_nothing(env):
    session = Session(env["settings"])
    with pytest.raises(QueryError) as err:
        session.sql("SELECT no_such_column FROM gd_logs")
    assert err.value.query_id and err.value.query_id in str(err.value)
    assert "COLUMN_NOT_FOUND" in str(err.value) or "no_such_column" in str(err.value)
    row = session.history.iloc[-1]
    assert row["state"] == "FAILED" and row["cost_usd"] == 0 and row["query_id"] == err.value.query_id


def _error_response(code: str, status: int = 400):
    http = botocore.awsrequest.AWSResponse("https://athena", status, {}, None)
    return http, {"Error": {"Code": code, "Message": "Rate exceeded"}, "ResponseMetadata": {"HTTPStatusCode": status}}


def test_throttled_start_is_retried_with_backoff(env):
    session = Session(env["settings"], retry_config=RetryConfig(attempt=4, multiplier=0, max_delay=0))
    calls = []

    def throttle(**_kwargs):
        calls.append(1)
        return _error_response("TooManyRequestsException") if len(calls) <= 2 else None

    session.connection._client.meta.events.register("before-call.athena.StartQueryExecution", throttle)
    result = session.sql("SELECT 1 AS one")
    assert len(calls) == 3 and int(result.frame["one"][0]) == 1
    calls.clear()
    session.connection._client.meta.events.unregister("before-call.athena.StartQueryExecution", throttle)
    session.connection._client.meta.events.register(
        "before-call.athena.StartQueryExecution", lambda **_: _error_response("TooManyRequestsException"))
    with pytest.raises(ThrottledError, match="kept throttling"):
        session.sql("SELECT 2 AS two")


def test_interrupt_stops_the_athena_query_and_re_raises(env):
    session = Session(env["settings"])
    client = session.connection._client
    stopped, polls = [], []

    def interrupt(**_kwargs):
        polls.append(1)
        if len(polls) == 1:
            raise KeyboardInterrupt

    client.meta.events.register("before-call.athena.GetQueryExecution", interrupt)
    client.meta.events.register("before-parameter-build.athena.StopQueryExecution",
                                lambda params, **_: stopped.append(params["QueryExecutionId"]))
    with pytest.raises(KeyboardInterrupt):
        session.run("summarize_findings_by_type")
    row = session.history.iloc[-1]
    assert stopped == [row["query_id"]]
    state = boto3.client("athena", region_name="us-east-1").get_query_execution(
        QueryExecutionId=row["query_id"])["QueryExecution"]["Status"]["State"]
    assert row["state"] == state == "CANCELLED"
    assert row["cost_usd"] == billed_bytes(row["bytes_scanned"], "DML", "CANCELLED") / TB * 5.0
