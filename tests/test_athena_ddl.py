"""Athena DDL and utility statements on the local engine: what lands in the catalog (as Glue holds
it), what Athena prints, and how it fails."""

from __future__ import annotations

import base64
import json

import boto3
import pytest
from athena_engine_support import NOW, RecordingExecutor, local_engine_at, write_object
from moto import mock_aws

from gdnb.sandbox.athena.catalog import GlueCatalog
from gdnb.sandbox.athena.engine import Engine
from gdnb.sandbox.athena.errors import AthenaSqlError
from gdnb.sandbox.athena.statements import InvalidRequest
from gdnb.sandbox.athena.storage import MotoS3Store

GD_DDL = """CREATE EXTERNAL TABLE `gd_logs` (
  `schemaversion` string,
  `accountid` string,
  `region` string,
  `partition` string,
  `id` string,
  `arn` string,
  `type` string,
  `resource` string,
  `service` string,
  `severity` string,
  `createdat` string,
  `updatedat` string,
  `title` string,
  `description` string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://findings/AWSLogs/123456789012/GuardDuty/'
TBLPROPERTIES ('has_encrypted_data'='true')"""

PARTITIONED_DDL = """CREATE EXTERNAL TABLE IF NOT EXISTS gd.findings (
  id string COMMENT 'finding id',
  resource struct<resourcetype:string,
    instancedetails:struct<instanceid:string,tags:array<struct<key:string,value:string>>>>,
  labels map<string,string>,
  score decimal(10,2))
COMMENT 'GuardDuty findings'
PARTITIONED BY (region string, dt string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' WITH SERDEPROPERTIES ('ignore.malformed.json'='true')
STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://findings/AWSLogs/123456789012/GuardDuty/'
TBLPROPERTIES ('has_encrypted_data'='true', 'classification'='json')"""


@pytest.fixture()
def engine(tmp_path):
    eng = local_engine_at(tmp_path)
    eng.execute("CREATE DATABASE gd", now=NOW)
    return eng


def run(engine: Engine, sql: str, database: str | None = "gd", **kw):
    return engine.execute(sql, database=database, now=NOW, **kw)


def lines(outcome) -> list[str]:
    return [row[0] for row in outcome.rows]


def sql_error(excinfo) -> AthenaSqlError:
    return excinfo.value


# ------------------------------------------------------------------------------------------------
# Databases
# ------------------------------------------------------------------------------------------------


def test_create_database_stores_comment_location_and_properties(engine):
    run(engine, "CREATE SCHEMA IF NOT EXISTS audit COMMENT 'audit data' LOCATION 's3://b/audit/' "
                "WITH DBPROPERTIES ('owner'='secops')")
    db = engine.catalog.get_database("audit")
    assert (db["Name"], db["Description"], db["LocationUri"], db["Parameters"]) == (
        "audit", "audit data", "s3://b/audit/", {"owner": "secops"})
    assert run(engine, "CREATE DATABASE IF NOT EXISTS audit").rows == []


def test_create_existing_database_fails_like_hive(engine):
    with pytest.raises(AthenaSqlError) as excinfo:
        run(engine, "CREATE DATABASE gd")
    assert excinfo.value.reason == (
        "FAILED: Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask."
        " AlreadyExistsException(message:Database gd already exists)")


def test_drop_database_refuses_a_non_empty_one_unless_cascade(engine):
    run(engine, GD_DDL)
    with pytest.raises(AthenaSqlError, match="Database gd is not empty"):
        run(engine, "DROP DATABASE gd")
    run(engine, "DROP DATABASE gd CASCADE")
    assert [d["Name"] for d in engine.catalog.list_databases()] == []


def test_drop_missing_database(engine):
    assert run(engine, "DROP SCHEMA IF EXISTS nope").rows == []
    with pytest.raises(AthenaSqlError) as excinfo:
        run(engine, "DROP DATABASE nope")
    assert excinfo.value.reason == "FAILED: SemanticException [Error 10072]: Database does not exist: nope"


# ------------------------------------------------------------------------------------------------
# CREATE / DROP TABLE
# ------------------------------------------------------------------------------------------------


