"""Partition projection: enumeration of each type, NOW ranges, locations, injected columns."""

from __future__ import annotations

import datetime

import pytest
from athena_engine_support import NOW, RecordingExecutor, guardduty_tree, local_engine_at

from gdnb.sandbox.athena.errors import AthenaSqlError
from gdnb.sandbox.athena.projection import JavaDateFormat, table_projection


def _table(params: dict[str, str], keys: list[str], location: str = "s3://b/t/") -> dict:
    return {"Name": "t", "PartitionKeys": [{"Name": k, "Type": "string"} for k in keys],
            "StorageDescriptor": {"Location": location}, "Parameters": {"projection.enabled": "true", **params}}


def values(params: dict[str, str], key: str = "c", now: datetime.datetime = NOW) -> list[str]:
    return table_projection("db", _table(params, [key])).columns[key].values(now)


def test_enum_values_keep_their_spaces():
    assert values({"projection.c.type": " ENUM ", "projection.c.values": "us-east-1,eu-west-1, x"}) == [
        "us-east-1", "eu-west-1", " x"]


@pytest.mark.parametrize(("params", "expected"), [
    ({"projection.c.range": "1,3"}, ["1", "2", "3"]),
    ({"projection.c.range": "1,5", "projection.c.interval": "2"}, ["1", "3", "5"]),
    ({"projection.c.range": "0,3", "projection.c.digits": "2"}, ["00", "01", "02", "03"]),
    ({"projection.c.range": " -1 , 1 "}, ["-1", "0", "1"]),
])
def test_integer_ranges(params, expected):
    assert values({"projection.c.type": "integer", **params}) == expected


@pytest.mark.parametrize(("params", "expected"), [
    ({"projection.c.format": "yyyy/MM/dd", "projection.c.range": "2026/12/30,2027/01/02"},
     ["2026/12/30", "2026/12/31", "2027/01/01", "2027/01/02"]),
    # NOW is the query's clock (2026-12-28 15:30 UTC), at the format's precision.
    ({"projection.c.format": "yyyy/MM/dd", "projection.c.range": "NOW-3DAYS,NOW"},
     ["2026/12/25", "2026/12/26", "2026/12/27", "2026/12/28"]),
    ({"projection.c.format": "yyyy-MM", "projection.c.range": "NOW-2MONTHS,NOW"}, ["2026-10", "2026-11", "2026-12"]),
    ({"projection.c.format": "yyyy/MM/dd/HH", "projection.c.range": "NOW-2HOURS,NOW",
      "projection.c.interval.unit": "HOURS"}, ["2026/12/28/13", "2026/12/28/14", "2026/12/28/15"]),
    ({"projection.c.format": "yyyyMMdd", "projection.c.range": "20261201,20261207",
      "projection.c.interval": "3", "projection.c.interval.unit": "DAYS"}, ["20261201", "20261204", "20261207"]),
    ({"projection.c.format": "yyyy", "projection.c.range": "NOW-1YEARS,NOW+1YEAR",
      "projection.c.interval.unit": "years"}, ["2025", "2026", "2027"]),
    ({"projection.c.format": "yyyy-MM-dd'T'HH", "projection.c.range": "2026-01-31T00,2026-01-31T02",
      "projection.c.interval.unit": "HOURS"}, ["2026-01-31T00", "2026-01-31T01", "2026-01-31T02"]),
])
def test_date_ranges(params, expected):
    assert values({"projection.c.type": "date", **params}) == expected


def test_month_steps_clamp_to_month_ends():
    got = values({"projection.c.type": "date", "projection.c.format": "yyyy-MM-dd",
                  "projection.c.range": "2026-01-31,2026-04-30", "projection.c.interval.unit": "MONTHS"})
    assert got == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]


def test_java_date_format_round_trip():
    fmt = JavaDateFormat.compile("yyyy-MM-dd'T'HH:mm:ss.SSS", "c")
    when = datetime.datetime(2026, 3, 4, 5, 6, 7, 890000)
    assert fmt.format(when) == "2026-03-04T05:06:07.890"
    assert fmt.parse("2026-03-04T05:06:07.890") == when
    assert fmt.finest_unit == "MILLISECONDS"


@pytest.mark.parametrize(("params", "message"), [
    ({}, "Missing required property: 'projection.c.type'"),
    ({"projection.c.type": "magic"}, "Unsupported projection type 'magic'"),
    ({"projection.c.type": "date", "projection.c.format": "yyyy/MM/dd/HH", "projection.c.range": "NOW-1HOURS,NOW"},
     "Missing required property: 'projection.c.interval.unit'"),
    ({"projection.c.type": "date", "projection.c.format": "yyyy/MM/dd", "projection.c.range": "2026-01-01,NOW"},
     "does not match format 'yyyy/MM/dd'"),
    ({"projection.c.type": "enum"}, "Missing required property: 'projection.c.values'"),
])
def test_bad_projection_settings_name_the_column(params, message):
    with pytest.raises(AthenaSqlError) as excinfo:
        values(params)
    assert excinfo.value.kind == "INVALID_TABLE_PROPERTY"
    assert excinfo.value.message.startswith("Column projection for column 'c' failed.")
    assert message in excinfo.value.message


