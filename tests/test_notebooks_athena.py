"""Notebooks 02, 03 and 04 run by papermill on a seeded sandbox, with params/sandbox.yaml.

The export is set up as notebooks 00 and 01 do it (gdnb's setup plans), a history is seeded through the
sandbox's GuardDuty (its manifest is the ground truth), then the three notebooks run in order and their
records are checked: tables created (and nothing to do the second time), partitions registered once and
pruned exactly, the planted incidents found with the manifest's details and counts.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import athena_support as sup
import pytest

from gdnb.athena import Session, ensure_workgroup
from gdnb.config import load_settings
from gdnb.notebooks import run_notebook
from gdnb.partitions import sync_partitions
from gdnb.queries import catalog
from gdnb.record import read_records
from gdnb.tables import create_tables

ROOT = Path(__file__).resolve().parent.parent
PARAMS = ROOT / "params" / "sandbox.yaml"
DAYS = 8
END = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)


@pytest.fixture(scope="module")
def seeded(sandbox):
    """params/sandbox.yaml's export (three regions into one bucket), with DAYS days of history."""
    sup.reset(sandbox)
    s = load_settings(PARAMS, overrides={"sample_findings": "none", "apply": True})
    sup.setup_export(s)
    reply = sup.seed(sandbox, days=DAYS, regions=s.exporting_regions, findings_per_day=30, end=END)
    return {"settings": s, "reply": reply, "manifest": reply["manifest_path"]}


def test_notebooks_02_03_04_on_a_seeded_sandbox(seeded, tmp_path):
    s = seeded["settings"]
    window = {"end": END.isoformat(), "lookback_days": DAYS}

    nb02 = read_records(run_notebook("02_create_tables", PARAMS, output_dir=tmp_path / "first"))
    assert [a["change"] for a in nb02["workgroup_actions"]] == ["create", "create"]
    assert [(a["resource"], a["change"]) for a in nb02["table_actions"]] == [
        ("guardduty", "create"), ("guardduty.gd_logs", "create"), ("guardduty.gd_logs_old_docs", "create"),
        ("guardduty.gd_findings", "create"), ("guardduty.gd_findings_projected", "create")]
    rows = seeded["reply"]["rows"]
    assert sorted(nb02["timestamp_columns"], key=lambda r: r["table_name"]) == [
        {"table_name": "gd_logs", "rows_read": rows, "created_set": rows, "updated_set": rows},
        {"table_name": "gd_logs_old_docs", "rows_read": rows, "created_set": 0, "updated_set": 0}]
    again = read_records(run_notebook("02_create_tables", PARAMS, output_dir=tmp_path / "second"))
    assert {a["change"] for a in again["workgroup_actions"] + again["table_actions"]} == {"no-op"}

    last_3_days = {"end": END.isoformat(), "lookback_days": 3}
    nb03 = read_records(run_notebook("03_manual_partitions", PARAMS, last_3_days, output_dir=tmp_path / "first"))
    partitions = DAYS * len(s.exporting_regions)
    first, second = nb03["syncs"]
    assert nb03["discovery"]["partitions"] == partitions and first["added"] == partitions
    assert nb03["discovery"]["unknown_regions"] == [] and len(nb03["discovery"]["layout"]) == len(s.exporting_regions)
    assert nb03["msck_added"] == 0
    assert first["applied"] and first["write_calls"] == 1 and first["write_unit"] == "statements"
    assert second["added"] == 0 and second["write_calls"] == 0
    scans = nb03["scans"]
    assert scans["ratio_to_minimum"]["gd_findings"] == pytest.approx(1.0)
    assert scans["ratio_to_minimum"]["gd_findings_projected"] == pytest.approx(1.0)
    assert scans["same_answer"] is True and scans["baseline"] == "gd_logs"
    table = {row["query"]: row for row in scans["table"]}
    assert table["gd_findings_projected"]["bytes_scanned"] == table["gd_findings"]["bytes_scanned"]
    assert table["gd_findings"]["bytes_scanned"] < 0.6 * table["gd_logs"]["bytes_scanned"]  # 3 of 8 days
    assert scans["share_of_baseline"]["gd_findings"] == pytest.approx(
        table["gd_findings"]["bytes_scanned"] / table["gd_logs"]["bytes_scanned"])
    assert nb03["query_cost_usd"] > 0

    nb04 = read_records(run_notebook("04_exfiltration_queries", PARAMS, {**window,
                                                                         "manifest_path": seeded["manifest"]},
                                     output_dir=tmp_path / "first"))
    incidents = {row["kind"]: row for row in nb04["incidents"]["rows"]}
    assert set(incidents) == {"dns_exfiltration", "instance_credential_exfiltration", "s3_exfiltration"}
    assert all(row["found"] and row["match"] for row in incidents.values()), incidents
    assert all(row["expected_count"] == row["found_count"] for row in incidents.values())
    assert nb04["incidents"]["all_match"] is True and nb04["type_counts"]["all_match"] is True
    rows = nb04["rows"]
    assert set(catalog.families().values()) <= set(rows)  # every family's query ran
    assert rows["list_dns_exfiltration"] >= 1 and rows["list_s3_exfiltration"] >= 1
    assert rows["list_dns_exfiltration_aws_docs"] > nb04["docs_query_findings"] >= 1  # it repeats updated findings
    assert 1 <= rows["summarize_findings_by_day"] <= DAYS  # at most one row per day of the window
    assert nb04["query_cost_usd"] > 0


def test_notebook_04_without_a_manifest_says_there_is_nothing_to_compare(seeded, tmp_path):
    s = seeded["settings"]
    ensure_workgroup(s)  # what notebooks 02 and 03 leave (no-ops when they ran just before)
    session = Session(s)
    create_tables(session)
    sync_partitions(s, session=session)
    out = run_notebook("04_exfiltration_queries", PARAMS, {"end": END.isoformat(), "lookback_days": DAYS},
                       output_dir=tmp_path)
    records = read_records(out)
    assert records["incidents"]["rows"] == [] and records["incidents"]["all_match"] is False
    assert "nothing to compare" in records["incidents"]["note"] and "nothing to compare" in out.read_text()
