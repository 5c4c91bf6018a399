"""gdnb.partitions: discovery by delimited listing, the diff with Glue, batched registration, the CLI."""

from __future__ import annotations

import datetime as dt

import athena_support as sup
import boto3
import pytest
import sqlglot
from sqlglot import exp

from gdnb.errors import GdnbError, NotFoundError, QueryError
from gdnb.partitions import (
    MAX_QUERY_BYTES,
    Partition,
    add_partition_statements,
    cli_sync,
    discover_partitions,
    drop_partition_statements,
    glue_partition_inputs,
    plan_partitions,
    registered_partitions,
    sync_partitions,
)

ACCOUNT = sup.ACCOUNT
DAY0 = dt.date(2026, 1, 30)


def part(region: str, day: dt.date, account: str = ACCOUNT, bucket: str = "b", prefix: str = "") -> Partition:
    root = f"s3://{bucket}/{prefix + '/' if prefix else ''}AWSLogs/"
    return Partition(account, region, day, f"{root}{account}/GuardDuty/{region}/{day:%Y/%m/%d}/")


def many(days: int, regions: list[str]) -> list[Partition]:
    return [part(r, DAY0 + dt.timedelta(days=i)) for r in regions for i in range(days)]


# -- pure: planning and statements ---------------------------------------------------------------------------

def test_plan_adds_only_what_is_missing_and_drops_only_in_scope():
    found = many(3, ["us-east-1"])
    registered = {found[0].values: found[0].location,
                  found[1].values: found[1].location.replace("s3://b/", "s3://elsewhere/"),
                  (ACCOUNT, "us-east-1", "2025/12/01"): "s3://b/old/",
                  (ACCOUNT, "eu-west-1", "2026/01/30"): "s3://b/gone/"}
    plan = plan_partitions(found, registered)
    assert plan.add == [found[2]] and plan.relocate == [found[1]] and plan.drop == [] and plan.unchanged == 1
    plan = plan_partitions(found, registered, drop_missing=True, scope=lambda v: v[1] == "us-east-1")
    assert plan.drop == [(ACCOUNT, "us-east-1", "2025/12/01")]
    assert plan_partitions(found, {p.values: p.location + "" for p in found}).is_noop


def test_1530_partitions_fit_in_16_statements_under_the_limits():
    partitions = many(90, [f"r{i}" for i in range(17)])
    assert len(partitions) == 1530
    statements = add_partition_statements("gd_findings", partitions)
    assert len(statements) == 16
    for statement in statements:
        assert statement.count("PARTITION (") <= 100
        assert len(statement.encode()) < MAX_QUERY_BYTES // 2
        assert statement.startswith("ALTER TABLE `gd_findings` ADD IF NOT EXISTS")
    assert sum(s.count("PARTITION (") for s in statements) == 1530


def test_long_prefixes_split_statements_by_bytes():
    long_prefix = "p" * 900
    partitions = [part("us-east-1", DAY0 + dt.timedelta(days=i), prefix=long_prefix) for i in range(100)]
    statements = add_partition_statements("gd_findings", partitions, max_bytes=40_000)
    assert len(statements) > 1
    assert all(len(s.encode()) <= 40_000 for s in statements)
    assert sum(s.count("PARTITION (") for s in statements) == 100
    with pytest.raises(QueryError, match="byte"):
        add_partition_statements("gd_findings", partitions, max_bytes=500)
    with pytest.raises(QueryError, match="out of range"):
        add_partition_statements("gd_findings", partitions, max_partitions=101)


def test_statement_values_are_escaped_and_parse_as_one_alter():
    evil = Partition(ACCOUNT, "us-east-1", DAY0, "s3://b/it's/AWSLogs/x/")
    statement = add_partition_statements("gd_findings", [evil, part("eu-west-1", DAY0)])[0]
    assert "LOCATION 's3://b/it\\'s/AWSLogs/x/'" in statement  # Hive DDL escaping, as pyathena does it
    assert len(sqlglot.parse(statement, read="athena")) == 1
    one = add_partition_statements("gd_findings", [evil])[0]
    tree = sqlglot.parse_one(one, read="athena")
    assert isinstance(tree, exp.Alter)
    assert tree.args["actions"][0].args["location"].this.name == "s3://b/it's/AWSLogs/x/"


def test_drop_statements_list_partitions_with_commas():
    statements = drop_partition_statements("gd_findings", [p.values for p in many(3, ["us-east-1"])])
    assert len(statements) == 1
    assert statements[0].startswith("ALTER TABLE `gd_findings` DROP IF EXISTS\n  PARTITION (")
    assert statements[0].count("),\n  PARTITION (") == 2


