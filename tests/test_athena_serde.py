"""The JSON SerDes as Athena reads them: one test per rule (OpenX and Hive JSON)."""

from __future__ import annotations

import json

import pytest
from athena_sql_support import HIVE_JSON, OPENX, Runner, glue_table, put_object, scan_of

from gdnb.sandbox.athena.dml import DmlExecutor
from gdnb.sandbox.athena.errors import AthenaSqlError
from gdnb.sandbox.athena.storage import LocalDirStore


class CountingStore(LocalDirStore):
    """A LocalDirStore that counts object reads (to see what the cache saves)."""

    def __init__(self, root) -> None:
        super().__init__(root)
        self.reads: list[str] = []

    def read(self, bucket: str, key: str) -> bytes:
        self.reads.append(key)
        return super().read(bucket, key)


@pytest.fixture()
def env(tmp_path):
    store = CountingStore(tmp_path / "s3")
    executor = DmlExecutor(store, cache_dir=tmp_path / "cache")
    yield tmp_path / "s3", store, executor
    executor.close()


def runner_for(env, lines, columns, serde=OPENX, serde_params=None, key="t/data.json", extra=(), **table_kw):
    root, store, executor = env
    put_object(root, "b", key, lines)
    for k, more in extra:
        put_object(root, "b", k, more)
    table = glue_table(columns, "s3://b/t/", serde=serde, serde_params=serde_params, **table_kw)
    return Runner(executor, {("default", "t"): scan_of(store, "b", "t/", table)})


STRINGS = [("accountid", "string"), ("resource", "string"), ("severity", "string")]
FINDING = {
    "accountId": "111",
    "resource": {"instanceDetails": {"instanceId": "i-1", "Tags": [{"Key": "Name"}]}},
    "severity": 8.0,
}


def test_top_level_keys_match_columns_case_insensitively(env):
    r = runner_for(env, ['{"AccountId":"111"}', '{"ACCOUNTID":"222"}', '{"accountid":"333"}'], STRINGS)
    assert r.rows("SELECT accountid FROM t ORDER BY 1") == [("111",), ("222",), ("333",)]


def test_nested_object_in_string_column_is_compact_json_with_lower_case_keys(env):
    r = runner_for(env, [json.dumps(FINDING)], STRINGS)
    assert r.value("SELECT resource FROM t") == '{"instancedetails":{"instanceid":"i-1","tags":[{"key":"Name"}]}}'


def test_json_paths_read_the_lower_cased_keys(env):
    r = runner_for(env, [json.dumps(FINDING)], STRINGS)
    assert r.value("SELECT json_extract_scalar(resource, '$.instancedetails.instanceid') FROM t") == "i-1"
    assert r.value("SELECT json_extract_scalar(resource, '$.instanceDetails.instanceId') FROM t") is None
    assert r.value("SELECT json_extract_scalar(resource, '$.instancedetails.tags[0].key') FROM t") == "Name"


def test_key_spellings_that_differ_between_rows_are_all_found(env):
    lines = [json.dumps({"resource": {"instanceDetails": {"instanceId": f"i-{i}"}}}) for i in range(3000)]
    lines.append(json.dumps({"resource": {"INSTANCEDETAILS": {"InstanceID": "i-odd"}}}))
    r = runner_for(env, lines, STRINGS)
    rows = r.rows("SELECT count(json_extract_scalar(resource, '$.instancedetails.instanceid')) FROM t")
    assert rows == [("3001",)]
    assert (
        r.value(
            "SELECT json_extract_scalar(resource, '$.instancedetails.instanceid') FROM t WHERE resource LIKE '%i-odd%'"
        )
        == "i-odd"
    )


def test_numbers_read_into_strings_keep_their_text(env):
    lines = ['{"severity":8.0}', '{"severity":8}', '{"severity":52.37}', '{"severity":"5.0"}', '{"severity":true}']
    r = runner_for(env, lines, STRINGS)
    assert r.rows("SELECT severity FROM t") == [("8.0",), ("8",), ("52.37",), ("5.0",), ("true",)]


