"""The query library: catalog, rendering (escaped as pyathena escapes), windows, and the SQL itself."""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import matplotlib.pyplot as plt
import pandas as pd
import pytest
import sqlglot
from matplotlib.colors import to_hex
from sqlglot import exp

from gdnb.errors import QueryError
from gdnb.finding_types import finding_type_names
from gdnb.queries import catalog, describe, get_query, list_queries, prepare, render
from gdnb.queries.charts import chart_columns, plot_frame
from gdnb.report.charts import SEVERITY_COLORS

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
                                       "iam_exfiltration", "runtime_exfiltration", "drop_point_traffic"}
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


# -- output columns and charts ----------------------------------------------------------------------------------

def output_columns(name: str) -> list[str]:
    """The columns the query returns, as Athena names them (lower case), from its outer SELECT list."""
    tree = sqlglot.parse_one(render(name, **_args(name)), read="athena")
    while isinstance(tree, exp.SetOperation):
        tree = tree.left
    assert isinstance(tree, exp.Select), name
    return [e.alias_or_name.lower() for e in tree.expressions]


CHARTED = [n for n in ALL if get_query(n).chart]


@pytest.mark.parametrize("name", CHARTED)
def test_every_chart_draws_columns_the_query_returns(name):
    assert set(chart_columns(get_query(name).chart)) <= set(output_columns(name))


def sample_frame(name: str) -> pd.DataFrame:
    """Three rows with the query's output columns: numbers where the chart wants values, else text."""
    chart = get_query(name).chart
    numeric = set(chart_columns(chart)) - {chart["x"], chart.get("label")}
    rows = []
    for i, (band, day) in enumerate([("Critical", "2026-05-01"), ("High", "2026-05-02"), ("Low", "2026-05-03")]):
        row = {c: (i + 1.0 if c in numeric else f"{c}-{i}") for c in output_columns(name)}
        if chart["kind"] in ("stacked", "timeline"):
            row[chart["x"]] = f"{day}T0{i}:00:00Z" if chart["kind"] == "timeline" else day
        if chart["x"] == "severity_band":
            row["severity_band"] = band
        rows.append(row)
    return pd.DataFrame(rows)


@pytest.mark.parametrize("name", CHARTED)
@pytest.mark.parametrize("empty", [False, True], ids=["rows", "empty"])
def test_every_chart_has_a_title_and_labelled_axes(name, empty):
    frame = sample_frame(name)
    ax = plot_frame(frame.iloc[:0] if empty else frame, get_query(name).chart)
    try:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel(), (ax.get_title(), ax.get_xlabel(),
                                                                         ax.get_ylabel())
    finally:
        plt.close(ax.figure)


def test_a_chart_of_a_column_the_result_lacks_says_which_even_without_rows():
    with pytest.raises(QueryError, match="DomainName") as err:
        plot_frame(pd.DataFrame(columns=["domainname"]), {"kind": "barh", "x": "DomainName", "title": "t"})
    assert "domainname" in err.value.fix


def _colours(ax) -> list[str]:
    return [to_hex(patch.get_facecolor()).upper() for patch in ax.patches]


def test_severity_charts_use_the_report_palette():
    bands = pd.DataFrame({"severity_band": ["Critical", "High", "Medium", "Low"], "findings": [1, 2, 3, 4],
                          "min_severity": [9.0, 7.0, 4.0, 1.0], "max_severity": [9.5, 8.0, 6.0, 3.0]})
    ax = plot_frame(bands, get_query("summarize_findings_by_severity").chart)
    assert _colours(ax) == [SEVERITY_COLORS[b].upper() for b in bands["severity_band"]]
    assert ax.get_xlabel() == "severity band" and ax.get_ylabel() == "findings"
    plt.close(ax.figure)
    days = pd.DataFrame({"day": ["2026-05-01", "2026-05-02"], "findings": [4, 6], "critical": [1, 0],
                         "high": [1, 2], "medium": [1, 2], "low": [1, 2]})
    for name in ("summarize_findings_by_day", "report_findings_by_day"):
        ax = plot_frame(days, get_query(name).chart)
        per_band = {label: {c for c in _colours(ax)[i * 2:(i + 1) * 2]}
                    for i, label in enumerate(t.get_text() for t in ax.get_legend().get_texts()[::-1])}
        assert per_band == {b: {SEVERITY_COLORS[b].upper()} for b in ("Low", "Medium", "High", "Critical")}
        assert ax.get_ylabel() and ax.get_xlabel()
        plt.close(ax.figure)


# -- exfiltration families against GuardDuty's list of finding types -----------------------------------------------

def exfiltration_types() -> set[str]:
    """Every finding type an exfiltration family must list, derived from gdnb/data/finding_types.tsv."""
    return {t for t in finding_type_names()
            if t.startswith("Exfiltration:") or "CredentialExfiltration" in t or "DNSDataExfiltration" in t
            or "/DropPoint" in t or "/BlackholeTraffic" in t}


def types_matched(name: str) -> set[str]:
    """The finding types the query's type filter keeps, evaluated by DuckDB over every known type name."""
    tree = sqlglot.parse_one(render(name, **_args(name)), read="athena")
    conditions = []
    for where in tree.find_all(exp.Where):
        for part in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
            if {c.name for c in part.find_all(exp.Column)} == {"type"}:
                conditions.append(part.sql(dialect="duckdb"))
    assert conditions, f"{name} has no condition on type"
    connection = duckdb.connect()
    connection.register("known_types", pd.DataFrame({"type": sorted(finding_type_names())}))
    kept = connection.execute(f"SELECT type FROM known_types WHERE {' AND '.join(conditions)}").fetchall()
    return {row[0] for row in kept}


def test_every_exfiltration_type_belongs_to_exactly_one_family():
    expected = exfiltration_types()
    assert {"Trojan:Lambda/BlackholeTraffic", "UnauthorizedAccess:IAMUser/ResourceCredentialExfiltration.OutsideAWS",
            "Exfiltration:S3/MaliciousIPCaller", "Trojan:EC2/DropPoint!DNS"} <= expected and len(expected) >= 15
    matched = {family: types_matched(query) for family, query in catalog.families().items()}
    missing = expected - set().union(*matched.values())
    assert not missing, f"no family lists {sorted(missing)}"
    families_of = {t: [f for f, types in matched.items() if t in types] for t in set().union(*matched.values())}
    assert all(len(f) == 1 for f in families_of.values()), {t: f for t, f in families_of.items() if len(f) > 1}
    assert types_matched("list_dns_exfiltration") == {"Trojan:EC2/DNSDataExfiltration"}


@pytest.mark.parametrize(("chart", "message"), [
    ("{kind: pie, x: type, title: t}", "chart kind"),
    ("{kind: barh, x: type}", "needs x and a title"),
    ("{kind: barh, x: type, title: t, colour: red}", "unknown key"),
])
def test_catalog_refuses_a_chart_it_cannot_draw(tmp_path, chart, message):
    (tmp_path / "library").mkdir()
    (tmp_path / "library" / "q.sql").write_text("SELECT 1 AS type FROM gd_logs")
    (tmp_path / "catalog.yaml").write_text(f"queries:\n  q:\n    table: gd_logs\n    window: none\n"
                                           f"    chart: {chart}\n")
    with pytest.raises(QueryError, match=message):
        catalog.load_catalog(tmp_path / "catalog.yaml")
