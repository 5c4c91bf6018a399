"""The pure parts of the sandbox's Athena API: result files, column metadata, workgroup settings."""

from __future__ import annotations

import csv
import io

import pytest

from gdnb.sandbox.athena import results
from gdnb.sandbox.athena.api import guess_statement_type
from gdnb.sandbox.athena.apierrors import AthenaApiError
from gdnb.sandbox.athena.model import Column
from gdnb.sandbox.athena.workgroups import (
    WorkGroup,
    apply_configuration_updates,
    build_configuration,
    resolve_result_configuration,
)


def test_csv_quotes_every_value_doubles_quotes_and_leaves_null_empty():
    columns = [Column("i", "integer"), Column("s", "varchar"), Column("e", "varchar")]
    rows = [("1", 'say "hi", ok', ""), ("2", None, "line\nbreak")]
    data = results.render_csv(columns, rows)
    assert data == b'"i","s","e"\n"1","say ""hi"", ok",""\n"2",,"line\nbreak"\n'
    # Any CSV reader gets the values back; NULL and the empty string stay apart in the bytes.
    assert list(csv.reader(io.StringIO(data.decode()))) == [["i", "s", "e"], ["1", 'say "hi", ok', ""],
                                                             ["2", "", "line\nbreak"]]


def test_csv_of_no_rows_is_the_header_line():
    assert results.render_csv([Column("a", "bigint")], []) == b'"a"\n'


def test_txt_joins_values_with_tabs_and_lines_without_header_or_trailing_newline():
    assert results.render_txt([("t1",), ("t2",)]) == b"t1\nt2"
    assert results.render_txt([("a", None, "c")]) == b"a\t\tc"
    assert results.render_txt([]) == b""


def test_metadata_file_round_trips_the_column_info():
    columns = [Column("n", "bigint"), Column("name", "varchar"), Column("amount", "decimal(10,2)")]
    query_id, decoded = results.decode_metadata(results.render_metadata("qid-1", columns))
    assert query_id == "qid-1"
    assert [(c["Name"], c["Type"], c["Precision"], c["Scale"], c["CaseSensitive"]) for c in decoded] == [
        ("n", "bigint", 19, 0, 0), ("name", "varchar", 2147483647, 0, 1), ("amount", "decimal", 10, 2, 0)]
    assert {c["CatalogName"] for c in decoded} == {"hive"}


@pytest.mark.parametrize(("type_name", "expected"), [
    ("varchar", ("varchar", 2147483647, 0)),
    ("varchar(12)", ("varchar", 12, 0)),
    ("bigint", ("bigint", 19, 0)),
    ("integer", ("integer", 10, 0)),
    ("double", ("double", 17, 0)),
    ("real", ("float", 17, 0)),
    ("boolean", ("boolean", 0, 0)),
    ("date", ("date", 0, 0)),
    ("timestamp(3)", ("timestamp", 3, 0)),
    ("timestamp(3) with time zone", ("timestamp with time zone", 3, 0)),
    ("decimal(38,9)", ("decimal", 38, 9)),
    ("array(varchar)", ("array", 0, 0)),
    ("map(varchar, array(bigint))", ("map", 0, 0)),
    ("row(a varchar, b row(c bigint))", ("row", 0, 0)),
])
def test_column_types_are_reported_as_athena_does(type_name, expected):
    assert results.athena_type(type_name) == expected


def test_result_pages_count_the_header_row_of_a_select():
    columns = [Column("x", "integer")]
    rows = [(str(i),) for i in range(5)]
    first, total = results.result_page("DML", columns, rows, 0, 2)
    assert total == 6
    assert first == [{"Data": [{"VarCharValue": "x"}]}, {"Data": [{"VarCharValue": "0"}]}]
    last, _ = results.result_page("DML", columns, rows, 4, 2)
    assert last == [{"Data": [{"VarCharValue": "3"}]}, {"Data": [{"VarCharValue": "4"}]}]
    ddl, total = results.result_page("UTILITY", columns, [("t1",), (None,)], 0, 10)
    assert total == 2 and ddl == [{"Data": [{"VarCharValue": "t1"}]}, {"Data": [{}]}]


def _group(config: dict) -> WorkGroup:
    return WorkGroup("wg", build_configuration(config))


def test_enforced_workgroup_settings_replace_the_clients():
    group = _group({"EnforceWorkGroupConfiguration": True,
                    "ResultConfiguration": {"OutputLocation": "s3://wg-bucket/results/"}})
    resolved = resolve_result_configuration(group, {
        "OutputLocation": "s3://client-bucket/x/",
        "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"}})
    assert resolved == {"OutputLocation": "s3://wg-bucket/results/"}


def test_unenforced_workgroup_fills_what_the_client_leaves_out():
    group = _group({"ResultConfiguration": {"OutputLocation": "s3://wg-bucket/results/",
                                            "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"}}})
    assert resolve_result_configuration(group, {"OutputLocation": "s3://client/x/"}) == {
        "OutputLocation": "s3://client/x/", "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"}}
    assert resolve_result_configuration(group, None)["OutputLocation"] == "s3://wg-bucket/results/"


def test_no_output_location_anywhere_is_athenas_error():
    with pytest.raises(AthenaApiError) as exc:
        resolve_result_configuration(_group({}), {})
    assert exc.value.message == ("No output location provided. An output location is required either through the "
                                 "Workgroup result configuration setting or as an API input.")


@pytest.mark.parametrize(("config", "message"), [
    ({"BytesScannedCutoffPerQuery": 1000}, "greater than or equal to 10000000"),
    ({"EngineVersion": {"SelectedEngineVersion": "Athena engine version 2"}}, "emulates only"),
    ({"ResultConfiguration": {"OutputLocation": "https://bucket/x"}}, "not a valid S3 path"),
    ({"ResultConfiguration": {"OutputLocation": "s3://bucket/x/", "EncryptionConfiguration": {
        "EncryptionOption": "SSE_KMS"}}}, "KmsKey is required"),
])
def test_bad_workgroup_settings_are_refused(config, message):
    with pytest.raises(AthenaApiError, match=message):
        build_configuration(config)


def test_configuration_updates_set_and_remove():
    config = build_configuration({"BytesScannedCutoffPerQuery": 20_000_000,
                                  "ResultConfiguration": {"OutputLocation": "s3://aaa/b/"}})
    updated = apply_configuration_updates(config, {
        "RemoveBytesScannedCutoffPerQuery": True, "EnforceWorkGroupConfiguration": True,
        "ResultConfigurationUpdates": {"OutputLocation": "s3://ccc/d/",
                                       "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"}}})
    assert "BytesScannedCutoffPerQuery" not in updated and updated["EnforceWorkGroupConfiguration"] is True
    assert updated["ResultConfiguration"] == {"OutputLocation": "s3://ccc/d/",
                                              "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"}}
    assert config["BytesScannedCutoffPerQuery"] == 20_000_000  # the original is left alone
    removed = apply_configuration_updates(updated, {"ResultConfigurationUpdates": {"RemoveOutputLocation": True}})
    assert removed["ResultConfiguration"] == {"EncryptionConfiguration": {"EncryptionOption": "SSE_S3"}}


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELEC 1", "DML"), ("-- note\n CREATE TABLE (", "DDL"), ("/* x */ show tables in", "UTILITY"),
    ("DROP TABLE", "DDL"), ("", "DML")])
def test_statement_type_of_unparseable_sql_follows_its_first_keyword(sql, expected):
    assert guess_statement_type(sql) == expected