def _injected(keys: list[str]) -> dict[str, str]:
    return {f"projection.{k}.type": "injected" for k in keys}


def test_locations_from_template_or_hive_layout():
    keys = ["account", "region", "dt"]
    templated = table_projection("db", _table(
        {"storage.location.template": "s3://b/AWSLogs/${account}/GuardDuty/${region}/${dt}/", **_injected(keys)}, keys))
    assert templated.location_of(["1", "us-east-1", "2026/12/01"]) == "s3://b/AWSLogs/1/GuardDuty/us-east-1/2026/12/01/"
    hive = table_projection("db", _table(_injected(["region", "dt"]), ["region", "dt"], location="s3://b/t"))
    assert hive.location_of(["us-east-1", "2026/12/01"]) == "s3://b/t/region=us-east-1/dt=2026%2F12%2F01"


PROJECTED_DDL = """CREATE EXTERNAL TABLE gdp (id string)
PARTITIONED BY (account string, region string, dt string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://findings/AWSLogs/'
TBLPROPERTIES (
  'projection.enabled'='true',
  'projection.account.type'='injected',
  'projection.region.type'='enum', 'projection.region.values'='us-east-1,eu-west-1,ap-northeast-1',
  'projection.dt.type'='date', 'projection.dt.format'='yyyy/MM/dd', 'projection.dt.range'='NOW-4DAYS,NOW',
  'storage.location.template'='s3://findings/AWSLogs/${account}/GuardDuty/${region}/${dt}/')"""


@pytest.fixture()
def projected(tmp_path):
    sizes = guardduty_tree(tmp_path)
    executor = RecordingExecutor()
    engine = local_engine_at(tmp_path, executor)
    engine.execute("CREATE DATABASE db", now=NOW)
    engine.execute(PROJECTED_DDL, database="db", now=NOW)
    return engine, executor, sizes


def run(engine, sql):
    return engine.execute(sql, database="db", now=NOW)


def test_projected_query_reads_only_the_projected_partitions(projected):
    engine, executor, sizes = projected
    out = run(engine, "SELECT * FROM gdp WHERE account = '123456789012' AND region = 'eu-west-1' "
                      "AND dt >= '2026/12/27'")
    assert out.data_scanned_bytes == sizes[("eu-west-1", "2026/12/27")] + sizes[("eu-west-1", "2026/12/28")]
    partitions = {o.partition for o in executor.last_tables[("db", "gdp")].objects}
    assert partitions == {(("account", "123456789012"), ("region", "eu-west-1"), ("dt", d))
                          for d in ("2026/12/27", "2026/12/28")}
    everything = run(engine, "SELECT * FROM gdp WHERE account = '123456789012'")
    assert everything.data_scanned_bytes == sum(sizes.values())


def test_projection_ignores_registered_partitions(projected):
    engine, _executor, _sizes = projected
    run(engine, "ALTER TABLE gdp ADD PARTITION (account='123456789012', region='us-east-1', dt='1999/01/01') "
                "LOCATION 's3://findings/AWSLogs/123456789012/GuardDuty/us-east-1/2026/12/24/'")
    out = run(engine, "SELECT * FROM gdp WHERE account = '123456789012' AND dt = '1999/01/01'")
    assert out.data_scanned_bytes == 0


def test_projection_range_follows_the_clock(projected):
    engine, _executor, sizes = projected
    later = engine.execute("SELECT * FROM gdp WHERE account = '123456789012' AND region = 'us-east-1'",
                           database="db", now=NOW + datetime.timedelta(days=2))
    # The range is now 2026/12/26..2026/12/30; the tree has data up to 12/28.
    assert later.data_scanned_bytes == sum(sizes[("us-east-1", d)] for d in ("2026/12/26", "2026/12/27", "2026/12/28"))


@pytest.mark.parametrize("where", [
    "",
    "WHERE region = 'us-east-1'",
    "WHERE account LIKE '1234%'",
    "WHERE account IN ('1', '2')",
    "WHERE account = '1' AND account = '2'",
])
def test_injected_column_must_be_pinned_by_equality(projected, where):
    engine, _executor, _sizes = projected
    with pytest.raises(AthenaSqlError) as excinfo:
        run(engine, f"SELECT * FROM gdp {where}")
    assert excinfo.value.reason == (
        "CONSTRAINT_VIOLATION: Injected projected partition column account must have only (and at least one) "
        "equality conditions in the WHERE clause! (table db.gdp)")
