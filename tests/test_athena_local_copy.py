"""The same engine over a local copy of buckets (``aws s3 sync`` into a folder), and its CLI."""

from __future__ import annotations

import gzip
import json

import pytest
from athena_engine_support import NOW, RecordingExecutor, guardduty_tree

from gdnb.sandbox.athena import local
from gdnb.sandbox.athena.local import local_engine

DDL = """CREATE EXTERNAL TABLE gd_findings (id string, type string, severity string, resource string)
PARTITIONED BY (region string, dt string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://findings/AWSLogs/123456789012/GuardDuty/'"""

ADD = ("ALTER TABLE gd_findings ADD IF NOT EXISTS "
       "PARTITION (region='us-east-1', dt='2026/12/27') "
       "LOCATION 's3://findings/AWSLogs/123456789012/GuardDuty/us-east-1/2026/12/27/' "
       "PARTITION (region='us-east-1', dt='2026/12/28') "
       "LOCATION 's3://findings/AWSLogs/123456789012/GuardDuty/us-east-1/2026/12/28/'")


def test_ddl_partitions_and_a_query_over_a_local_copy(tmp_path):
    sizes = guardduty_tree(tmp_path)
    executor = RecordingExecutor()
    engine = local_engine(tmp_path, executor=executor)
    engine.execute(DDL, now=NOW)  # into the "default" database a local copy starts with
    engine.execute(ADD, now=NOW)
    out = engine.execute("SELECT count(*) FROM gd_findings WHERE dt = '2026/12/28'", now=NOW)
    assert out.data_scanned_bytes == sizes[("us-east-1", "2026/12/28")]
    scan = executor.last_tables[("default", "gd_findings")]
    assert {o.key for o in scan.objects} == {
        "AWSLogs/123456789012/GuardDuty/us-east-1/2026/12/28/a.jsonl.gz",
        "AWSLogs/123456789012/GuardDuty/us-east-1/2026/12/28/b.jsonl.gz"}
    # The catalog is a file in the copy, and a fresh engine (another process) sees it.
    saved = json.loads((tmp_path / ".gdnb-catalog.json").read_text())
    assert set(saved["databases"]["default"]["tables"]) == {"gd_findings"}
    again = local_engine(tmp_path, executor=RecordingExecutor())
    assert [r[0] for r in again.execute("SHOW PARTITIONS gd_findings", now=NOW).rows] == [
        "region=us-east-1/dt=2026%2F12%2F27", "region=us-east-1/dt=2026%2F12%2F28"]


def test_local_copy_needs_an_existing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        local_engine(tmp_path / "missing")


def test_cli_runs_ddl_and_prints_utility_output(tmp_path, capsys):
    guardduty_tree(tmp_path)
    assert local.main(["--root", str(tmp_path), "CREATE DATABASE gd"]) == 0
    assert local.main(["--root", str(tmp_path), "--database", "gd", DDL]) == 0
    assert local.main(["--root", str(tmp_path), "--database", "gd", ADD]) == 0
    capsys.readouterr()
    assert local.main(["--root", str(tmp_path), "SHOW TABLES IN gd"]) == 0
    assert capsys.readouterr().out == "gd_findings\n"
    assert local.main(["--root", str(tmp_path), "--format", "csv", "SHOW PARTITIONS gd.gd_findings"]) == 0
    assert capsys.readouterr().out.splitlines() == ["region=us-east-1/dt=2026%2F12%2F27",
                                                    "region=us-east-1/dt=2026%2F12%2F28"]


def test_cli_reports_failures_with_athena_reason(tmp_path, capsys):
    assert local.main(["--root", str(tmp_path), "SELECT * FROM nope"]) == 1
    assert capsys.readouterr().err.strip() == (
        "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.default.nope' does not exist")
    assert local.main(["--root", str(tmp_path / "missing"), "SHOW TABLES"]) == 1


def test_cli_prints_query_results_as_table_and_csv(tmp_path, capsys, monkeypatch):
    guardduty_tree(tmp_path)
    real = local.local_engine
    monkeypatch.setattr(local, "local_engine", lambda *a, **kw: real(*a, **{**kw, "executor": RecordingExecutor()}))
    assert local.main(["--root", str(tmp_path), DDL]) == 0
    assert local.main(["--root", str(tmp_path), ADD]) == 0
    capsys.readouterr()
    assert local.main(["--root", str(tmp_path), "SELECT count(*) AS n FROM gd_findings"]) == 0
    printed = capsys.readouterr()
    assert printed.out.splitlines() == ["n", "-", "4"]
    assert printed.err.startswith("Data scanned: ")
    assert local.main(["--root", str(tmp_path), "--format", "csv", "SELECT count(*) AS n FROM gd_findings"]) == 0
    assert capsys.readouterr().out.splitlines() == ['"n"', '"4"']


def _finding(fid: str, ftype: str, severity: float, instance: str) -> dict:
    return {"schemaVersion": "2.0", "accountId": "123456789012", "region": "us-east-1", "partition": "aws",
            "id": fid, "type": ftype, "severity": severity, "createdAt": "2026-12-28T10:00:00.000Z",
            "updatedAt": "2026-12-28T10:00:00.000Z", "title": ftype,
            "resource": {"resourceType": "Instance", "instanceDetails": {"instanceId": instance}},
            "service": {"action": {"actionType": "DNS_REQUEST"}, "count": 3}}


def test_the_real_sql_engine_reads_the_local_copy(tmp_path):
    folder = tmp_path / "findings" / "AWSLogs" / "123456789012" / "GuardDuty" / "us-east-1"
    days = {"2026/12/27": [_finding("a1", "Trojan:EC2/DNSDataExfiltration", 8.0, "i-1")],
            "2026/12/28": [_finding("b1", "Trojan:EC2/DNSDataExfiltration", 8.0, "i-2"),
                           _finding("b2", "Recon:EC2/PortProbeUnprotectedPort", 2.0, "i-3")]}
    sizes = {}
    for day, findings in days.items():
        (folder / day).mkdir(parents=True)
        body = gzip.compress("".join(json.dumps(f) + "\n" for f in findings).encode())
        (folder / day / "export.jsonl.gz").write_bytes(body)
        sizes[day] = len(body)
    engine = local_engine(tmp_path)
    try:
        engine.execute(DDL, now=NOW)
        engine.execute(ADD, now=NOW)
        out = engine.execute(
            "SELECT id, json_extract_scalar(resource, '$.instancedetails.instanceid') AS instance "
            "FROM gd_findings WHERE dt = ? AND type = 'Trojan:EC2/DNSDataExfiltration'",
            execution_parameters=["'2026/12/28'"], now=NOW)
        assert [c.name for c in out.columns] == ["id", "instance"]
        assert out.rows == [("b1", "i-2")]
        assert out.data_scanned_bytes == sizes["2026/12/28"]
        everything = engine.execute("SELECT count(*) FROM gd_findings", now=NOW)
        assert everything.rows == [("3",)]
        assert everything.data_scanned_bytes == sum(sizes.values())
    finally:
        engine.close()