def test_bad_table_name_is_refused_before_any_sql():
    with pytest.raises(QueryError, match="Invalid table name"):
        add_partition_statements("gd_findings`; DROP TABLE x; --", many(1, ["us-east-1"]))


def test_glue_inputs_copy_the_table_storage_with_own_locations():
    table = {"StorageDescriptor": {"Columns": [{"Name": "id", "Type": "string"}], "Location": "s3://b/AWSLogs/",
                                   "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"},
                                   "InputFormat": "in", "OutputFormat": "out"}}
    inputs = glue_partition_inputs(many(2, ["us-east-1"]), table)
    assert inputs[0]["Values"] == [ACCOUNT, "us-east-1", "2026/01/30"]
    assert inputs[1]["StorageDescriptor"]["Location"].endswith("/us-east-1/2026/01/31/")
    assert inputs[0]["StorageDescriptor"]["SerdeInfo"] == table["StorageDescriptor"]["SerdeInfo"]


# -- against the sandbox: discovery and Glue --------------------------------------------------------------------

def _write_layout(bucket: str, regions: list[str], days: int, objects_per_day: int, prefix: str = "") -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    for region in regions:
        for i in range(days):
            day = DAY0 + dt.timedelta(days=i)
            for n in range(objects_per_day):
                row = sup.finding(f"f{region}{i}{n}", "Recon:EC2/Portscan", region=region,
                                  updated=f"{day.isoformat()}T00:00:00.000Z")
                sup.put_export_object(bucket, [row], account=ACCOUNT, region=region, day=day, prefix=prefix, s3=s3)


def test_discovery_lists_prefixes_not_objects(clean_sandbox):
    sup.create_bucket("disc-sparse", "us-east-1")
    sup.create_bucket("disc-dense", "us-east-1")
    _write_layout("disc-sparse", ["us-east-1", "eu-west-1"], days=5, objects_per_day=1)
    _write_layout("disc-dense", ["us-east-1", "eu-west-1"], days=5, objects_per_day=6)
    sparse = discover_partitions(sup.settings(bucket="disc-sparse"))
    dense = discover_partitions(sup.settings(bucket="disc-dense"))
    assert [p.values for p in sparse.partitions] == [p.values for p in dense.partitions]
    assert len(dense.partitions) == 10
    # accounts (1) + regions (1) + years (2) + months (2 regions x Jan, Feb = 4) + days (4)... but never per object
    assert sparse.list_calls == dense.list_calls == 1 + 1 + 2 + 2 + 4
    assert dense.partitions[0].location == f"s3://disc-dense/AWSLogs/{ACCOUNT}/GuardDuty/eu-west-1/2026/01/30/"


def test_discovery_skips_what_is_not_the_layout_and_honours_filters(clean_sandbox):
    sup.create_bucket("disc-odd", "us-east-1")
    _write_layout("disc-odd", ["us-east-1", "ap-northeast-1"], days=3, objects_per_day=1, prefix="gd")
    s3 = boto3.client("s3", region_name="us-east-1")
    for key in ("gd/AWSLogs/notanaccount/x.json", f"gd/AWSLogs/{ACCOUNT}/GuardDuty/moon-1/2026/01/30/x",
                f"gd/AWSLogs/{ACCOUNT}/GuardDuty/us-east-1/2026/13/01/x", f"gd/AWSLogs/{ACCOUNT}/CloudTrail/x"):
        s3.put_object(Bucket="disc-odd", Key=key, Body=b"{}")
    found = discover_partitions(sup.settings(bucket="disc-odd", prefix="gd"))
    assert len(found.partitions) == 6
    assert [p.values[1:] for p in found.in_window((DAY0 + dt.timedelta(days=2), DAY0 + dt.timedelta(days=9)))] == [
        ("ap-northeast-1", "2026/02/01"), ("us-east-1", "2026/02/01")]
    assert found.records()["partitions"] == 6 and found.records()["unknown_regions"] == []
    assert {"gd/AWSLogs/notanaccount/", f"gd/AWSLogs/{ACCOUNT}/GuardDuty/moon-1/"} <= set(found.skipped)
    limited = discover_partitions(sup.settings(bucket="disc-odd", prefix="gd"), regions=["us-east-1"],
                                  start=DAY0 + dt.timedelta(days=1))
    assert [p.values[1:] for p in limited.partitions] == [("us-east-1", "2026/01/31"), ("us-east-1", "2026/02/01")]
    assert limited.scope((ACCOUNT, "us-east-1", "2026/01/31")) and not limited.scope((ACCOUNT, "eu-west-1",
                                                                                     "2026/01/31"))


