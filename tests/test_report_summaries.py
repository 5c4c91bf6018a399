"""The report's pure parts: pandas summaries, matplotlib charts, the HTML export (no AWS, no sandbox)."""

from __future__ import annotations

import base64
import datetime as dt
import io
import re

import matplotlib.colors as mcolors
import nbformat
import pandas as pd
import pytest
from PIL import Image

from gdnb.record import RECORD_MIME
from gdnb.report import charts, summaries
from gdnb.report.charts import SEVERITY_COLORS
from gdnb.report.html import export_html
from gdnb.report.summaries import BANDS

WINDOW = (dt.date(2026, 5, 8), dt.date(2026, 5, 14))


def finding(fid: str, ftype: str, severity: float, created: str, updated: str | None = None, *,
            account: str = "123456789012", region: str = "us-east-1", events: int = 1, **resources: str) -> dict:
    """A row as report_findings returns it."""
    row = {c: None for c in summaries.FINDING_COLUMNS}
    row.update(finding_id=fid, type=ftype, account_id=account, region=region, severity=severity,
               created_at=f"{created}T10:00:00.000Z", updated_at=f"{updated or created}T11:30:00.000Z",
               event_count=events, exports=1, title=ftype)
    row.update(resources)
    return row


@pytest.fixture()
def findings() -> pd.DataFrame:
    return pd.DataFrame([
        finding("a", "Recon:EC2/PortProbeUnprotectedPort", 2.0, "2026-05-09", instance_id="i-1", events=5),
        finding("b", "Recon:EC2/PortProbeUnprotectedPort", 5.0, "2026-05-01", "2026-05-10", instance_id="i-1"),
        finding("c", "Recon:EC2/PortProbeUnprotectedPort", 3.9, "2026-05-14", instance_id="i-2"),
        finding("d", "Exfiltration:S3/MaliciousIPCaller", 8.0, "2026-05-12", access_key_id="AKIA1", user_name="bob",
                bucket="data-bucket", account="210987654321"),
        finding("e", "AttackSequence:S3/CompromisedData", 9.0, "2026-05-07", "2026-05-13", access_key_id="AKIA1",
                user_name="bob", bucket="data-bucket"),
        finding("f", "Trojan:EC2/DNSDataExfiltration", 7.0, "2026-05-08", instance_id="i-1", region="eu-west-1"),
        finding("g", "Discovery:Kubernetes/SuccessfulAnonymousAccess", 6.9, "2026-05-11", eks_cluster="prod"),
    ])


def test_severity_bands_have_guardduty_boundaries():
    assert [summaries.band_of(v) for v in (1.0, 3.9, 4.0, 6.9, 7.0, 8.9, 9.0, 10.0)] == [
        "Low", "Low", "Medium", "Medium", "High", "High", "Critical", "Critical"]
    assert summaries.band_of(None) == "Low" and summaries.band_of(float("nan")) == "Low"
    assert summaries.band_counts(pd.Series([9.5, 8.0, 7.0, 4.0, 1.0])) == {"Critical": 1, "High": 2, "Medium": 1,
                                                                           "Low": 1}
    assert summaries.previous_window(WINDOW) == (dt.date(2026, 5, 1), dt.date(2026, 5, 7))
    assert summaries.previous_window((dt.date(2026, 5, 8), dt.date(2026, 5, 8))) == (dt.date(2026, 5, 7),) * 2


def test_headline_counts_new_and_updated_findings_and_bands(findings):
    head = summaries.headline(findings, WINDOW, filters="regions us-east-1", notes=["2 partitions missing"])
    # b (created 05-01) and e (created 05-07) were created before the window and updated in it
    assert (head.findings, head.new, head.updated) == (7, 5, 2)
    assert dict(head.by_band) == {"Critical": 1, "High": 2, "Medium": 2, "Low": 2}
    assert (head.accounts, head.regions, head.types, head.max_severity) == (2, 2, 5, 9.0)
    assert head.as_records()["window"] == ["2026-05-08", "2026-05-14"]
    text = head.text()
    assert text.startswith("7 findings between 2026-05-08 .. 2026-05-14 (UTC), regions us-east-1: 5 new, 2 updated")
    page = head._repr_html_()
    assert ">7<" in page and ">5<" in page and SEVERITY_COLORS["Critical"] in page and "2 partitions missing" in page