def test_create_external_table_is_stored_the_way_athena_writes_glue(engine):
    outcome = run(engine, GD_DDL)
    assert (outcome.statement_type, outcome.rows, outcome.data_scanned_bytes) == ("DDL", [], 0)
    table = engine.catalog.get_table("gd", "gd_logs")
    sd = table["StorageDescriptor"]
    assert table["TableType"] == "EXTERNAL_TABLE"
    assert table["Parameters"]["EXTERNAL"] == "TRUE"
    assert table["Parameters"]["has_encrypted_data"] == "true"
    assert table["Parameters"]["transient_lastDdlTime"] == str(int(NOW.timestamp()))
    assert table["PartitionKeys"] == []
    assert [c["Name"] for c in sd["Columns"]][:3] == ["schemaversion", "accountid", "region"]
    assert {c["Type"] for c in sd["Columns"]} == {"string"}
    assert sd["Location"] == "s3://findings/AWSLogs/123456789012/GuardDuty/"
    assert sd["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"
    assert sd["OutputFormat"] == "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
    assert sd["SerdeInfo"] == {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe",
                               "Parameters": {"serialization.format": "1"}}


def test_create_table_with_nested_types_comments_partitions_and_serde_properties(engine):
    run(engine, PARTITIONED_DDL)
    table = engine.catalog.get_table("gd", "findings")
    cols = {c["Name"]: c for c in table["StorageDescriptor"]["Columns"]}
    assert cols["id"] == {"Name": "id", "Type": "string", "Comment": "finding id"}
    assert cols["resource"]["Type"] == ("struct<resourcetype:string,instancedetails:struct<instanceid:string,"
                                        "tags:array<struct<key:string,value:string>>>>")
    assert cols["labels"]["Type"] == "map<string,string>"
    assert cols["score"]["Type"] == "decimal(10,2)"
    assert table["PartitionKeys"] == [{"Name": "region", "Type": "string"}, {"Name": "dt", "Type": "string"}]
    assert table["Parameters"]["comment"] == "GuardDuty findings"
    assert table["Parameters"]["classification"] == "json"
    assert table["StorageDescriptor"]["SerdeInfo"]["Parameters"] == {
        "ignore.malformed.json": "true", "serialization.format": "1"}


def test_stored_as_parquet_and_row_format_delimited(engine):
    run(engine, "CREATE EXTERNAL TABLE p (a int) STORED AS PARQUET LOCATION 's3://b/p/'")
    run(engine, "CREATE EXTERNAL TABLE c (a string, b bigint) ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' "
                "STORED AS TEXTFILE LOCATION 's3://b/c/'")
    p = engine.catalog.get_table("gd", "p")["StorageDescriptor"]
    c = engine.catalog.get_table("gd", "c")["StorageDescriptor"]
    assert p["SerdeInfo"]["SerializationLibrary"] == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    assert p["InputFormat"] == "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    assert c["SerdeInfo"] == {"SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                              "Parameters": {"field.delim": ",", "serialization.format": ","}}


def test_create_table_twice(engine):
    run(engine, GD_DDL)
    with pytest.raises(AthenaSqlError) as excinfo:
        run(engine, GD_DDL)
    assert excinfo.value.reason.endswith("AlreadyExistsException(message:Table gd_logs already exist)")
    assert run(engine, GD_DDL.replace("EXTERNAL TABLE", "EXTERNAL TABLE IF NOT EXISTS")).rows == []


def test_create_table_in_a_missing_database(engine):
    with pytest.raises(AthenaSqlError) as excinfo:
        run(engine, GD_DDL.replace("`gd_logs`", "nodb.gd_logs"))
    assert excinfo.value.reason == "FAILED: SemanticException [Error 10072]: Database does not exist: nodb"


def test_create_table_without_location_is_refused_before_running(engine):
    sql = "CREATE EXTERNAL TABLE t (a string)"
    with pytest.raises(InvalidRequest) as excinfo:
        engine.statement_type(sql)
    assert excinfo.value.message == "No location was specified for table. An S3 location must be specified"
    assert engine.catalog.list_tables("gd") == []


def test_drop_table(engine):
    run(engine, GD_DDL)
    run(engine, "DROP TABLE gd_logs")
    assert engine.catalog.list_tables("gd") == []
    assert run(engine, "DROP TABLE IF EXISTS gd_logs").rows == []
    with pytest.raises(AthenaSqlError) as excinfo:
        run(engine, "DROP TABLE gd.gd_logs")
    assert excinfo.value.reason == "FAILED: SemanticException [Error 10001]: Table not found gd_logs"


# ------------------------------------------------------------------------------------------------
# ALTER TABLE ... PARTITION
# ------------------------------------------------------------------------------------------------


