"""The query library: catalog, rendering (escaped as pyathena escapes), windows, and the SQL itself."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlglot
from sqlglot import exp

from gdnb.errors import QueryError
from gdnb.queries import catalog, describe, get_query, list_queries, prepare, render

WINDOW = {"start": "2026-05-01", "end": "2026-05-07"}


def _args(name: str) -> dict:
    query = get_query(name)
    args = dict(WINDOW) if query.window != "none" else {}
    if "resource_id" in query.parameters:
        args["resource_id"] = "i-0123456789abcdef0"
    return args


ALL = list(catalog.load_catalog())


def test_catalog_lists_every_family_and_summary():
    frame = list_queries()
    assert set(frame.columns) >= {"name", "family", "table", "window", "parameters", "tags", "description"}
    assert set(catalog.families()) == {"dns_data_exfiltration", "instance_credential_exfiltration", "s3_exfiltration",
                                       "iam_exfiltration", "runtime_exfiltration"}
    assert {"summarize_findings_by_type", "summarize_findings_by_severity", "summarize_findings_by_account",
            "summarize_findings_by_region", "summarize_findings_by_day", "get_resource_timeline",
            "list_dns_exfiltration_aws_docs"} <= set(frame.name)
    assert list(list_queries(tag="exfiltration").name) == [n for n in frame.name
                                                           if "exfiltration" in get_query(n).tags]
    assert list(list_queries(family="s3_exfiltration").name) == ["list_s3_exfiltration"]


def test_every_library_file_is_in_the_catalog():
    files = {p.stem for p in catalog.LIBRARY_DIR.glob("*.sql")}
    assert files == set(ALL)


@pytest.mark.parametrize("name", ALL)
def test_every_query_renders_to_athena_sql_that_parses(name):
    sql = render(name, **_args(name))
    assert "%(" not in sql and "%%" not in sql
    tree = sqlglot.parse_one(sql, read="athena")
    assert isinstance(tree, exp.Query)
    tables = {t.name for t in tree.find_all(exp.Table)} - {c.alias_or_name for c in tree.find_all(exp.CTE)}
    assert tables == set(get_query(name).reads)


@pytest.mark.parametrize("name", [n for n in ALL if get_query(n).window == "partition"])
def test_partitioned_queries_are_bounded_by_date_partition(name):
    sql = get_query(name).sql
    assert "date_partition BETWEEN %(start_day)s AND %(end_day)s" in sql
    rendered = render(name, **_args(name))
    assert "date_partition BETWEEN '2026/05/01' AND '2026/05/07'" in rendered


@pytest.mark.parametrize("name", ALL)
def test_json_paths_are_lower_case_and_severity_is_cast(name):
    sql = get_query(name).sql
    paths = re.findall(r"'\$\.[^']*'", sql)
    assert all(p == p.lower() for p in paths), paths
    comparisons = re.findall(r"(\S+)\s*>=\s*%\(min_severity\)s", sql)
    assert all(c == "double)" for c in comparisons)
    if get_query(name).window == "partition" and name.startswith(("list_", "summarize_")):
        # counting queries keep the latest version of each finding
        assert "row_number() OVER (PARTITION BY id ORDER BY updatedat DESC)" in sql
        assert "version_rank = 1" in sql


def test_filter_value_injection_stays_a_literal():
    attack = "x' OR '1'='1"
    sql = render("list_dns_exfiltration", accounts=[attack], **WINDOW)
    assert "accountid IN ('x'' OR ''1''=''1')" in sql
    tree = sqlglot.parse_one(sql, read="athena")
    literals = [lit.this for lit in tree.find_all(exp.Literal) if lit.is_string]
    assert attack in literals
    sql = render("get_resource_timeline", resource_id="i-1'; DROP TABLE gd_findings; --", **WINDOW)
    assert "'i-1''; DROP TABLE gd_findings; --' IN (" in sql
    assert len(sqlglot.parse(sql, read="athena")) == 1


def test_list_filters_render_all_flag_and_in_list():
    sql = render("summarize_findings_by_region", regions=["us-east-1", "eu-west-1"], **WINDOW)
    assert "(False OR region_partition IN ('us-east-1', 'eu-west-1'))" in sql
    sql = render("summarize_findings_by_region", **WINDOW)
    assert "(True OR region_partition IN (''))" in sql
    assert "('us-east-1')" in render("summarize_findings_by_region", regions="us-east-1", **WINDOW)


def test_window_accepts_dates_and_datetimes():
    a = render("preview_findings", start=dt.date(2026, 5, 1), end=dt.datetime(2026, 5, 7, 23, 0))
    assert a == render("preview_findings", **WINDOW)


def test_unbounded_query_is_refused_unless_asked_for():
    with pytest.raises(QueryError, match="no date window") as err:
        render("list_s3_exfiltration")
    assert "allow_full_scan=True" in err.value.fix
    sql = render("list_s3_exfiltration", allow_full_scan=True)
    assert "BETWEEN '1970/01/01' AND '9999/12/31'" in sql


@pytest.mark.parametrize(("start", "end", "message"), [
    ("2026-05-07", "2026-05-01", "reversed"),
    ("2026-05-01", None, "open: end is missing"),
    (None, "2026-05-01", "open: start is missing"),
    ("May first", "2026-05-07", "not a date"),
])
def test_bad_windows_say_what_is_wrong(start, end, message):
    with pytest.raises(QueryError, match=message):
        render("list_dns_exfiltration", start=start, end=end)


def test_reversed_window_fix_swaps_the_dates():
    with pytest.raises(QueryError) as err:
        render("list_dns_exfiltration", start="2026-05-07", end="2026-05-01")
    assert "start='2026-05-01', end='2026-05-07'" in err.value.fix


def test_window_on_a_whole_table_query_is_refused():
    with pytest.raises(QueryError, match="takes no date window"):
        render("compare_timestamp_columns", **WINDOW)


def test_unknown_query_names_the_closest():
    with pytest.raises(QueryError, match="did you mean 'list_dns_exfiltration'") as err:
        render("list_dns_exfiltraton", **WINDOW)
    assert "list_dns_exfiltration" in err.value.fix


def test_unknown_parameter_names_the_closest():
    with pytest.raises(QueryError, match=r"no parameter 'min_sev'.*did you mean 'min_severity'"):
        render("list_dns_exfiltration", min_sev=7, **WINDOW)


@pytest.mark.parametrize(("params", "message"), [
    ({"min_severity": "high"}, "must be a number"),
    ({"min_severity": 11}, "between 0.0 and 10.0"),
    ({"min_severity": True}, "must be a number"),
    ({"accounts": 123456789012}, "list of text"),
    ({"accounts": [123456789012]}, "every item must be text"),
])
def test_bad_parameter_values_are_refused(params, message):
    with pytest.raises(QueryError, match=message):
        render("list_dns_exfiltration", **params, **WINDOW)


def test_required_parameter_is_asked_for():
    with pytest.raises(QueryError, match="needs the parameter 'resource_id'"):
        render("get_resource_timeline", **WINDOW)
    with pytest.raises(QueryError, match="between 1 and 1000"):
        render("preview_findings", limit=5000, **WINDOW)


def test_table_override_is_a_checked_identifier():
    sql = render("summarize_findings_by_type", table="gd_findings_projected", **WINDOW)
    assert "FROM gd_findings_projected" in sql and "FROM gd_findings\n" not in sql
    prepared = prepare("summarize_findings_by_type", table="gd_findings_projected", **WINDOW)
    assert prepared.tables == ("gd_findings_projected",)
    with pytest.raises(QueryError, match="Invalid table name"):
        render("summarize_findings_by_type", table="gd_findings; DROP TABLE x", **WINDOW)
    with pytest.raises(QueryError, match="cannot run over table 'gd_logs'"):
        render("summarize_findings_by_type", table="gd_logs", **WINDOW)


def test_updatedat_window_uses_iso_days():
    sql = render("summarize_findings_by_type_unpartitioned", **WINDOW)
    assert "substr(updatedat, 1, 10) BETWEEN '2026-05-01' AND '2026-05-07'" in sql


def test_docs_query_is_the_published_one():
    sql = get_query("list_dns_exfiltration_aws_docs").sql
    assert "FROM gd_logs" in sql and "WHERE type = 'Trojan:EC2/DNSDataExfiltration'" in sql
    assert "json_extract_scalar(resource, '$.instancedetails.instanceid') AS InstanceID" in sql
    assert "ORDER BY severity DESC" in sql


def test_describe_shows_parameters_and_sql():
    query = describe("list_instance_credential_exfiltration")
    text = str(query)
    assert "min_severity (float, default 0.0)" in text and "InstanceCredentialExfiltration" in text
    assert "| `accounts` | list[str]" in query._repr_markdown_()


def test_severity_bands_match_the_documented_boundaries():
    sql = get_query("summarize_findings_by_severity").sql
    assert ">= 9.0 THEN 'Critical'" in sql and ">= 7.0 THEN 'High'" in sql and ">= 4.0 THEN 'Medium'" in sql
