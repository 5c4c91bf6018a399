"""gdnb.athena: costs, the checks before the first query, the workgroup plan, and queries through the sandbox."""

from __future__ import annotations

import datetime as dt

import athena_support as sup
import boto3
import botocore.awsrequest
import pandas as pd
import pytest
import sqlglot
from pyathena.util import RetryConfig

from gdnb.athena import (
    MB,
    QueryResult,
    QueryStats,
    Session,
    billed_bytes,
    ensure_workgroup,
    format_usd,
    plan_workgroup,
    query_cost_usd,
    query_failure,
    summarize_scans,
)
from gdnb.athena.session import DEFAULT_RETRY
from gdnb.athena.sqlcheck import referenced_tables, tables_in_database, unbounded_tables
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
    assert referenced_tables(sql) == [(None, "gd_findings"), (None, "gd_logs")]
    assert unbounded_tables(sql, {"gd_findings"}) == []
    assert unbounded_tables("SELECT count(*) FROM gd_findings WHERE type = 'x'", {"gd_findings"}) == ["gd_findings"]
    assert referenced_tables("ALTER TABLE gd_findings ADD PARTITION (a='b')") == []


def test_referenced_tables_keep_their_database_and_only_the_sessions_are_checked():
    sql = ("SELECT * FROM information_schema.tables t JOIN other_db.gd_findings o ON t.table_name = o.id "
           "JOIN guardduty.gd_logs g ON g.id = o.id JOIN awsdatacatalog.guardduty.gd_findings f ON f.id = g.id "
           "JOIN plain p ON p.id = f.id")
    refs = referenced_tables(sql)
    assert refs == [(None, "plain"), ("guardduty", "gd_findings"), ("guardduty", "gd_logs"),
                    ("information_schema", "tables"), ("other_db", "gd_findings")]
    assert tables_in_database(refs, "guardduty") == ["plain", "gd_findings", "gd_logs"]
    assert tables_in_database([("information_schema", "tables")], "information_schema") == []
    # a CTE named like a table in another database does not hide that table
    assert referenced_tables("WITH t AS (SELECT 1 AS a) SELECT * FROM t, other_db.t") == [("other_db", "t")]


def test_the_window_guard_knows_qualified_and_unparseable_sql():
    partitioned = {"gd_findings", "gd_findings_projected"}
    assert unbounded_tables("SELECT * FROM guardduty.gd_findings WHERE type = 'x'", partitioned,
                            "guardduty") == ["gd_findings"]
    assert unbounded_tables("SELECT * FROM other_db.gd_findings WHERE type = 'x'", partitioned, "guardduty") == []
    broken = "SELECT id FROM gd_findings_projected WHERE ((type = 'x'"
    with pytest.raises(sqlglot.errors.ParseError):
        sqlglot.parse_one(broken, read="athena")
    assert referenced_tables(broken) == []
    assert unbounded_tables(broken, partitioned, "guardduty") == ["gd_findings_projected"]
    assert unbounded_tables(broken + " AND date_partition > '2026/01/01'", partitioned, "guardduty") == []
    assert unbounded_tables("SELECT * FROM gd_logs WHERE ((", partitioned, "guardduty") == []


def _result(rows: list[dict], scanned: int, name: str = "q") -> QueryResult:
    stats = QueryStats(query_id=f"id-{name}", state="SUCCEEDED", statement_type="DML", bytes_scanned=scanned,
                       billed_bytes=billed_bytes(scanned), cost_usd=query_cost_usd(scanned), engine_ms=1,
                       total_ms=2, output_location=None, rows=len(rows), name=name)
    return QueryResult(frame=pd.DataFrame(rows, columns=["type", "findings"]), stats=stats)


def test_a_scan_comparison_gives_shares_ratios_and_whether_the_answers_agree():
    import matplotlib.pyplot as plt

    answer = [{"type": "Recon:EC2/Portscan", "findings": 3}]
    full, pruned, projected = _result(answer, 8000, "full"), _result(answer, 3000), _result(answer, 3000)
    scans = summarize_scans({"gd_logs": full, "gd_findings": pruned, "gd_findings_projected": projected},
                            minimum_bytes=3000)
    assert scans.baseline == "gd_logs" and scans.same_answer()
    assert scans.share("gd_findings") == pytest.approx(0.375) and scans.ratio_to_minimum("gd_findings") == 1.0
    records = scans.records()
    assert records["share_of_baseline"] == {"gd_logs": 1.0, "gd_findings": 0.375, "gd_findings_projected": 0.375}
    assert records["ratio_to_minimum"]["gd_logs"] == pytest.approx(8000 / 3000) and records["same_answer"] is True
    assert list(scans.frame["query"]) == ["gd_logs", "gd_findings", "gd_findings_projected"]
    assert "37.5% of gd_logs" in scans.summary() and "1.00 x the window's objects" in scans.summary()
    ax = scans.plot()
    assert ax.get_title() and ax.get_xlabel() == "MiB scanned" and ax.get_ylabel()
    plt.close(ax.figure)
    other = _result([{"type": "Recon:EC2/Portscan", "findings": 4}], 3000)
    differs = summarize_scans({"gd_logs": full, "gd_findings": pruned, "gd_findings_projected": other})
    assert not differs.same_answer() and differs.ratio_to_minimum("gd_findings") is None
    with pytest.raises(QueryError, match="baseline 'nope'"):
        summarize_scans({"gd_logs": full}, baseline="nope")
    with pytest.raises(QueryError, match="No result labelled 'x'"):
        scans.share("x")