def test_json_null_and_missing_keys_are_null(env):
    r = runner_for(env, ['{"accountid":null,"resource":null}', "{}"], STRINGS)
    assert r.rows("SELECT accountid, resource, severity FROM t") == [(None, None, None), (None, None, None)]


def test_mapping_property_reads_another_key(env):
    r = runner_for(
        env,
        ['{"timestamp":"2026-12-01","AccountId":"111"}'],
        [("ts", "string"), ("acct", "string")],
        serde_params={"mapping.ts": "timestamp", "mapping.acct": "accountId"},
    )
    assert r.rows("SELECT ts, acct FROM t") == [("2026-12-01", "111")]


def test_case_insensitive_false_matches_exact_keys_and_keeps_nested_case(env):
    lines = ['{"accountId":"111","accountid":"222","resource":{"instanceDetails":{"instanceId":"i-1"}}}']
    r = runner_for(env, lines, STRINGS, serde_params={"case.insensitive": "false"})
    assert r.rows("SELECT accountid, resource FROM t") == [("222", '{"instanceDetails":{"instanceId":"i-1"}}')]


def test_malformed_line_fails_the_query_naming_the_object(env):
    r = runner_for(env, ['{"accountid":"1"}', '{"accountid":"2"', '{"accountid":"3"}'], STRINGS, key="t/bad.json.gz")
    with pytest.raises(AthenaSqlError) as info:
        r.rows("SELECT count(*) FROM t")
    assert info.value.kind == "HIVE_CURSOR_ERROR"
    assert info.value.message.startswith("Row is not a valid JSON Object - JSONException:")
    assert "s3://b/t/bad.json.gz" in info.value.message and "line 2" in info.value.message


def test_ignore_malformed_json_gives_a_row_of_nulls(env):
    r = runner_for(
        env,
        ['{"accountid":"1"}', '{"accountid":"2"', '{"accountid":"3"}'],
        STRINGS,
        serde_params={"ignore.malformed.json": "true"},
    )
    assert r.rows("SELECT accountid FROM t") == [("1",), (None,), ("3",)]


def test_non_object_and_blank_lines_are_rows_of_nulls(env):
    lines = ['{"accountid":"1"}', "", "   ", '"just a string"', "42", "null", '{"accountid":"2"}']
    r = runner_for(env, lines, STRINGS, key="t/mixed.json.gz")
    assert r.rows("SELECT count(*), count(accountid) FROM t") == [("7", "2")]


def test_array_line_maps_elements_to_columns_by_position(env):
    r = runner_for(env, ['["111", {"A":1}, 5]'], STRINGS)
    assert r.rows("SELECT accountid, resource, severity FROM t") == [("111", '{"a":1}', "5")]


def test_text_after_the_object_is_ignored(env):
    r = runner_for(env, ['{"accountid":"1"} trailing words', '{"accountid":"2"}'], STRINGS)
    assert r.rows("SELECT accountid FROM t") == [("1",), ("2",)]


def test_struct_columns_ignore_unknown_keys_and_match_nested_keys_case_insensitively(env):
    columns = [
        ("resource", "struct<instancedetails:struct<instanceid:string,tags:array<struct<key:string,value:string>>>>")
    ]
    lines = [
        '{"Resource":{"InstanceDetails":{"InstanceId":"i-1","Tags":[{"Key":"Name","Value":"web"}],"Extra":{"x":1}},"Other":5}}',
        '{"resource":{"instancedetails":{"instanceid":"i-2"}}}',
        '{"resource":null}',
    ]
    r = runner_for(env, lines, columns)
    assert r.rows("SELECT resource.instancedetails.instanceid, resource.instancedetails.tags[1].value FROM t") == [
        ("i-1", "web"),
        ("i-2", None),
        (None, None),
    ]
    assert (
        r.value("SELECT resource FROM t LIMIT 1") == "{instancedetails={instanceid=i-1, tags=[{key=Name, value=web}]}}"
    )