def test_an_empty_window_says_there_are_no_findings():
    empty = pd.DataFrame(columns=list(summaries.FINDING_COLUMNS))
    head = summaries.headline(empty, WINDOW)
    assert head.empty and head.findings == 0 and head.max_severity is None
    assert dict(head.by_band) == {b: 0 for b in BANDS}
    assert head.text().startswith("No findings between 2026-05-08 .. 2026-05-14")
    assert "<b>No findings</b>" in head._repr_html_()
    assert summaries.top_types(empty, WINDOW).empty and summaries.top_resources(empty).empty
    assert summaries.by_day(None, WINDOW)["findings"].tolist() == [0] * 7


def test_by_day_has_every_day_of_the_window_with_the_bands_low_to_critical():
    daily = pd.DataFrame([{"day": "2026-05-09", "findings": 3, "critical": 1, "high": 0, "medium": 2, "low": 0},
                          {"day": "2026-05-14", "findings": 1, "critical": 0, "high": 0, "medium": 0, "low": 1}])
    out = summaries.by_day(daily, WINDOW)
    assert list(out.index) == [f"2026-05-{d:02d}" for d in range(8, 15)]
    assert list(out.columns) == ["Low", "Medium", "High", "Critical", "findings"]
    assert out.loc["2026-05-09"].tolist() == [0, 2, 0, 1, 3]
    assert out["findings"].sum() == 4 and out.loc["2026-05-10", "findings"] == 0


def test_top_types_rank_by_findings_with_bands_new_and_events(findings):
    top = summaries.top_types(findings, WINDOW, n=2)
    assert list(top.index) == [1, 2]
    first = top.iloc[0]
    assert first["type"] == "Recon:EC2/PortProbeUnprotectedPort"
    assert (first["findings"], first["Medium"], first["Low"], first["new"], first["events"]) == (3, 1, 2, 2, 7)
    assert top.iloc[1]["type"] == "AttackSequence:S3/CompromisedData"  # 1 finding each: the most severe first


def test_top_resources_count_each_resource_a_finding_names(findings):
    top = summaries.top_resources(findings, n=10)
    rows = {(r.resource_kind, r.resource): r for r in top.itertuples()}
    assert rows[("EC2 instance", "i-1")].findings == 3
    assert rows[("EC2 instance", "i-1")].severity_band == "High"  # the DNS exfiltration finding, 7.0
    assert rows[("access key", "AKIA1 (bob)")].findings == 2
    assert rows[("S3 bucket", "data-bucket")].severity_band == "Critical"
    assert rows[("EKS cluster", "prod")].findings == 1
    assert top.iloc[0]["resource"] == "i-1"  # most findings first
    assert top.iloc[1]["resource"] in ("AKIA1 (bob)", "data-bucket")  # 2 findings, Critical
    assert rows[("EC2 instance", "i-1")].last_updated == "2026-05-10 11:30"
    assert len(summaries.top_resources(findings, n=2)) == 2


def test_recurrence_sorts_types_and_adds_up():
    rows = pd.DataFrame([
        {"type": "A", "findings": 2, "new_since_previous": 1, "recurring": 1, "previous_window": 3,
         "not_seen_again": 2},
        {"type": "B", "findings": 5, "new_since_previous": 5, "recurring": 0, "previous_window": 0,
         "not_seen_again": 0},
        {"type": "C", "findings": 0, "new_since_previous": 0, "recurring": 0, "previous_window": 1,
         "not_seen_again": 1}])
    out = summaries.recurrence(rows)
    assert list(out["type"]) == ["B", "A", "C"]
    assert list(summaries.recurrence(rows, n=1)["type"]) == ["B"]
    assert summaries.recurrence_totals(rows) == {"findings": 7, "new_since_previous": 6, "recurring": 1,
                                                 "previous_window": 4, "not_seen_again": 3}