def _add_partitions_sql(n: int) -> str:
    parts = []
    for i in range(n):
        day = f"2026/{1 + i // 28:02d}/{1 + i % 28:02d}"
        parts.append(f"PARTITION (region='us-east-1', dt='{day}') "
                     f"LOCATION 's3://findings/AWSLogs/123456789012/GuardDuty/us-east-1/{day}/'")
    return "ALTER TABLE findings ADD IF NOT EXISTS\n" + "\n".join(parts)


@pytest.mark.parametrize("n", [1, 3, 150])
def test_add_many_partitions_in_one_statement(engine, n):
    run(engine, PARTITIONED_DDL)
    assert run(engine, _add_partitions_sql(n)).rows == []
    parts = engine.catalog.get_partitions("gd", "findings")
    assert len(parts) == n
    first = parts[0]
    assert first["Values"] == ["us-east-1", "2026/01/01"]
    assert first["StorageDescriptor"]["Location"] == "s3://findings/AWSLogs/123456789012/GuardDuty/us-east-1/2026/01/01/"
    # Athena copies the table's storage descriptor (columns, SerDe) into each partition.
    assert first["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert run(engine, _add_partitions_sql(n)).rows == []  # IF NOT EXISTS: a second run changes nothing
    assert len(engine.catalog.get_partitions("gd", "findings")) == n


def test_add_existing_partition_without_if_not_exists_adds_none(engine):
    run(engine, PARTITIONED_DDL)
    run(engine, "ALTER TABLE findings ADD PARTITION (region='a', dt='1')")
    with pytest.raises(AthenaSqlError, match=r"AlreadyExistsException\(message:Partition already exists.\)"):
        run(engine, "ALTER TABLE findings ADD PARTITION (region='b', dt='1') PARTITION (region='a', dt='1')")
    assert [p["Values"] for p in engine.catalog.get_partitions("gd", "findings")] == [["a", "1"]]


def test_add_partition_without_location_uses_the_hive_path(engine):
    run(engine, PARTITIONED_DDL)
    run(engine, "ALTER TABLE gd.findings ADD PARTITION (DT='2026/12/01', region='us-east-1')")
    part = engine.catalog.get_partitions("gd", "findings")[0]
    assert part["Values"] == ["us-east-1", "2026/12/01"]
    assert part["StorageDescriptor"]["Location"] == (
        "s3://findings/AWSLogs/123456789012/GuardDuty/region=us-east-1/dt=2026%2F12%2F01")


def test_partition_spec_errors(engine):
    run(engine, PARTITIONED_DDL)
    with pytest.raises(AthenaSqlError, match="contains non-partition columns"):
        run(engine, "ALTER TABLE findings ADD PARTITION (day='1', region='x')")
    with pytest.raises(AthenaSqlError, match=r"doesn't contain all \(2\) partition columns"):
        run(engine, "ALTER TABLE findings ADD PARTITION (region='x')")
    with pytest.raises(AthenaSqlError) as excinfo:
        run(engine, "ALTER TABLE nope ADD PARTITION (region='x', dt='y')")
    assert excinfo.value.reason == "FAILED: SemanticException [Error 10001]: Table not found nope"
    assert engine.catalog.get_partitions("gd", "findings") == []


def test_drop_partitions(engine):
    run(engine, PARTITIONED_DDL)
    run(engine, _add_partitions_sql(5))
    run(engine, "ALTER TABLE findings DROP PARTITION (region='us-east-1', dt='2026/01/01'), "
                "PARTITION (region='us-east-1', dt='2026/01/02')")
    assert len(engine.catalog.get_partitions("gd", "findings")) == 3
    with pytest.raises(AthenaSqlError) as excinfo:
        run(engine, "ALTER TABLE findings DROP PARTITION (region='us-east-1', dt='2026/01/01')")
    assert excinfo.value.reason == (
        "FAILED: SemanticException [Error 10006]: Partition not found (region = 'us-east-1', dt = '2026/01/01')")
    run(engine, "ALTER TABLE findings DROP IF EXISTS PARTITION (region='us-east-1', dt='2026/01/01')")
    run(engine, "ALTER TABLE findings DROP PARTITION (region='us-east-1')")  # a partial spec drops all matches
    assert engine.catalog.get_partitions("gd", "findings") == []


def test_set_tblproperties_location_and_partition_location(engine):
    run(engine, PARTITIONED_DDL)
    run(engine, "ALTER TABLE findings ADD PARTITION (region='a', dt='1') LOCATION 's3://findings/old/'")
    run(engine, "ALTER TABLE findings SET TBLPROPERTIES ('projection.enabled'='false', 'classification'='gd')")
    run(engine, "ALTER TABLE findings SET LOCATION 's3://findings/new/'")
    run(engine, "ALTER TABLE findings PARTITION (region='a', dt='1') SET LOCATION 's3://findings/moved/'")
    table = engine.catalog.get_table("gd", "findings")
    assert table["Parameters"]["projection.enabled"] == "false"
    assert table["Parameters"]["classification"] == "gd"
    assert table["Parameters"]["EXTERNAL"] == "TRUE"
    assert table["StorageDescriptor"]["Location"] == "s3://findings/new/"
    assert engine.catalog.get_partitions("gd", "findings")[0]["StorageDescriptor"]["Location"] == "s3://findings/moved/"


def test_add_and_replace_columns(engine):
    run(engine, GD_DDL)
    run(engine, "ALTER TABLE gd_logs ADD COLUMNS (extra string COMMENT 'new', n bigint)")
    cols = engine.catalog.get_table("gd", "gd_logs")["StorageDescriptor"]["Columns"]
    assert cols[-2:] == [{"Name": "extra", "Type": "string", "Comment": "new"}, {"Name": "n", "Type": "bigint"}]
    with pytest.raises(AthenaSqlError, match="Duplicate column name: extra"):
        run(engine, "ALTER TABLE gd_logs ADD COLUMNS (extra int)")
    run(engine, "ALTER TABLE gd_logs REPLACE COLUMNS (id string)")
    assert engine.catalog.get_table("gd", "gd_logs")["StorageDescriptor"]["Columns"] == [
        {"Name": "id", "Type": "string"}]


# ------------------------------------------------------------------------------------------------
# MSCK REPAIR TABLE
# ------------------------------------------------------------------------------------------------


def test_msck_finds_nothing_in_the_guardduty_date_layout(tmp_path):
    engine = local_engine_at(tmp_path)
    run(engine, "CREATE DATABASE gd")
    run(engine, PARTITIONED_DDL)
    write_object(tmp_path, "findings", "AWSLogs/123456789012/GuardDuty/us-east-1/2026/12/01/a.jsonl.gz", 10)
    assert run(engine, "MSCK REPAIR TABLE findings").rows == []
    assert engine.catalog.get_partitions("gd", "findings") == []


def test_msck_registers_hive_style_folders(tmp_path):
    engine = local_engine_at(tmp_path)
    run(engine, "CREATE DATABASE gd")
    run(engine, "CREATE EXTERNAL TABLE logs (a string) PARTITIONED BY (region string, dt string) "
                "LOCATION 's3://findings/logs/'")
    write_object(tmp_path, "findings", "logs/region=us-east-1/dt=2026-12-01/a.json", 5)
    write_object(tmp_path, "findings", "logs/region=us-east-1/dt=2026-12-02/sub/b.json", 5)
    write_object(tmp_path, "findings", "logs/region=eu-west-1/dt=2026-12-01/c.json", 5)
    write_object(tmp_path, "findings", "logs/dt=2026-12-01/region=x/wrong-order.json", 5)
    write_object(tmp_path, "findings", "logs/_tmp/region=x/dt=y/hidden.json", 5)
    run(engine, "ALTER TABLE logs ADD PARTITION (region='eu-west-1', dt='2026-12-01')")
    out = lines(run(engine, "MSCK REPAIR TABLE gd.logs"))
    assert out == [
        "Partitions not in metastore:\tlogs:region=us-east-1/dt=2026-12-01\tlogs:region=us-east-1/dt=2026-12-02",
        "Repair: Added partition to metastore gd.logs:region=us-east-1/dt=2026-12-01",
        "Repair: Added partition to metastore gd.logs:region=us-east-1/dt=2026-12-02",
    ]
    parts = {tuple(p["Values"]): p["StorageDescriptor"]["Location"]
             for p in engine.catalog.get_partitions("gd", "logs")}
    assert parts[("us-east-1", "2026-12-02")] == "s3://findings/logs/region=us-east-1/dt=2026-12-02"
    assert len(parts) == 3
    assert run(engine, "MSCK REPAIR TABLE logs").rows == []  # nothing left to add


def test_msck_reports_missing_table_folder_and_missing_partitions(tmp_path):
    engine = local_engine_at(tmp_path)
    run(engine, "CREATE DATABASE gd")
    run(engine, "CREATE EXTERNAL TABLE logs (a string) PARTITIONED BY (dt string) LOCATION 's3://findings/logs/'")
    (tmp_path / "findings").mkdir()
    assert lines(run(engine, "MSCK REPAIR TABLE logs")) == ["Tables missing on filesystem:\tlogs"]
    write_object(tmp_path, "findings", "logs/dt=1/a.json", 5)
    run(engine, "ALTER TABLE logs ADD PARTITION (dt='2')")
    assert lines(run(engine, "MSCK REPAIR TABLE logs")) == [
        "Partitions not in metastore:\tlogs:dt=1",
        "Partitions missing from filesystem:\tlogs:dt=2",
        "Repair: Added partition to metastore logs:dt=1",
    ]


# ------------------------------------------------------------------------------------------------
# SHOW / DESCRIBE
# ------------------------------------------------------------------------------------------------


def test_show_databases_and_tables_with_patterns(engine):
    run(engine, "CREATE DATABASE audit")
    run(engine, GD_DDL)
    run(engine, PARTITIONED_DDL)
    run(engine, "CREATE EXTERNAL TABLE other (a string) LOCATION 's3://b/o/'")
    assert lines(run(engine, "SHOW DATABASES")) == ["audit", "gd"]
    assert lines(run(engine, "SHOW SCHEMAS LIKE 'g*'")) == ["gd"]
    assert lines(run(engine, "SHOW TABLES")) == ["findings", "gd_logs", "other"]
    assert lines(run(engine, "SHOW TABLES IN gd 'gd*|oth*'")) == ["gd_logs", "other"]
    assert lines(run(engine, "SHOW TABLES FROM audit")) == []
    assert run(engine, "SHOW TABLES").statement_type == "UTILITY"
    with pytest.raises(AthenaSqlError, match="Database does not exist: nope"):
        run(engine, "SHOW TABLES IN nope")


def test_show_partitions_prints_hive_partition_names(engine):
    run(engine, PARTITIONED_DDL)
    run(engine, _add_partitions_sql(2))
    assert lines(run(engine, "SHOW PARTITIONS findings")) == [
        "region=us-east-1/dt=2026%2F01%2F01", "region=us-east-1/dt=2026%2F01%2F02"]
    run(engine, GD_DDL)
    with pytest.raises(AthenaSqlError, match="Table gd_logs is not a partitioned table"):
        run(engine, "SHOW PARTITIONS gd_logs")


def test_show_create_table_prints_hive_ddl(engine):
    run(engine, PARTITIONED_DDL)
    text = "\n".join(lines(run(engine, "SHOW CREATE TABLE gd.findings")))
    assert text.startswith("CREATE EXTERNAL TABLE `gd.findings`(\n  `id` string COMMENT 'finding id', \n"
                           "  `resource` struct<resourcetype:string,")
    assert "  `labels` map<string,string> COMMENT 'from deserializer', \n" in text
    assert "COMMENT 'GuardDuty findings'\nPARTITIONED BY ( \n  `region` string, \n  `dt` string)\n" in text
    assert ("ROW FORMAT SERDE \n  'org.openx.data.jsonserde.JsonSerDe' \nWITH SERDEPROPERTIES ( \n"
            "  'ignore.malformed.json'='true') \nSTORED AS INPUTFORMAT \n") in text
    assert text.endswith("LOCATION\n  's3://findings/AWSLogs/123456789012/GuardDuty/'\nTBLPROPERTIES (\n"
                         "  'classification'='json', \n  'has_encrypted_data'='true', \n"
                         f"  'transient_lastDdlTime'='{int(NOW.timestamp())}')")


def test_show_columns_tblproperties_and_describe(engine):
    run(engine, "CREATE EXTERNAL TABLE t (n int, s string COMMENT 'the s column') PARTITIONED BY (p string) "
                "LOCATION 's3://b/t/' TBLPROPERTIES ('note'='x')")
    assert lines(run(engine, "SHOW COLUMNS IN t")) == ["n".ljust(20), "s".ljust(20), "p".ljust(20)]
    assert lines(run(engine, "SHOW COLUMNS FROM t IN gd")) == ["n".ljust(20), "s".ljust(20), "p".ljust(20)]
    assert lines(run(engine, "SHOW TBLPROPERTIES t")) == [
        "EXTERNAL\tTRUE", f"transient_lastDdlTime\t{int(NOW.timestamp())}", "note\tx"]
    assert lines(run(engine, "SHOW TBLPROPERTIES t('note')")) == ["x"]
    described = run(engine, "DESCRIBE t")
    assert [c.name for c in described.columns] == ["col_name", "data_type", "comment"]
    assert lines(described) == [
        "n                   \tint                 \t                    ",
        "s                   \tstring              \tthe s column        ",
        "p                   \tstring              \t                    ",
        "\t \t ",
        "# Partition Information\t \t ",
        "# col_name            \tdata_type           \tcomment             ",
        "\t \t ",
        "p                   \tstring              \t                    ",
    ]
    formatted = lines(run(engine, "DESCRIBE FORMATTED gd.t"))
    assert formatted[:3] == ["# col_name            \tdata_type           \tcomment             ", "\t \t ",
                             "n                   \tint                 \t                    "]
    assert "Table Type:         \tEXTERNAL_TABLE      \t " in formatted
    extended = lines(run(engine, "DESCRIBE EXTENDED t"))
    assert extended[-1].startswith("Detailed Table Information\tTable(tableName:t, dbName:gd, ")
    with pytest.raises(AthenaSqlError) as excinfo:
        run(engine, "DESCRIBE nope")
    assert excinfo.value.reason == "FAILED: SemanticException [Error 10001]: Table not found nope"


# ------------------------------------------------------------------------------------------------
# Views
# ------------------------------------------------------------------------------------------------


def test_views_are_stored_as_presto_views_and_inlined(tmp_path):
    executor = RecordingExecutor()
    engine = local_engine_at(tmp_path, executor)
    run(engine, "CREATE DATABASE gd")
    run(engine, PARTITIONED_DDL)
    run(engine, "CREATE VIEW recent AS SELECT id, dt FROM findings WHERE region = 'us-east-1'")
    table = engine.catalog.get_table("gd", "recent")
    assert table["TableType"] == "VIRTUAL_VIEW"
    assert table["Parameters"]["presto_view"] == "true"
    assert table["ViewExpandedText"] == "/* Presto View */"
    blob = table["ViewOriginalText"]
    assert blob.startswith("/* Presto View: ") and blob.endswith(" */")
    payload = json.loads(base64.b64decode(blob[len("/* Presto View: "):-3]))
    assert payload["originalSql"] == "SELECT id, dt FROM findings WHERE region = 'us-east-1'"
    assert (payload["catalog"], payload["schema"]) == ("awsdatacatalog", "gd")
    assert [c["name"] for c in payload["columns"]] == ["id", "dt"]

    run(engine, "SELECT * FROM recent r WHERE r.dt = '2026/12/01'", database="gd")
    query = executor.calls[-1][0]
    assert "FROM (SELECT id, dt FROM gd.findings WHERE region = 'us-east-1') AS r" in query
    assert set(executor.last_tables) == {("gd", "findings")}
    assert lines(run(engine, "DESCRIBE recent")) == ["id\tvarchar", "dt\tvarchar"]
    assert lines(run(engine, "SHOW VIEWS")) == ["recent"]
    assert lines(run(engine, "SHOW TABLES")) == ["findings", "recent"]
    assert lines(run(engine, "SHOW CREATE VIEW recent")) == [
        "CREATE VIEW gd.recent AS", "SELECT id, dt FROM findings WHERE region = 'us-east-1'"]

    with pytest.raises(AthenaSqlError) as excinfo:
        run(engine, "CREATE VIEW recent AS SELECT 1 AS x")
    assert excinfo.value.reason == "TABLE_ALREADY_EXISTS: line 1:1: View already exists: 'awsdatacatalog.gd.recent'"
    run(engine, "CREATE OR REPLACE VIEW recent AS SELECT id FROM findings")
    assert json.loads(base64.b64decode(engine.catalog.get_table("gd", "recent")["ViewOriginalText"][16:-3]))[
        "originalSql"] == "SELECT id FROM findings"
    with pytest.raises(AthenaSqlError, match="To drop a view, use DROP VIEW"):
        run(engine, "DROP TABLE recent")
    run(engine, "DROP VIEW recent")
    run(engine, "DROP VIEW IF EXISTS recent")
    with pytest.raises(AthenaSqlError, match=r"View 'awsdatacatalog\.gd\.recent' does not exist"):
        run(engine, "DROP VIEW recent")


def test_view_over_a_missing_table_is_refused(engine):
    with pytest.raises(AthenaSqlError) as excinfo:
        run(engine, "CREATE VIEW v AS SELECT * FROM nope")
    assert excinfo.value.reason == "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.gd.nope' does not exist"
    assert engine.catalog.list_tables("gd") == []


# ------------------------------------------------------------------------------------------------
# Statement types, syntax errors, refusals
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT 1", "DML"),
    ("-- leading comment\nWITH x AS (SELECT 1) SELECT * FROM x", "DML"),
    ("/* SHOW TABLES */ SELECT 1", "DML"),
    ("VALUES 1, 2", "DML"),
    ("INSERT INTO t SELECT 1", "DML"),
    ("EXPLAIN SELECT 1", "DML"),
    ("SHOW TABLES", "UTILITY"),
    ("-- SELECT\nSHOW PARTITIONS t", "UTILITY"),
    ("DESCRIBE t", "UTILITY"),
    ("SHOW CREATE TABLE t", "UTILITY"),
    ("CREATE DATABASE x", "DDL"),
    (GD_DDL, "DDL"),
    ("CREATE TABLE x AS SELECT 1", "DDL"),
    ("DROP TABLE IF EXISTS t", "DDL"),
    ("ALTER TABLE t ADD PARTITION (dt='a') PARTITION (dt='b')", "DDL"),
    ("MSCK REPAIR TABLE t", "DDL"),
    ("CREATE OR REPLACE VIEW v AS SELECT 1 AS a", "DDL"),
])
def test_statement_types(engine, sql, expected):
    assert engine.statement_type(sql) == expected