def test_array_and_map_columns(env):
    columns = [("tags", "array<string>"), ("attrs", "map<string,string>"), ("ports", "array<int>")]
    lines = [
        '{"tags":["a","b"],"attrs":{"Env":"prod","Owner":{"Name":"x"}},"ports":[22,"80",8.5]}',
        '{"tags":"solo","attrs":{},"ports":443}',
        '{"tags":null}',
    ]
    r = runner_for(env, lines, columns)
    assert r.rows("SELECT tags, attrs, ports FROM t") == [
        ("[a, b]", '{env=prod, owner={"name":"x"}}', "[22, 80, null]"),
        ("[solo]", "{}", "[443]"),
        (None, None, None),
    ]
    assert r.value("SELECT attrs['env'] FROM t WHERE cardinality(tags) = 2") == "prod"


def test_typed_scalar_columns_follow_the_openx_coercions(env):
    columns = [("n", "bigint"), ("flag", "boolean"), ("d", "double"), ("day", "date"), ("at", "timestamp")]
    lines = [
        '{"n":"12","flag":"TRUE","d":"1.5","day":"2026-12-01","at":"2026-12-01T10:00:00.123Z"}',
        '{"n":8.5,"flag":"yes","d":"x","day":"2026-12-02 extra","at":1764583200}',
        '{"n":8.0,"flag":false}',
    ]
    r = runner_for(env, lines, columns)
    assert r.rows("SELECT n, flag, d, day, at FROM t") == [
        ("12", "true", "1.5", "2026-12-01", "2026-12-01 10:00:00.123"),
        (None, "false", None, "2026-12-02", "2025-12-01 10:00:00.000"),
        ("8", "false", None, None, None),
    ]


def test_object_in_a_numeric_column_fails_like_athena(env):
    r = runner_for(env, ['{"n":{"a":1}}'], [("n", "bigint")])
    with pytest.raises(AthenaSqlError) as info:
        r.rows("SELECT n FROM t")
    assert info.value.kind == "HIVE_BAD_DATA"


def test_dots_in_keys_match_underscored_columns(env):
    r = runner_for(
        env,
        ['{"a.b":"x","c_d":"exact","c.d":"dotted"}'],
        [("a_b", "string"), ("c_d", "string")],
        serde_params={"dots.in.keys": "true"},
    )
    assert r.rows("SELECT a_b, c_d FROM t") == [("x", "exact")]


def test_gzip_by_extension_and_every_object_under_the_location_is_read(env):
    root, store, executor = env
    put_object(root, "b", "t/2026/12/01/a.jsonl.gz", ['{"accountid":"1"}', '{"accountid":"2"}'])
    put_object(root, "b", "t/2026/12/02/deeper/b.json", ['{"accountid":"3"}'])
    put_object(root, "b", "t/plain-but-named.txt", ['{"accountid":"4"}'])
    table = glue_table(STRINGS, "s3://b/t/")
    r = Runner(executor, {("default", "t"): scan_of(store, "b", "t/", table)})
    assert r.rows("SELECT accountid FROM t ORDER BY 1") == [("1",), ("2",), ("3",), ("4",)]


def test_a_gz_object_that_is_not_gzip_fails_naming_it(env):
    root, store, executor = env
    (root / "b" / "t").mkdir(parents=True)
    (root / "b" / "t" / "x.json.gz").write_bytes(b'{"accountid":"1"}\n')
    r = Runner(executor, {("default", "t"): scan_of(store, "b", "t/", glue_table(STRINGS, "s3://b/t/"))})
    with pytest.raises(AthenaSqlError) as info:
        r.rows("SELECT * FROM t")
    assert info.value.kind == "HIVE_CURSOR_ERROR" and "s3://b/t/x.json.gz" in info.value.message