def test_every_exfiltration_family_of_the_library_has_a_title_in_the_report():
    from gdnb.queries.catalog import families

    assert set(families()) == set(summaries.FAMILY_TITLES)
    drop = pd.DataFrame([{"finding_id": "d", "type": "Trojan:Lambda/BlackholeTraffic", "severity": 5.0,
                          "lambda_function": "fn", "remote_ip": "198.51.100.7", "event_count": 2,
                          "first_seen": "2026-05-09T01:02:03.000Z", "last_seen": "2026-05-09T01:02:03.000Z"}])
    out = summaries.exfiltration_summary({"drop_point_traffic": drop})
    assert out.iloc[0]["family"] == "Drop points and sinkholes" and out.iloc[0]["most_severe"] == "fn -> 198.51.100.7"


def test_exfiltration_summary_has_a_row_per_family_even_when_nothing_was_found():
    dns = pd.DataFrame([{"finding_id": "x", "severity": 8.0, "instance_id": "i-9", "domain": "evil.example",
                         "event_count": 40, "first_seen": "2026-05-09T01:02:03.000Z",
                         "last_seen": "2026-05-12T04:05:06.000Z"}])
    out = summaries.exfiltration_summary({"dns_data_exfiltration": dns, "s3_exfiltration": pd.DataFrame(
        columns=["finding_id", "severity", "bucket", "event_count", "first_seen", "last_seen"])})
    assert list(out["family"]) == ["DNS data exfiltration", "S3 exfiltration"]
    first = out.iloc[0]
    assert (first["findings"], first["High"], first["events"]) == (1, 1, 40)
    assert first["most_severe"] == "i-9 -> evil.example"
    assert (first["first_seen"], first["last_seen"]) == ("2026-05-09 01:02", "2026-05-12 04:05")
    assert out.iloc[1]["findings"] == 0 and out.iloc[1]["most_severe"] == ""


def test_query_costs_end_with_a_total():
    history = pd.DataFrame([
        {"name": "report_findings", "state": "SUCCEEDED", "statement_type": "DML", "rows": 7, "bytes_scanned": 1000,
         "billed_bytes": 10 * 2**20, "cost_usd": 0.0000477, "total_ms": 120, "query_id": "q1"},
        {"name": None, "state": "SUCCEEDED", "statement_type": "DDL", "rows": 0, "bytes_scanned": 0,
         "billed_bytes": 0, "cost_usd": 0.0, "total_ms": 30, "query_id": "q2"}])
    out = summaries.query_costs(history)
    assert list(out["name"]) == ["report_findings", "(sql)", "total"]
    total = out.iloc[-1]
    assert (total["bytes_scanned"], total["billed_bytes"], total["total_ms"]) == (1000, 10 * 2**20, 150)
    assert total["cost_usd"] == pytest.approx(0.0000477) and total["state"] == "2 queries"


# -- charts -----------------------------------------------------------------------------------------

def png_size(chart: charts.Chart) -> tuple[int, int]:
    data, metadata = chart._repr_png_()
    assert metadata["alt"] == chart.title
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return Image.open(io.BytesIO(data)).size


def bar_colours(chart: charts.Chart) -> dict[str, set[str]]:
    """Legend label -> the colours of its bars."""
    ax = chart.figure.axes[0]
    out: dict[str, set[str]] = {}
    for container in ax.containers:
        out.setdefault(container.get_label(), set()).update(mcolors.to_hex(p.get_facecolor()) for p in container)
    return out