def test_several_statements_are_refused(engine):
    for sql in ("SELECT 1; SELECT 2", "SHOW TABLES; SHOW DATABASES", "MSCK REPAIR TABLE t; SELECT 1"):
        with pytest.raises(InvalidRequest) as excinfo:
            engine.statement_type(sql)
        assert excinfo.value.message == f"Only one sql statement is allowed. Got: {sql}"
    assert engine.statement_type("SELECT 1;") == "DML"


def test_syntax_errors_carry_line_and_column(engine):
    with pytest.raises(AthenaSqlError) as excinfo:
        engine.statement_type("SELECT a\nFROM t WHERE")
    err = excinfo.value
    assert (err.kind, err.line, err.column) == ("SYNTAX_ERROR", 2, 8)
    assert err.reason.startswith("line 2:8: mismatched input 'WHERE'")
    with pytest.raises(InvalidRequest) as excinfo:
        engine.statement_type("USE gd")
    assert excinfo.value.message == "Queries of this type are not supported"


@pytest.mark.parametrize(("sql", "what"), [
    ("CREATE TABLE x AS SELECT 1", "CREATE TABLE AS SELECT"),
    ("INSERT INTO t SELECT 1", "INSERT"),
    ("EXPLAIN SELECT 1", "EXPLAIN"),
])
def test_unsupported_statements_name_themselves(engine, sql, what):
    with pytest.raises(AthenaSqlError) as excinfo:
        run(engine, sql)
    assert excinfo.value.kind == "NOT_SUPPORTED"
    assert what in excinfo.value.message


