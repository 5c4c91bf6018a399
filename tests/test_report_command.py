"""`gdnb report` (gdnb.report.runner.main): notebook 05 run by papermill, kept as a notebook and as HTML.

On a seeded sandbox the report's figures are checked against the seeding manifest and against the exported
objects read back through S3. A failing cell, a hung cell and an empty window still give an HTML report;
bad parameters stop the command before any kernel starts.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import report_support as rs

from gdnb.record import read_records
from gdnb.report import runner

TODAY = dt.datetime.now(dt.UTC).date()


@pytest.fixture(scope="module")
def seeded(sandbox):
    return rs.seed_sandbox(sandbox)


def report(capsys, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    code = runner.main(["-f", str(rs.PARAMS), "--output-dir", str(tmp_path), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def html_path_of(stdout: str) -> Path:
    match = re.search(r"^report: (.+)$", stdout, re.MULTILINE)
    assert match, stdout
    return Path(match.group(1))


def test_the_report_of_a_seeded_sandbox_has_the_figures_the_manifest_predicts(seeded, tmp_path, capsys):
    code, out, err = report(capsys, tmp_path, "-p", "end", rs.END.isoformat(), "-p", "lookback_days", "7")
    assert code == 0, out + err
    html = html_path_of(out)
    start, end = rs.WINDOW
    stem = f"05_findings_report_{start}_{end}"
    assert html == (tmp_path / "05_findings_report" / TODAY.isoformat() / f"{stem}.html").resolve()
    records = read_records(html.with_suffix(".ipynb"))

    manifest = rs.expected_from_manifest(seeded["manifest"], rs.WINDOW)
    objects = rs.expected_from_objects(rs.exported_rows(seeded["settings"]), rs.WINDOW)
    assert records["window"] == [start.isoformat(), end.isoformat()]
    assert records["findings_total"] == manifest["findings_total"] == objects["findings_total"] > 0
    assert records["by_band"] == manifest["by_band"] == objects["by_band"]
    assert all(records["by_band"][band] > 0 for band in ("Critical", "High", "Medium", "Low"))
    assert records["by_type"] == manifest["by_type"]
    assert records["by_day"] == manifest["by_day"] == objects["by_day"]
    assert (records["new"], records["updated"]) == (objects["new"], objects["updated"])
    assert records["new"] > 0 and records["updated"] > 0  # the seeded history re-exports findings
    assert records["recurrence"] == objects["recurrence"] and records["recurrence"]["recurring"] > 0
    assert records["previous_window"] == [(start - dt.timedelta(days=7)).isoformat(),
                                          (start - dt.timedelta(days=1)).isoformat()]
    planted = {i["kind"] for i in seeded["manifest"]["incidents"]}
    assert planted == {"dns_exfiltration", "instance_credential_exfiltration", "s3_exfiltration"}
    exfiltration = records["exfiltration"]
    assert exfiltration["dns_data_exfiltration"] >= 1 and exfiltration["s3_exfiltration"] >= 1
    assert exfiltration["instance_credential_exfiltration"] >= 1
    assert records["queries"] >= 8 and records["query_cost_usd"] > 0 and records["notes"] == []

    page = html.read_text()
    assert len(rs.images(page)) >= 7  # bands, per day, types, resources, new/recurring, exfiltration, cost
    assert (f"{records['findings_total']} findings between {start} .. {end} (UTC): {records['new']} new, "
            f"{records['updated']} updated") in page
    assert "gdnb.report.build" not in page and "settings_from_namespace" not in page  # no code
    assert f"{records['findings_total']} findings ({records['new']} new" in out
    # The report registered the partitions of both windows itself (the test set up no table, no partition).
    assert records["partitions_added"] == len(rs.REGIONS) * 2 * rs.LOOKBACK  # regions x both windows' days


def test_a_failing_cell_still_writes_the_html_and_exits_1(seeded, tmp_path, capsys):
    code, out, err = report(capsys, tmp_path, "-p", "database", "nosuchdb", "-p", "apply", "false",
                            "-p", "end", rs.END.isoformat())
    assert code == 1
    html = html_path_of(out)
    page = html.read_text()
    assert "NotFoundError" in page and "nosuchdb" in page  # the failing cell's error is in the report
    assert "the report notebook failed" in err and "NotFoundError" in err and str(html) in err
    assert html.with_suffix(".ipynb").is_file()


def test_an_empty_window_gives_a_report_that_says_so(seeded, tmp_path, capsys):
    code, out, err = report(capsys, tmp_path, "-p", "start", "2020-01-01", "-p", "end", "2020-01-07")
    assert code == 0, out + err
    html = html_path_of(out)
    assert html.name == "05_findings_report_2020-01-01_2020-01-07.html"
    records = read_records(html.with_suffix(".ipynb"))
    assert records["findings_total"] == 0 and records["by_band"] == {"Critical": 0, "High": 0, "Low": 0,
                                                                     "Medium": 0}
    page = html.read_text()
    assert "<b>No findings</b> between 2020-01-01 .. 2020-01-07" in page
    assert len(rs.images(page)) >= 6  # charts that say there is nothing to draw


def test_the_report_runs_as_a_scheduler_runs_it(seeded, sandbox, tmp_path):
    """As cron does: another working directory, a bare PATH, the venv's Python by absolute path."""
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", str(tmp_path)), **sandbox.env()}
    done = subprocess.run([sys.executable, "-m", "gdnb.report.runner", "-f", str(rs.PARAMS.resolve()),
                           "-p", "end", rs.END.isoformat()], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    html = html_path_of(done.stdout)
    assert html.is_relative_to(tmp_path.resolve() / "reports" / "05_findings_report" / TODAY.isoformat())
    assert read_records(html.with_suffix(".ipynb"))["findings_total"] > 0


def test_the_example_params_explain_every_key_and_fit_the_notebook():
    from gdnb.config import load_settings
    from gdnb.notebooks import notebook_parameters

    declared = set(notebook_parameters("05_findings_report"))
    for name in ("report.example.yaml", "report.sandbox.yaml"):
        path = rs.ROOT / "params" / name
        load_settings(path)
        keys = [line.split(":")[0] for line in path.read_text().splitlines() if re.match(r"^[a-z_]+:", line)]
        assert set(keys) <= declared, (name, set(keys) - declared)
        lines = path.read_text().splitlines()
        if name == "report.example.yaml":
            for i, line in enumerate(lines):
                if re.match(r"^[a-z_]+:", line):
                    assert lines[i - 1].startswith("#"), f"no comment above {line!r}"


# -- without a sandbox ------------------------------------------------------------------------------

def tiny_notebook(path: Path, code: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# A tiny report"),
                nbformat.v4.new_code_cell('start: str = None  # first day\nend: str = None  # last day\n'
                                          'lookback_days: int = 7  # days', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("print('first cell ran')"),
                nbformat.v4.new_code_cell(code)]
    nbformat.write(nb, path)
    return path


def test_a_hung_cell_is_stopped_by_the_timeout_and_the_html_says_so(tmp_path, capsys):
    notebook = tiny_notebook(tmp_path / "hangs.ipynb", "import time\ntime.sleep(120)")
    params = tmp_path / "p.yaml"
    params.write_text("lookback_days: 3\nend: 2026-05-07\n")
    began = time.monotonic()
    code = runner.main(["-f", str(params), "--notebook", str(notebook), "--timeout", "3",
                        "--output-dir", str(tmp_path / "out")])
    out = capsys.readouterr()
    assert code == 1 and time.monotonic() - began < 60
    html = html_path_of(out.out)
    assert html == (tmp_path / "out" / "hangs" / TODAY.isoformat() / "hangs_2026-05-05_2026-05-07.html").resolve()
    page = html.read_text()
    assert "The report was stopped" in page and "first cell ran" in page and "CellTimeoutError" in page
    assert "--timeout 3 s" in out.err


def test_bad_parameters_stop_the_command_before_anything_runs(tmp_path, capsys):
    code, _, err = report(capsys, tmp_path, "-p", "min_severity", "11")
    assert code == 2 and "min_severity" in err and "between 0.0 and 10.0" in err
    code, _, err = report(capsys, tmp_path, "-p", "lookbak_days", "3")
    assert code == 2 and "lookbak_days" in err and "lookback_days" in err
    code, _, err = report(capsys, tmp_path, "--timeout", "0")
    assert code == 2 and "--timeout" in err
    for name, typo in (("start", "2026-13-01"), ("end", "2026-02-30")):  # impossible dates, as in params files
        code, _, err = report(capsys, tmp_path, "-p", name, typo)
        assert code == 2 and f"Invalid setting '{name}'" in err and typo in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())  # nothing was written


def test_parameter_values_are_read_as_yaml_scalars():
    assert runner.parse_value("7") == 7 and runner.parse_value("7.5") == 7.5
    assert runner.parse_value("true") is True and runner.parse_value("null") is None
    assert runner.parse_value("[us-east-1, eu-west-1]") == ["us-east-1", "eu-west-1"]
    assert runner.parse_value("2026-05-01") == "2026-05-01"  # dates stay text until the settings check them
    assert runner.parse_value("2026-13-01") == "2026-13-01" and runner.parse_value("[2026-05-01]") == ["2026-05-01"]
    assert runner.parse_value("guardduty") == "guardduty" and runner.parse_value("a: [") == "a: ["
    ipynb, html = runner.output_paths("reports", "05_findings_report", (dt.date(2026, 5, 1), dt.date(2026, 5, 7)),
                                      dt.date(2026, 5, 8))
    assert ipynb == Path("reports/05_findings_report/2026-05-08/05_findings_report_2026-05-01_2026-05-07.ipynb")
    assert html == ipynb.with_suffix(".html")