def test_every_chart_is_a_titled_png_with_labelled_axes_and_the_band_colours(findings):
    daily = pd.DataFrame([{"day": "2026-05-09", "findings": 3, "critical": 1, "high": 1, "medium": 1, "low": 0}])
    recurring = pd.DataFrame([{"type": "A", "findings": 2, "new_since_previous": 1, "recurring": 1,
                               "previous_window": 3, "not_seen_again": 2}])
    exfil = summaries.exfiltration_summary({"dns_data_exfiltration": pd.DataFrame([{"severity": 8.0}])})
    costs = summaries.query_costs(pd.DataFrame([{"name": "q", "state": "SUCCEEDED", "statement_type": "DML",
                                                 "rows": 1, "bytes_scanned": 3 * 2**20, "billed_bytes": 10 * 2**20,
                                                 "cost_usd": 0.00005, "total_ms": 10, "query_id": "1"}]))
    made = {
        "bands": charts.severity_bands(summaries.band_counts(findings["severity"])),
        "over_time": charts.severity_over_time(summaries.by_day(daily, WINDOW)),
        "types": charts.top_types(summaries.top_types(findings, WINDOW)),
        "resources": charts.top_resources(summaries.top_resources(findings)),
        "recurring": charts.new_vs_recurring(summaries.recurrence(recurring)),
        "exfiltration": charts.exfiltration(exfil),
        "costs": charts.query_costs(costs),
    }
    for name, chart in made.items():
        width, height = png_size(chart)
        assert width > 300 and height > 150, name
        ax = chart.figure.axes[0]
        assert ax.get_title(loc="left") and ax.get_xlabel() and ax.get_ylabel(), name
    # One palette: a band has the same colour in every chart that shows it.
    for name in ("over_time", "types", "exfiltration"):
        for band, colours in bar_colours(made[name]).items():
            assert colours == {SEVERITY_COLORS[band].lower()}, (name, band)
    assert bar_colours(made["over_time"]).keys() == set(BANDS)
    bands_chart = {mcolors.to_hex(p.get_facecolor()) for c in made["bands"].figure.axes[0].containers for p in c}
    assert bands_chart == {c.lower() for c in SEVERITY_COLORS.values()}
    resources_chart = bar_colours(made["resources"])
    assert resources_chart["Critical"] == {SEVERITY_COLORS["Critical"].lower()}


def test_charts_of_nothing_say_so_instead_of_failing():
    empty = pd.DataFrame(columns=list(summaries.FINDING_COLUMNS))
    for chart in (charts.severity_over_time(summaries.by_day(None, WINDOW)),
                  charts.severity_bands({b: 0 for b in BANDS}),
                  charts.top_types(summaries.top_types(empty, WINDOW)),
                  charts.top_resources(summaries.top_resources(empty)),
                  charts.new_vs_recurring(summaries.recurrence(None)),
                  charts.exfiltration(summaries.exfiltration_summary({"s3_exfiltration": pd.DataFrame()}))):
        texts = [t.get_text() for t in chart.figure.axes[0].texts]
        assert any(t.startswith("No ") for t in texts), texts
        assert png_size(chart)[0] > 300


# -- HTML -------------------------------------------------------------------------------------------

def test_html_export_has_no_code_embeds_the_charts_and_fetches_nothing(tmp_path, findings):
    chart = charts.top_types(summaries.top_types(findings, WINDOW))
    png = base64.b64encode(chart.png()).decode()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# The report\n\nSome *narrative*."),
        nbformat.v4.new_code_cell("secret_code_line = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("charts.top_types(x)  # a chart", outputs=[nbformat.v4.new_output(
            "display_data", data={"image/png": png, "text/plain": "<chart>"},
            metadata={"image/png": {"alt": "Top finding types"}})]),
        nbformat.v4.new_code_cell("gdnb.record('n', 7)", outputs=[nbformat.v4.new_output(
            "display_data", data={RECORD_MIME: {"n": 7}, "text/plain": "recorded n = 7"})]),
        nbformat.v4.new_markdown_cell("operator notes", metadata={"tags": ["remove-cell"]}),
        nbformat.v4.new_code_cell("boom()", outputs=[nbformat.v4.new_output(
            "error", ename="NotFoundError", evalue="The table guardduty.gd_findings does not exist",
            traceback=["NotFoundError: The table guardduty.gd_findings does not exist"])]),
    ]
    path = tmp_path / "report.ipynb"
    nbformat.write(nb, path)
    html_path = export_html(path, title="Findings 2026-05-08 .. 2026-05-14")
    page = html_path.read_text()
    assert html_path == tmp_path / "report.html"
    assert "<title>Findings 2026-05-08 .. 2026-05-14</title>" in page
    [image] = re.findall(r"<img\b[^>]*>", page)
    assert f'src="data:image/png;base64,{png}"' in image and 'alt="Top finding types"' in image
    assert "secret_code_line" not in page and "charts.top_types" not in page and "boom()" not in page
    assert "recorded n = 7" not in page and "operator notes" not in page
    assert "NotFoundError" in page and "does not exist" in page  # a failure stays visible
    assert "Some <em>narrative</em>" in page
    assert not re.search(r"<script[^>]+src=", page), "the page loads no script from anywhere"
    assert "cdnjs" not in page and "mathjax" not in page.lower()