# ------------------------------------------------------------------------------------------------
# Queries: name resolution and execution parameters
# ------------------------------------------------------------------------------------------------


def test_missing_tables_and_schemas_fail_with_positions(engine):
    with pytest.raises(AthenaSqlError) as excinfo:
        run(engine, "SELECT * FROM nope")
    assert excinfo.value.reason == "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.gd.nope' does not exist"
    with pytest.raises(AthenaSqlError) as excinfo:
        run(engine, "SELECT *\n  FROM nodb.t")
    assert excinfo.value.reason == "SCHEMA_NOT_FOUND: line 2:8: Schema 'nodb' does not exist"
    with pytest.raises(AthenaSqlError) as excinfo:
        run(engine, "SELECT * FROM t", database=None)
    assert excinfo.value.kind == "MISSING_SCHEMA_NAME"
    with pytest.raises(AthenaSqlError) as excinfo:
        run(engine, "SELECT * FROM other.gd.t")
    assert excinfo.value.reason == "CATALOG_NOT_FOUND: line 1:15: Catalog 'other' does not exist"


def test_execution_parameters_are_bound_like_athena(tmp_path):
    executor = RecordingExecutor()
    engine = local_engine_at(tmp_path, executor)
    (tmp_path / "findings").mkdir()
    run(engine, "CREATE DATABASE gd")
    run(engine, GD_DDL)
    run(engine, "SELECT * FROM gd_logs WHERE type = ? AND severity > ? AND title = ? AND id <> '?'",
        execution_parameters=["'Recon:EC2/PortProbeUnprotectedPort'", "5.0", "free text"])
    query = executor.calls[-1][0]
    assert "type = 'Recon:EC2/PortProbeUnprotectedPort'" in query
    assert "severity > 5.0" in query
    assert "title = 'free text'" in query
    assert "id <> '?'" in query
    with pytest.raises(AthenaSqlError) as excinfo:
        run(engine, "SELECT * FROM gd_logs WHERE type = ?")
    assert excinfo.value.reason == (
        "INVALID_PARAMETER_USAGE: line 1:1: Incorrect number of parameters: expected 1 but found 0")
    run(engine, "SELECT count(*) FROM gd_logs", execution_parameters=["'ignored'"])


