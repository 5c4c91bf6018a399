"""The DML executor end to end: the AWS docs GuardDuty queries over the docs DDL, rendering, errors, cancel."""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import time

import pytest
import sqlglot
from athena_sql_support import DOCS_COLUMNS, NOW, Runner, dumps, glue_table, put_object, scan_of, synthetic_finding

from gdnb.sandbox.athena.dml import DmlExecutor
from gdnb.sandbox.athena.errors import AthenaSqlError, QueryCancelled
from gdnb.sandbox.athena.storage import LocalDirStore

ACCOUNT = "123456789012"
PREFIX = f"AWSLogs/{ACCOUNT}/GuardDuty/"
DNS_QUERY = (
    "SELECT title, severity, type, id AS FindingID, accountid, region, createdat, updatedat, "
    "json_extract_scalar(service,'$.count') AS Count, "
    "json_extract_scalar(resource,'$.instancedetails.instanceid') AS InstanceID, "
    "json_extract_scalar(service,'$.action.actiontype') AS DNS_ActionType, "
    "json_extract_scalar(service,'$.action.dnsrequestaction.domain') AS DomainName, "
    "json_extract_scalar(service,'$.action.dnsrequestaction.protocol') AS protocol, "
    "json_extract_scalar(service,'$.action.dnsrequestaction.blocked') AS blocked "
    "FROM gd_logs WHERE type = 'Trojan:EC2/DNSDataExfiltration' ORDER BY severity DESC"
)
IAM_QUERY = (
    "SELECT title, severity, type, id, accountid, region, createdat, updatedat, "
    "json_extract_scalar(resource,'$.accesskeydetails.username') AS IAMPrincipal, "
    "json_extract_scalar(service,'$.action.awsapicallaction.api') AS APIActionCalled "
    "FROM gd_logs WHERE type LIKE '%UnauthorizedAccess:IAMUser%' ORDER BY severity desc"
)


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """A GuardDuty export (gzip JSON Lines, camelCase, two regions, three days) and its findings."""
    root = tmp_path_factory.mktemp("export")
    rng = random.Random(11)
    findings = []
    for region in ("us-east-1", "eu-west-1"):
        for day in (1, 2, 3):
            when = dt.datetime(2026, 12, day, 8, tzinfo=dt.UTC)
            for part in range(2):
                batch = [synthetic_finding(rng, ACCOUNT, region, when + dt.timedelta(minutes=i)) for i in range(40)]
                batch.append(synthetic_finding(rng, ACCOUNT, region, when, ftype="Trojan:EC2/DNSDataExfiltration"))
                findings += batch
                key = f"{PREFIX}{region}/2026/12/{day:02d}/{rng.getrandbits(64):016x}-{part}.jsonl.gz"
                put_object(root, "findings", key, [dumps(f) for f in batch])
    store = LocalDirStore(root)
    executor = DmlExecutor(store, cache_dir=root / "cache")
    yield store, executor, findings
    executor.close()


def docs_runner(export, columns=DOCS_COLUMNS) -> Runner:
    store, executor, _ = export
    table = glue_table(
        [(c, "string") for c in columns], f"s3://findings/{PREFIX}", parameters={"has_encrypted_data": "true"}
    )
    return Runner(executor, {("default", "gd_logs"): scan_of(store, "findings", PREFIX, table, name="gd_logs")})