def test_distinct_counts_values_and_names_a_missing_column():
    assert _result([], 0).distinct("type") == 0
    result = _result([{"type": "a", "findings": 1}, {"type": "a", "findings": 2}, {"type": None, "findings": 3}], 1)
    assert result.distinct("type") == 1 and result.distinct("findings") == 3
    with pytest.raises(QueryError, match="no column 'Type'"):
        result.distinct("Type")


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


def test_the_window_guard_holds_without_preflight_and_for_sql_it_cannot_parse(env):
    unchecked = Session(env["settings"], preflight=False)
    with pytest.raises(QueryError, match="gd_findings without a date window"):
        unchecked.sql("SELECT count(*) AS n FROM gd_findings WHERE type = 'Recon:EC2/Portscan'")
    checked = Session(env["settings"])
    with pytest.raises(QueryError, match="gd_findings_projected without a date window") as err:
        checked.sql("SELECT id FROM gd_findings_projected WHERE ((type = 'x'")
    assert "allow_full_scan=True" in err.value.fix
    assert unchecked.history.empty and checked.history.empty  # nothing was sent
    bounded = unchecked.sql("SELECT count(*) AS n FROM gd_findings WHERE date_partition >= '2000/01/01'")
    assert int(bounded.frame["n"][0]) == env["reply"]["rows"]
    with pytest.raises(QueryError) as err:  # on purpose: sent, and Athena reports the syntax error
        checked.sql("SELECT id FROM gd_findings_projected WHERE ((type = 'x'", allow_full_scan=True)
    assert err.value.query_id and checked.history.iloc[-1]["query_id"] == err.value.query_id


def test_tables_of_other_databases_and_information_schema_are_left_to_athena(env):
    session = Session(env["settings"])
    with pytest.raises(QueryError) as err:
        session.sql("SELECT * FROM other_db.t")
    assert not isinstance(err.value, NotFoundError) and err.value.query_id  # Athena ran it and said why
    assert "other_db" in str(err.value) and "guardduty.t " not in str(err.value)
    statement = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'guardduty'"
    try:
        session.sql(statement)
    except QueryError as exc:  # the sandbox's Athena has no information_schema; AWS's answers
        assert not isinstance(exc, NotFoundError) and "guardduty.tables" not in str(exc)
    assert session.history.iloc[-1]["sql"] == statement and session.history.iloc[-1]["query_id"]
    with pytest.raises(NotFoundError, match=r"guardduty\.gd_nope does not exist"):
        session.sql("SELECT count(*) FROM guardduty.gd_nope")


def test_new_findings_per_day_are_the_days_of_the_window(env):
    session = Session(env["settings"])
    start, end = END - dt.timedelta(days=1), END
    window = {"start_day": f"{start:%Y/%m/%d}", "end_day": f"{end:%Y/%m/%d}", "start": start.isoformat(),
              "end": end.isoformat()}
    earlier = session.sql("SELECT count(DISTINCT id) AS n FROM gd_findings WHERE date_partition BETWEEN "
                          "%(start_day)s AND %(end_day)s AND substr(createdat, 1, 10) < %(start)s", window)
    assert int(earlier.frame["n"][0]) > 0  # findings created before the window and updated in it exist
    created = session.sql("SELECT count(DISTINCT id) AS n FROM gd_findings WHERE date_partition BETWEEN "
                          "%(start_day)s AND %(end_day)s AND substr(createdat, 1, 10) BETWEEN %(start)s AND %(end)s",
                          window)
    by_day = session.run("summarize_findings_by_day", start=start, end=end).frame
    assert set(by_day["day"]) <= {start.isoformat(), end.isoformat()} and len(by_day) >= 1
    assert int(by_day["findings"].sum()) == int(created.frame["n"][0])
    bands = by_day[["critical", "high", "medium", "low"]].astype("int64").sum(axis=1)
    assert bands.tolist() == by_day["findings"].astype("int64").tolist()


def test_docs_query_chart_and_distinct_findings(env):
    import matplotlib.pyplot as plt

    session = Session(env["settings"])
    docs = session.run("list_dns_exfiltration_aws_docs")
    ids = session.sql("SELECT count(DISTINCT id) AS n FROM gd_logs WHERE type = 'Trojan:EC2/DNSDataExfiltration'",
                      name="distinct dns findings")
    assert docs.distinct("findingid") == int(ids.frame["n"][0])
    with pytest.raises(QueryError, match="no column 'FindingID'") as err:
        docs.distinct("FindingID")
    assert "findingid" in err.value.fix
    ax = docs.plot()
    try:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() == "domain"
    finally:
        plt.close(ax.figure)
    assert session.rows_by_query() == {"list_dns_exfiltration_aws_docs": len(docs), "distinct dns findings": 1}
    costs = session.costs()
    assert list(costs["name"]) == ["list_dns_exfiltration_aws_docs", "distinct dns findings", "total"]
    assert costs.iloc[-1]["cost_usd"] == pytest.approx(session.total_cost) and session.total_cost > 0


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
