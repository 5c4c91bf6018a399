"""gdnb.tables: the DDL rendered from the .sql templates, and the plan against the catalog."""

from __future__ import annotations

import datetime as dt

import athena_support as sup
import boto3
import pytest

from gdnb.athena import Session
from gdnb.errors import ConfigError, QueryError
from gdnb.tables import (
    DDL_DIR,
    TABLES,
    findings_root,
    glue_spec,
    parse_ddl,
    plan_tables,
    render_create_database,
    render_ddl,
    spec_differences,
)

ACCOUNT = sup.ACCOUNT
DOCS_COLUMNS = ["schemaversion", "accountid", "region", "partition", "id", "arn", "type", "resource", "service",
                "severity", "createdat", "updatedat", "title", "description"]


def test_gd_logs_is_the_docs_table_verbatim():
    s = sup.settings(bucket="my-findings")
    spec = parse_ddl(render_ddl(s, "gd_logs", ACCOUNT))
    assert [c for c, _ in spec.columns] == DOCS_COLUMNS
    assert all(t == "string" for _, t in spec.columns)
    assert spec.partition_keys == ()
    assert spec.location == f"s3://my-findings/AWSLogs/{ACCOUNT}/GuardDuty/"
    assert spec.serde == "org.openx.data.jsonserde.JsonSerDe"
    assert spec.properties == {"has_encrypted_data": "true"}
    template = (DDL_DIR / "gd_logs.sql").read_text()
    assert "CREATE EXTERNAL TABLE `gd_logs` (\n  `schemaversion` string," in template


def test_old_docs_table_differs_only_in_the_timestamp_names():
    s = sup.settings()
    new, old = (parse_ddl(render_ddl(s, t, ACCOUNT)) for t in ("gd_logs", "gd_logs_old_docs"))
    changed = [(a, b) for (a, _), (b, _) in zip(new.columns, old.columns, strict=True) if a != b]
    assert changed == [("createdat", "createdate"), ("updatedat", "updatedate")]
    assert new.location == old.location


def test_partitioned_tables_read_the_whole_awslogs_prefix():
    s = sup.settings(bucket="my-findings", prefix="gd/export")
    for table in ("gd_findings", "gd_findings_projected"):
        spec = parse_ddl(render_ddl(s, table, ACCOUNT))
        assert spec.location == "s3://my-findings/gd/export/AWSLogs/" == findings_root(s)
        assert spec.partition_keys == ("account_partition", "region_partition", "date_partition")
        assert [c for c, _ in spec.columns] == DOCS_COLUMNS
    assert parse_ddl(render_ddl(s, "gd_findings", ACCOUNT)).properties == {}


def test_projection_properties():
    s = sup.settings(bucket="my-findings", export_regions=["us-east-1", "eu-west-1", "ap-northeast-1"])
    props = parse_ddl(render_ddl(s, "gd_findings_projected", ACCOUNT, projection_start=dt.date(2025, 3, 1),
                                 projection_accounts=("111122223333",))).properties
    assert props["projection.enabled"] == "true"
    assert props["projection.account_partition.type"] == "enum"
    assert props["projection.account_partition.values"] == f"111122223333,{ACCOUNT}"
    assert props["projection.region_partition.values"] == "us-east-1,eu-west-1,ap-northeast-1"
    assert props["projection.date_partition.type"] == "date"
    assert props["projection.date_partition.format"] == "yyyy/MM/dd"
    assert props["projection.date_partition.range"] == "2025/03/01,NOW"
    assert props["storage.location.template"] == (
        "s3://my-findings/AWSLogs/${account_partition}/GuardDuty/${region_partition}/${date_partition}/")
    injected = parse_ddl(render_ddl(s, "gd_findings_projected", ACCOUNT, account_projection="injected")).properties
    assert injected["projection.account_partition.type"] == "injected"
    assert "projection.account_partition.values" not in injected