# ------------------------------------------------------------------------------------------------
# Glue: Athena DDL and the Glue API see each other's changes
# ------------------------------------------------------------------------------------------------


@mock_aws
def test_glue_api_sees_ddl_made_tables_and_partitions(in_process_aws):
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="findings")
    engine = Engine(GlueCatalog("123456789012", "us-east-1"), MotoS3Store("123456789012"), "us-east-1",
                    executor=RecordingExecutor())
    run(engine, "CREATE DATABASE gd")
    run(engine, PARTITIONED_DDL)
    run(engine, _add_partitions_sql(3))
    glue = boto3.client("glue", region_name="us-east-1")
    table = glue.get_table(DatabaseName="gd", Name="findings")["Table"]
    assert table["TableType"] == "EXTERNAL_TABLE"
    assert table["Parameters"]["EXTERNAL"] == "TRUE"
    assert table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert [k["Name"] for k in table["PartitionKeys"]] == ["region", "dt"]
    parts = glue.get_partitions(DatabaseName="gd", TableName="findings")["Partitions"]
    assert sorted(p["Values"][1] for p in parts) == ["2026/01/01", "2026/01/02", "2026/01/03"]
    assert parts[0]["StorageDescriptor"]["Location"].startswith("s3://findings/AWSLogs/123456789012/GuardDuty/")