def test_a_region_folder_gdnb_does_not_know_is_registered_and_named(clean_sandbox):
    sup.create_bucket("sync-b", "us-east-1")
    _write_layout("sync-b", ["us-east-1", "xy-newplace-7"], days=2, objects_per_day=1)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.put_object(Bucket="sync-b", Key=f"AWSLogs/{ACCOUNT}/GuardDuty/not_a_region/2026/01/30/x", Body=b"{}")
    found = discover_partitions(sup.settings(bucket="sync-b"))
    assert {p.region for p in found.partitions} == {"us-east-1", "xy-newplace-7"}
    assert found.unknown_regions == ["xy-newplace-7"] and "xy-newplace-7" in found.summary()
    assert found.skipped == [f"AWSLogs/{ACCOUNT}/GuardDuty/not_a_region/"]
    _glue_table()
    report = sync_partitions(sup.settings(bucket="sync-b"), method="glue")
    assert len(report.added) == 4 and report.unknown_regions == ["xy-newplace-7"]
    assert "warning: region folder(s) xy-newplace-7 are not in gdnb's list" in str(report)
    assert "xy-newplace-7" in report._repr_html_()
    registered = registered_partitions(boto3.client("glue", region_name="us-east-1"), "guardduty", "gd_findings")
    assert (ACCOUNT, "xy-newplace-7", "2026/01/31") in registered


def _glue_table(database: str = "guardduty", table: str = "gd_findings", bucket: str = "sync-b",
                projected: bool = False) -> None:
    glue = boto3.client("glue", region_name="us-east-1")
    glue.create_database(DatabaseInput={"Name": database})
    glue.create_table(DatabaseName=database, TableInput={
        "Name": table, "TableType": "EXTERNAL_TABLE",
        "Parameters": {"projection.enabled": "true"} if projected else {"EXTERNAL": "TRUE"},
        "PartitionKeys": [{"Name": k, "Type": "string"} for k in ("account_partition", "region_partition",
                                                                   "date_partition")],
        "StorageDescriptor": {"Columns": [{"Name": "id", "Type": "string"}], "Location": f"s3://{bucket}/AWSLogs/",
                              "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"}}})


def test_glue_sync_registers_missing_then_nothing(clean_sandbox):
    sup.create_bucket("sync-b", "us-east-1")
    _write_layout("sync-b", ["us-east-1", "eu-west-1"], days=3, objects_per_day=1)
    _glue_table()
    s = sup.settings(bucket="sync-b")
    first = sync_partitions(s, method="glue")
    assert len(first.added) == 6 and first.write_calls == 1 and first.applied
    glue = boto3.client("glue", region_name="us-east-1")
    assert len(registered_partitions(glue, "guardduty", "gd_findings")) == 6
    second = sync_partitions(s, method="glue")
    assert second.added == [] and second.write_calls == 0 and not second.changed
    assert second.preview() == "nothing to register"
    assert second.registered_before == 6
    # a day disappears from S3: kept unless asked to drop, then dropped
    s3 = boto3.client("s3", region_name="us-east-1")
    for obj in s3.list_objects_v2(Bucket="sync-b", Prefix=f"AWSLogs/{ACCOUNT}/GuardDuty/eu-west-1/2026/01/30/")[
            "Contents"]:
        s3.delete_object(Bucket="sync-b", Key=obj["Key"])
    assert not sync_partitions(s, method="glue").changed
    third = sync_partitions(s, method="glue", drop_missing=True)
    assert third.dropped == [(ACCOUNT, "eu-west-1", "2026/01/30")]
    assert len(registered_partitions(glue, "guardduty", "gd_findings")) == 5


def test_dry_run_changes_nothing(clean_sandbox):
    sup.create_bucket("sync-b", "us-east-1")
    _write_layout("sync-b", ["us-east-1"], days=2, objects_per_day=1)
    _glue_table()
    report = sync_partitions(sup.settings(bucket="sync-b", apply=False), method="sql")
    assert not report.applied and len(report.added) == 2 and len(report.statements) == 1
    assert "would add 2" in report.summary()
    assert report.preview() == report.statements[0] and report.preview().startswith("ALTER TABLE `gd_findings`")
    short = report.preview(limit=40)
    assert short.startswith(report.statements[0][:40]) and "more characters" in short
    assert report.records()["added"] == 2 and report.records()["applied"] is False
    assert registered_partitions(boto3.client("glue", region_name="us-east-1"), "guardduty", "gd_findings") == {}


def test_sync_refuses_missing_and_projected_tables(clean_sandbox):
    sup.create_bucket("sync-b", "us-east-1")
    with pytest.raises(NotFoundError, match="does not exist") as err:
        sync_partitions(sup.settings(bucket="sync-b"), method="glue")
    assert "02_create_tables" in err.value.fix
    _glue_table(table="gd_findings_projected", projected=True)
    with pytest.raises(GdnbError, match="partition projection"):
        sync_partitions(sup.settings(bucket="sync-b"), table="gd_findings_projected", method="glue")
    with pytest.raises(QueryError, match="Unknown partition method"):
        sync_partitions(sup.settings(bucket="sync-b"), method="msck")