def test_a_quote_in_the_prefix_stays_inside_the_literal():
    s = sup.settings(prefix="it's")
    ddl = render_ddl(s, "gd_findings", ACCOUNT)
    assert "LOCATION 's3://gdnb-test-findings/it\\'s/AWSLogs/'" in ddl
    assert parse_ddl(ddl).location == "s3://gdnb-test-findings/it's/AWSLogs/"


def test_bad_names_are_refused():
    s = sup.settings()
    with pytest.raises(QueryError, match="no DDL for a table named 'gd_other'"):
        render_ddl(s, "gd_other", ACCOUNT)
    with pytest.raises(QueryError, match="Invalid table name"):
        render_ddl(s, "gd_logs; DROP", ACCOUNT)
    with pytest.raises(ConfigError, match="12 digits"):
        render_ddl(s, "gd_logs", "12345")
    with pytest.raises(QueryError, match="'enum' or 'injected'"):
        render_ddl(s, "gd_findings_projected", ACCOUNT, account_projection="list")
    assert render_create_database(s) .endswith("CREATE DATABASE IF NOT EXISTS guardduty")


def test_spec_differences_name_what_changed():
    s = sup.settings()
    wanted = parse_ddl(render_ddl(s, "gd_findings_projected", ACCOUNT))
    glue_table = {"Name": "gd_findings_projected", "PartitionKeys": [{"Name": "account_partition"},
                                                                      {"Name": "region_partition"},
                                                                      {"Name": "date_partition"}],
                  "StorageDescriptor": {"Columns": [{"Name": c, "Type": "string"} for c, _ in wanted.columns],
                                        "Location": wanted.location,
                                        "SerdeInfo": {"SerializationLibrary": wanted.serde}},
                  "Parameters": {**wanted.properties, "EXTERNAL": "TRUE"}}
    assert spec_differences(wanted, glue_spec(glue_table)) == []
    glue_table["Parameters"]["projection.region_partition.values"] = "us-east-1,eu-west-1"
    glue_table["StorageDescriptor"]["Location"] = "s3://old/AWSLogs"
    diff = spec_differences(wanted, glue_spec(glue_table))
    assert diff == ["location: s3://old/AWSLogs -> s3://gdnb-test-findings/AWSLogs/",
                    "projection.region_partition.values: 'us-east-1,eu-west-1' -> 'us-east-1'"]


def test_plan_on_an_empty_catalog_creates_everything(clean_sandbox):
    session = Session(sup.settings(apply=False))
    plan = plan_tables(session)
    assert [(a.step, a.resource, a.change) for a in plan.actions] == [
        ("athena database", "guardduty", "create")] + [("athena table", f"guardduty.{t}", "create") for t in TABLES]
    assert set(plan.outputs["ddl"]) == set(TABLES)
    assert session.history.empty  # planning runs no query


def test_plan_sees_a_table_with_the_old_shape(clean_sandbox):
    glue = boto3.client("glue", region_name="us-east-1")
    glue.create_database(DatabaseInput={"Name": "guardduty"})
    s = sup.settings(apply=False)
    wanted = parse_ddl(render_ddl(s, "gd_logs", ACCOUNT))
    columns = [{"Name": c.replace("createdat", "createdate"), "Type": "string"} for c, _ in wanted.columns]
    glue.create_table(DatabaseName="guardduty", TableInput={
        "Name": "gd_logs", "Parameters": dict(wanted.properties),
        "StorageDescriptor": {"Columns": columns, "Location": wanted.location,
                              "SerdeInfo": {"SerializationLibrary": wanted.serde}}})
    plan = plan_tables(Session(s), tables=("gd_logs",))
    action = plan.actions[1]
    assert (action.resource, action.change) == ("guardduty.gd_logs", "update")
    assert "replace (DROP TABLE, CREATE): columns: missing ['createdat'], unexpected ['createdate']" in action.detail