@mock_aws
def test_ddl_sees_glue_made_tables_and_partitions(in_process_aws):
    glue = boto3.client("glue", region_name="us-east-1")
    glue.create_database(DatabaseInput={"Name": "gd"})
    glue.create_table(DatabaseName="gd", TableInput={
        "Name": "events", "TableType": "EXTERNAL_TABLE", "Parameters": {"EXTERNAL": "TRUE"},
        "StorageDescriptor": {"Columns": [{"Name": "id", "Type": "string"}], "Location": "s3://findings/events/",
                              "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"}},
        "PartitionKeys": [{"Name": "dt", "Type": "string"}]})
    glue.batch_create_partition(DatabaseName="gd", TableName="events", PartitionInputList=[
        {"Values": ["2026-12-01"], "StorageDescriptor": {"Location": "s3://findings/events/2026/12/01/"}}])
    engine = Engine(GlueCatalog("123456789012", "us-east-1"), MotoS3Store("123456789012"), "us-east-1",
                    executor=RecordingExecutor())
    assert lines(run(engine, "SHOW TABLES")) == ["events"]
    assert lines(run(engine, "SHOW PARTITIONS events")) == ["dt=2026-12-01"]
    run(engine, "ALTER TABLE events DROP PARTITION (dt='2026-12-01')")
    assert glue.get_partitions(DatabaseName="gd", TableName="events")["Partitions"] == []
    run(engine, "DROP TABLE events")
    assert glue.get_tables(DatabaseName="gd")["TableList"] == []


def test_a_location_must_be_in_s3(engine):
    for location in ("/tmp/data/", "s3:////bucket/p/", "hdfs://nn/data"):
        with pytest.raises(InvalidRequest) as excinfo:
            engine.statement_type(f"CREATE EXTERNAL TABLE t (a string) LOCATION '{location}'")
        assert excinfo.value.message == f"Invalid location {location} for table. Only S3 locations are allowed"