def test_partition_columns_and_path_pseudo_column(env):
    root, store, executor = env
    put_object(root, "b", "t/us-east-1/2026/12/01/a.json.gz", ['{"accountid":"1"}'])
    put_object(root, "b", "t/eu-west-1/2026/12/02/b.json.gz", ['{"accountid":"2"}'])
    table = glue_table(STRINGS, "s3://b/t/", partition_keys=[("region_p", "string"), ("dt", "string")])
    scan = scan_of(
        store,
        "b",
        "t/",
        table,
        partitions={
            "t/us-east-1/2026/12/01/": {"region_p": "us-east-1", "dt": "2026/12/01"},
            "t/eu-west-1/2026/12/02/": {"region_p": "eu-west-1", "dt": "2026/12/02"},
        },
    )
    r = Runner(executor, {("default", "t"): scan})
    assert r.rows('SELECT accountid, region_p, dt, "$path" FROM t ORDER BY 1') == [
        ("1", "us-east-1", "2026/12/01", "s3://b/t/us-east-1/2026/12/01/a.json.gz"),
        ("2", "eu-west-1", "2026/12/02", "s3://b/t/eu-west-1/2026/12/02/b.json.gz"),
    ]
    columns, _ = r.run("SELECT * FROM t")
    assert [c.name for c in columns] == ["accountid", "resource", "severity", "region_p", "dt"]


def test_hive_json_serde_is_case_insensitive_but_keeps_nested_keys_as_written(env):
    r = runner_for(env, [json.dumps(FINDING)], STRINGS, serde=HIVE_JSON)
    assert r.rows("SELECT accountid, resource FROM t") == [
        ("111", '{"instanceDetails":{"instanceId":"i-1","Tags":[{"Key":"Name"}]}}')
    ]
    assert r.value("SELECT json_extract_scalar(resource, '$.instanceDetails.instanceId') FROM t") == "i-1"


def test_hive_json_serde_has_no_ignore_malformed_json(env):
    r = runner_for(
        env,
        ['{"accountid":"1"', '{"accountid":"2"}'],
        STRINGS,
        serde=HIVE_JSON,
        serde_params={"ignore.malformed.json": "true"},
    )
    with pytest.raises(AthenaSqlError) as info:
        r.rows("SELECT * FROM t")
    assert info.value.kind == "HIVE_CURSOR_ERROR"