def hive_text(value) -> str | None:
    """How a Hive string column shows a JSON value (independent of the engine)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(lower_keys(value), separators=(",", ":"))
    return str(value)


def lower_keys(value):
    if isinstance(value, dict):
        return {k.lower(): lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_keys(v) for v in value]
    return value


def path(obj, *keys):
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = {k.lower(): v for k, v in obj.items()}.get(key)
    return None if isinstance(obj, dict | list) else hive_text(obj)


def test_docs_dns_exfiltration_query_matches_an_independent_reading(export):
    columns, rows = docs_runner(export).run(DNS_QUERY)
    assert [c.name for c in columns] == [
        "title",
        "severity",
        "type",
        "findingid",
        "accountid",
        "region",
        "createdat",
        "updatedat",
        "count",
        "instanceid",
        "dns_actiontype",
        "domainname",
        "protocol",
        "blocked",
    ]
    assert all(c.type == "varchar" for c in columns)
    expected = [
        (
            f["title"],
            hive_text(f["severity"]),
            f["type"],
            f["id"],
            f["accountId"],
            f["region"],
            f["createdAt"],
            f["updatedAt"],
            path(f["service"], "count"),
            path(f["resource"], "instancedetails", "instanceid"),
            path(f["service"], "action", "actiontype"),
            path(f["service"], "action", "dnsrequestaction", "domain"),
            path(f["service"], "action", "dnsrequestaction", "protocol"),
            path(f["service"], "action", "dnsrequestaction", "blocked"),
        )
        for f in export[2]
        if f["type"] == "Trojan:EC2/DNSDataExfiltration"
    ]
    assert len(expected) > 12
    assert sorted(rows) == sorted(expected)
    # ORDER BY severity DESC sorts the strings: '8.0' before '8'
    severities = [r[1] for r in rows]
    assert severities == sorted(severities, reverse=True)
    assert {r[13] for r in rows} <= {"true", "false"}


def test_docs_iam_query_reads_the_access_key_user(export):
    rows = docs_runner(export).rows(IAM_QUERY)
    expected = sorted(
        (f["id"], f["resource"]["accessKeyDetails"]["userName"])
        for f in export[2]
        if "UnauthorizedAccess:IAMUser" in f["type"]
    )
    assert sorted((r[3], r[8]) for r in rows) == expected
    assert all(r[9] in ("GetObject", "ListBuckets") for r in rows)


def test_old_docs_ddl_createdate_columns_come_back_null(export):
    columns = [c.replace("createdat", "createdate").replace("updatedat", "updatedate") for c in DOCS_COLUMNS]
    rows = docs_runner(export, columns).rows("SELECT createdate, updatedate, count(*) FROM gd_logs GROUP BY 1, 2")
    assert rows == [(None, None, str(len(export[2])))]


def test_severity_needs_a_cast_to_compare_with_numbers(export):
    r = docs_runner(export)
    with pytest.raises(AthenaSqlError) as info:
        r.rows("SELECT count(*) FROM gd_logs WHERE severity >= 7")
    assert info.value.kind == "SYNTAX_ERROR" and "varchar >= integer" in info.value.message
    high = sum(1 for f in export[2] if float(f["severity"]) >= 7)
    assert r.value("SELECT count(*) FROM gd_logs WHERE CAST(severity AS double) >= 7") == str(high)


def test_daily_counts_over_timestamps(export):
    rows = docs_runner(export).rows(
        "SELECT date_trunc('day', from_iso8601_timestamp(createdat)) AS day, count(*) AS n "
        "FROM gd_logs WHERE from_iso8601_timestamp(createdat) >= current_timestamp - interval '7' day "
        "GROUP BY 1 ORDER BY 1"
    )
    per_day = {}
    for f in export[2]:
        per_day[f["createdAt"][:10]] = per_day.get(f["createdAt"][:10], 0) + 1
    assert rows == [(f"{d} 00:00:00.000 UTC", str(n)) for d, n in sorted(per_day.items())]


def test_select_star_renders_nested_text_with_lower_case_keys(export):
    columns, rows = docs_runner(export).run(
        "SELECT * FROM gd_logs WHERE type = 'Trojan:EC2/DNSDataExfiltration' LIMIT 1"
    )
    assert [c.name for c in columns] == DOCS_COLUMNS
    service = json.loads(rows[0][DOCS_COLUMNS.index("service")])
    assert service["action"]["actiontype"] == "DNS_REQUEST" and "dnsrequestaction" in service["action"]


def test_top_findings_with_ctes_windows_and_path(export):
    rows = docs_runner(export).rows(
        'WITH f AS (SELECT region, type, "$path" AS p FROM gd_logs) '
        "SELECT region, type, n, rk FROM (SELECT region, type, count(*) AS n, "
        "rank() OVER (PARTITION BY region ORDER BY count(*) DESC, type) AS rk FROM f GROUP BY region, type) "
        "WHERE rk = 1 ORDER BY region"
    )
    assert [r[0] for r in rows] == ["eu-west-1", "us-east-1"]
    assert all(r[3] == "1" for r in rows)


def test_result_rendering_of_typed_values(export):
    rows = docs_runner(export).rows(
        "SELECT from_iso8601_timestamp('2026-12-01T10:00:00.123Z'), "
        "date_parse('2026-12-01 10:00:00', '%Y-%m-%d %H:%i:%s'), "
        "CAST(severity AS double), severity = '8.0', ARRAY[type], MAP(ARRAY['k'], ARRAY[region]) "
        "FROM gd_logs WHERE severity = '8.0' LIMIT 1"
    )
    ts, naive, sev, eq, arr, mp = rows[0]
    assert (ts, naive, sev, eq) == ("2026-12-01 10:00:00.123 UTC", "2026-12-01 10:00:00.000", "8.0", "true")
    assert arr.startswith("[") and arr.endswith("]") and mp.startswith("{k=")


def test_unknown_column_is_column_not_found(export):
    with pytest.raises(AthenaSqlError) as info:
        docs_runner(export).run("SELECT findingid FROM gd_logs")
    assert info.value.reason == "COLUMN_NOT_FOUND: line 1:8: Column 'findingid' cannot be resolved"


def test_cancel_before_running_stops_the_query(export):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(QueryCancelled):
        docs_runner(export).run("SELECT count(*) FROM gd_logs", cancel=cancel)


def test_cancel_interrupts_a_running_query(export):
    r = docs_runner(export)
    r.rows("SELECT count(*) FROM gd_logs")  # loaded: the cancel must hit DuckDB, not the load
    cancel = threading.Event()
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(QueryCancelled):
            r.run(
                "SELECT count(*) FROM gd_logs a CROSS JOIN gd_logs b CROSS JOIN gd_logs c "
                "WHERE length(a.id || b.id || c.id) > 3",
                cancel=cancel,
            )
    finally:
        timer.cancel()
    assert time.monotonic() - started < 10


def test_cancel_during_loading_stops_between_objects(tmp_path):
    class SlowStore(LocalDirStore):
        def read(self, bucket, key):
            time.sleep(0.05)
            return super().read(bucket, key)

    for i in range(40):
        put_object(tmp_path, "b", f"t/{i}.json.gz", ['{"accountid":"1"}'])
    store = SlowStore(tmp_path)
    with DmlExecutor(store, cache_dir=tmp_path / "cache") as executor:
        cancel = threading.Event()
        threading.Timer(0.2, cancel.set).start()
        r = Runner(
            executor, {("default", "t"): scan_of(store, "b", "t/", glue_table([("accountid", "string")], "s3://b/t/"))}
        )
        started = time.monotonic()
        with pytest.raises(QueryCancelled):
            r.run("SELECT count(*) FROM t", cancel=cancel)
        assert time.monotonic() - started < 2.0
        # nothing half-loaded stays behind: the next query loads everything
        assert r.value("SELECT count(*) FROM t") == "40"


def test_queries_from_several_threads_share_the_cache(export):
    r = docs_runner(export)
    results: list = []
    errors: list = []

    def work():
        try:
            results.append(
                r.rows(
                    "SELECT count(*), count(distinct json_extract_scalar(service,'$.action.actiontype')) FROM gd_logs"
                )
            )
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(res == results[0] for res in results) and results[0][0][0] == str(len(export[2]))


def test_views_can_be_described_over_no_objects(export):
    store, executor, _ = export
    table = glue_table([(c, "string") for c in DOCS_COLUMNS], f"s3://findings/{PREFIX}")
    empty = scan_of(store, "findings", "nothing/", table, name="gd_logs")
    query = sqlglot.parse_one("SELECT type, count(*) AS n FROM gd_logs GROUP BY type", read="athena")
    columns, rows = executor.execute(query, {("default", "gd_logs"): empty}, default_database="default", now=NOW)
    assert [(c.name, c.type) for c in columns] == [("type", "varchar"), ("n", "bigint")] and rows == []


def test_a_stop_that_arrives_before_duckdb_starts_still_stops_the_query(export, monkeypatch):
    """Stop while the query is being translated: DuckDB is idle then, so a single interrupt would be lost."""
    import gdnb.sandbox.athena.dml as dml

    cancel = threading.Event()
    translate = dml.translate

    def translate_then_stop(*args, **kwargs):
        out = translate(*args, **kwargs)
        cancel.set()
        time.sleep(0.3)  # the watcher's first interrupt lands while DuckDB has nothing to interrupt
        return out

    monkeypatch.setattr(dml, "translate", translate_then_stop)
    r = docs_runner(export)
    started = time.monotonic()
    with pytest.raises(QueryCancelled):
        r.run("SELECT count(*) FROM gd_logs a CROSS JOIN gd_logs b CROSS JOIN gd_logs c "
              "WHERE length(a.id || b.id || c.id) > 3", cancel=cancel)
    assert time.monotonic() - started < 10