def test_cli_sync_applies_only_with_apply_true_and_reads_only_the_regions_asked_for(clean_sandbox, tmp_path, capsys):
    sup.create_bucket("sync-b", "us-east-1")
    _write_layout("sync-b", ["us-east-1", "eu-west-1"], days=2, objects_per_day=1)
    _glue_table()
    glue = boto3.client("glue", region_name="us-east-1")
    params = tmp_path / "p.yaml"
    params.write_text("bucket: sync-b\nhome_region: us-east-1\naccount_id: '123456789012'\n")  # apply: false
    assert cli_sync(["-f", str(params), "--method", "glue"]) == 0
    out = capsys.readouterr().out
    assert "would add 4" in out and "nothing was changed: apply is false" in out
    assert registered_partitions(glue, "guardduty", "gd_findings") == {}
    applying = ["-f", str(params), "--method", "glue", "-p", "apply", "true"]
    assert cli_sync([*applying, "--dry-run"]) == 0
    assert "would add 4" in capsys.readouterr().out and registered_partitions(glue, "guardduty", "gd_findings") == {}
    assert cli_sync([*applying, "-p", "regions", "[us-east-1]"]) == 0  # the help's own example
    out = capsys.readouterr().out
    assert "added 2" in out and f"added {ACCOUNT} us-east-1: 2 days 2026-01-30 .. 2026-01-31" in out
    assert {v[1] for v in registered_partitions(glue, "guardduty", "gd_findings")} == {"us-east-1"}
    assert cli_sync([*applying, "-p", "regions", "[us-east-1]"]) == 0
    assert "nothing to register" in capsys.readouterr().out
    assert cli_sync(applying) == 0
    assert "added 2" in capsys.readouterr().out and len(registered_partitions(glue, "guardduty", "gd_findings")) == 4


@pytest.mark.parametrize(("override", "named"), [
    (["-p", "bucket", "Not_A_Bucket"], "Invalid setting 'bucket'"),
    (["-p", "start", "2026-13-01"], "Invalid setting 'start'"),
    (["-p", "end", "2026-02-30"], "Invalid setting 'end'"),
    (["-p", "regions", "[us-east-1"], "Invalid setting 'regions'"),
])
def test_cli_sync_names_the_bad_setting_and_exits_2(tmp_path, capsys, override, named):
    params = tmp_path / "p.yaml"
    params.write_text("bucket: sync-b\nhome_region: us-east-1\naccount_id: '123456789012'\n")
    assert cli_sync(["-f", str(params), *override]) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err


def test_sql_sync_is_batched_and_an_interrupted_run_is_finished_by_the_next(clean_sandbox):
    from gdnb.athena import Session, ensure_workgroup
    from gdnb.tables import create_tables

    sup.create_bucket("sync-b", "us-east-1")
    sup.create_key_alias("us-east-1")
    _write_layout("sync-b", ["us-east-1", "eu-west-1"], days=3, objects_per_day=1)
    s = sup.settings(bucket="sync-b")
    ensure_workgroup(s)
    session = Session(s)
    create_tables(session, tables=("gd_findings",))
    glue = boto3.client("glue", region_name="us-east-1")

    sent = []
    real_sql = session.sql

    def interrupted_after_one(statement, *args, **kwargs):
        if sent:
            raise KeyboardInterrupt
        sent.append(statement)
        return real_sql(statement, *args, **kwargs)

    session.sql = interrupted_after_one
    with pytest.raises(KeyboardInterrupt):
        sync_partitions(s, session=session, max_partitions=4)
    assert len(registered_partitions(glue, "guardduty", "gd_findings")) == 4
    session.sql = real_sql
    # the statement that already ran runs again without error: IF NOT EXISTS
    assert session.sql(sent[0]).stats.state == "SUCCEEDED"
    finished = sync_partitions(s, session=session, max_partitions=4)
    assert len(finished.added) == 2 and finished.write_calls == 1 and finished.registered_before == 4
    registered = registered_partitions(glue, "guardduty", "gd_findings")
    assert len(registered) == 6
    assert registered[(ACCOUNT, "eu-west-1", "2026/01/31")] == (
        f"s3://sync-b/AWSLogs/{ACCOUNT}/GuardDuty/eu-west-1/2026/01/31/")
    counted = session.sql("SELECT count(*) AS n FROM gd_findings WHERE date_partition = '2026/01/31'")
    assert int(counted.frame["n"][0]) == 2
    assert not sync_partitions(s, session=session).changed