@pytest.mark.parametrize(
    ("serde", "input_format"),
    [
        ("org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe", "org.apache.hadoop.mapred.TextInputFormat"),
        (
            "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
            "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        ),
        (OPENX, "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"),
    ],
)
def test_other_serdes_and_formats_are_not_supported(env, serde, input_format):
    r = runner_for(env, ['{"accountid":"1"}'], STRINGS, serde=serde, input_format=input_format)
    with pytest.raises(AthenaSqlError) as info:
        r.rows("SELECT * FROM t")
    assert info.value.kind == "NOT_SUPPORTED"


def test_a_string_column_holding_json_text_and_objects_lowers_only_the_objects(env):
    lines = ['{"resource":{"AB":{"Cd":1}}}', '{"resource":"{\\"AB\\":1}"}', '{"resource":"Plain \\"Q\\": text"}']
    r = runner_for(env, lines, STRINGS)
    assert r.rows("SELECT resource FROM t") == [('{"ab":{"cd":1}}',), ('{"AB":1}',), ('Plain "Q": text',)]
    assert r.rows("SELECT json_extract_scalar(resource, '$.ab.cd') FROM t") == [("1",), (None,), (None,)]


def test_objects_appearing_after_the_sampled_lines_are_still_lowered(env):
    lines = [json.dumps({"resource": f"text-{i}"}) for i in range(120)]
    lines.append(json.dumps({"resource": {"InstanceId": "i-late"}}))
    r = runner_for(env, lines, STRINGS)
    assert r.value("SELECT resource FROM t WHERE resource LIKE '%late%'") == '{"instanceid":"i-late"}'
    assert (
        r.value("SELECT json_extract_scalar(resource, '$.instanceid') FROM t WHERE resource LIKE '%late%'") == "i-late"
    )


def test_repeated_query_reads_nothing_and_changed_objects_are_read_again(env):
    root, store, executor = env
    put_object(root, "b", "t/a.json.gz", ['{"accountid":"1"}'])
    put_object(root, "b", "t/b.json.gz", ['{"accountid":"2"}'])
    table = glue_table(STRINGS, "s3://b/t/")

    def run():
        return Runner(executor, {("default", "t"): scan_of(store, "b", "t/", table)}).rows(
            "SELECT accountid FROM t ORDER BY 1"
        )

    assert run() == [("1",), ("2",)]
    assert sorted(store.reads) == ["t/a.json.gz", "t/b.json.gz"]
    store.reads.clear()
    assert run() == [("1",), ("2",)]
    assert store.reads == []
    import os
    import time

    time.sleep(0.01)
    put_object(root, "b", "t/b.json.gz", ['{"accountid":"22"}', '{"accountid":"23"}'])
    os.utime(root / "b" / "t" / "b.json.gz")
    assert run() == [("1",), ("22",), ("23",)]
    assert store.reads == ["t/b.json.gz"]


def test_a_query_sees_only_the_objects_it_was_given(env):
    root, store, executor = env
    put_object(root, "b", "t/a.json.gz", ['{"accountid":"1"}'])
    put_object(root, "b", "t/b.json.gz", ['{"accountid":"2"}'])
    table = glue_table(STRINGS, "s3://b/t/")
    full = scan_of(store, "b", "t/", table)
    Runner(executor, {("default", "t"): full}).rows("SELECT count(*) FROM t")
    only_b = type(full)(
        full.database, full.name, full.table, tuple(o for o in full.objects if o.key.endswith("b.json.gz"))
    )
    assert Runner(executor, {("default", "t"): only_b}).rows("SELECT accountid FROM t") == [("2",)]


def test_a_changed_serde_property_is_a_different_table(env):
    root, store, executor = env
    put_object(root, "b", "t/a.json", ['{"timestamp":"x","ts":"y"}'])
    plain = glue_table([("ts", "string")], "s3://b/t/")
    mapped = glue_table([("ts", "string")], "s3://b/t/", serde_params={"mapping.ts": "timestamp"})
    assert Runner(executor, {("default", "t"): scan_of(store, "b", "t/", plain)}).value("SELECT ts FROM t") == "y"
    assert Runner(executor, {("default", "t"): scan_of(store, "b", "t/", mapped)}).value("SELECT ts FROM t") == "x"


@pytest.mark.parametrize("same_definition", [True, False])
def test_rows_over_the_budget_are_dropped_and_reloaded_when_needed(env, same_definition):
    root, store, executor = env
    executor._cache.max_rows = 2
    for name in ("a", "b"):
        put_object(root, "b", f"{name}/x.json.gz", [f'{{"accountid":"{name}{i}"}}' for i in range(3)])
    columns = {"a": STRINGS, "b": STRINGS if same_definition else [*STRINGS, ("extra", "string")]}
    scans = {
        name: scan_of(store, "b", f"{name}/", glue_table(columns[name], f"s3://b/{name}/"), name=name)
        for name in ("a", "b")
    }

    def count(name):
        return Runner(executor, {("default", name): scans[name]}).value(f"SELECT count(*) FROM {name}")

    assert count("a") == "3"
    assert count("b") == "3"  # over budget: a's rows go
    store.reads.clear()
    assert count("a") == "3"  # read again
    assert store.reads == ["a/x.json.gz"]
