"""Helpers for the findings report's end-to-end tests: a seeded sandbox, and the truth about it.

The export is set up with gdnb's setup plans, the Athena workgroup with ``ensure_workgroup`` (what notebooks
00-02 leave), and a history is seeded through the sandbox's GuardDuty. The report itself must do the rest
(create ``gd_findings``, register the partitions). The expected figures come from two independent places:
the seeding manifest (counts per day, type and band, latest version of each finding) and the exported
objects themselves, read back through S3 (creation dates, which days each finding was exported).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import athena_support as sup
import boto3

from gdnb.athena import ensure_workgroup
from gdnb.config import Settings, load_settings
from gdnb.report.summaries import BANDS, band_of, previous_window

ROOT = Path(__file__).resolve().parent.parent
PARAMS = ROOT / "params" / "report.sandbox.yaml"
REGIONS = ["ap-northeast-1", "us-east-1"]
DAYS = 14
PER_DAY = 50
LOOKBACK = 7
END = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)  # the seeding's default last day
WINDOW = (END - dt.timedelta(days=LOOKBACK - 1), END)
KEY_RE = re.compile(r"AWSLogs/\d{12}/GuardDuty/(?P<region>[a-z0-9-]+)/(?P<day>\d{4}/\d{2}/\d{2})/")


def seed_sandbox(state: Any) -> dict[str, Any]:
    """Reset the sandbox, set up the export in REGIONS and the workgroup, seed DAYS x REGIONS x PER_DAY."""
    sup.reset(state)
    s = load_settings(ROOT / "params" / "sandbox.yaml",
                      overrides={"sample_findings": "none", "apply": True, "export_regions": REGIONS})
    sup.setup_export(s)
    ensure_workgroup(s)
    reply = sup.seed(state, days=DAYS, regions=REGIONS, findings_per_day=PER_DAY, end=END)
    manifest = json.loads(Path(reply["manifest_path"]).read_text())
    return {"settings": s, "reply": reply, "manifest": manifest}


def exported_rows(settings: Settings) -> list[dict[str, Any]]:
    """Every exported finding row, with the day and region of the object it is in."""
    s3 = boto3.client("s3", region_name=settings.home_region)
    rows = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket, Prefix="AWSLogs/"):
        for obj in page.get("Contents", []):
            match = KEY_RE.match(obj["Key"])
            body = s3.get_object(Bucket=settings.bucket, Key=obj["Key"])["Body"].read()
            for line in gzip.decompress(body).decode().splitlines():
                if line.strip():
                    rows.append({**json.loads(line), "_day": match["day"].replace("/", "-"),
                                 "_region": match["region"]})
    return rows


def expected_from_objects(rows: list[dict[str, Any]], window: tuple[dt.date, dt.date]) -> dict[str, Any]:
    """The report's figures computed from the exported rows (latest version of each finding in the window)."""
    start, end = window[0].isoformat(), window[1].isoformat()
    previous = tuple(d.isoformat() for d in previous_window(window))
    latest: dict[str, dict[str, Any]] = {}
    days_of: dict[str, set[str]] = defaultdict(set)
    per_day: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if previous[0] <= row["_day"] <= end:
            days_of[row["id"]].add(row["_day"])
        if not start <= row["_day"] <= end:
            continue
        per_day[row["_day"]].add(row["id"])
        if row["id"] not in latest or row["updatedAt"] > latest[row["id"]]["updatedAt"]:
            latest[row["id"]] = row
    new = sum(1 for r in latest.values() if r["createdAt"][:10] >= start)
    bands = {b: 0 for b in BANDS}
    for r in latest.values():
        bands[band_of(float(r["severity"]))] += 1
    in_previous = {i for i, days in days_of.items() if any(previous[0] <= d <= previous[1] for d in days)}
    in_window = set(latest)
    return {
        "findings_total": len(latest), "new": new, "updated": len(latest) - new, "by_band": bands,
        "by_day": {d: len(ids) for d, ids in sorted(per_day.items())},
        "recurrence": {"findings": len(in_window), "new_since_previous": len(in_window - in_previous),
                       "recurring": len(in_window & in_previous), "previous_window": len(in_previous),
                       "not_seen_again": len(in_previous - in_window)},
    }


def expected_from_manifest(manifest: dict[str, Any], window: tuple[dt.date, dt.date]) -> dict[str, Any]:
    """Findings, per band, per type (latest versions) and per day (rows) in the window, from the manifest."""
    columns = manifest["cells_columns"]
    start, end = window[0].isoformat(), window[1].isoformat()
    cells = [dict(zip(columns, c, strict=True)) for c in manifest["cells"] if start <= c[0] <= end]
    bands = {b: 0 for b in BANDS}
    by_type: dict[str, int] = defaultdict(int)
    by_day: dict[str, int] = defaultdict(int)
    for c in cells:
        bands[c["severity_band"]] += c["latest"]
        if c["latest"]:
            by_type[c["type"]] += c["latest"]
        by_day[c["day"]] += c["rows"]
    return {"findings_total": sum(bands.values()), "by_band": bands, "by_type": dict(by_type),
            "by_day": dict(sorted(by_day.items()))}


def images(html: str) -> list[str]:
    """The ``<img>`` tags of a page whose source is an embedded PNG."""
    return [tag for tag in re.findall(r"<img\b[^>]*>", html) if 'src="data:image/png;base64,' in tag]
