"""Check query results against a ground truth: the manifest a seeded history comes with.

The sandbox's seeding (``gdnb sandbox seed``) writes a JSON manifest of what it planted
(incidents with their resources and actors) and of every exported row (``cells``: day, region,
account, type, severity band, rows, latest). These functions say whether the exfiltration
queries found each planted incident with the right details, and whether per-type counts over a
window match. With no manifest (a real account) there is nothing to compare, and they say so.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from gdnb.errors import GdnbError

# incident kind -> (library query, {manifest field: result column})
INCIDENT_QUERIES: dict[str, tuple[str, dict[str, str]]] = {
    "dns_exfiltration": ("list_dns_exfiltration", {"instance_id": "instance_id", "domain": "domain",
                                                   "protocol": "protocol"}),
    "instance_credential_exfiltration": ("list_instance_credential_exfiltration", {
        "access_key_id": "access_key_id", "principal_id": "principal_id", "user_name": "user_name",
        "api": "api", "remote_ip": "remote_ip", "country": "remote_country", "asn_org": "remote_asn_org"}),
    "s3_exfiltration": ("list_s3_exfiltration", {
        "bucket": "bucket", "access_key_id": "access_key_id", "user_name": "user_name", "api": "api",
        "remote_ip": "remote_ip", "country": "remote_country", "asn_org": "remote_asn_org"}),
}
COMMON_FIELDS = {"type": "type", "region": "region", "first_seen": "first_seen", "last_seen": "last_seen"}


@dataclasses.dataclass
class Comparison:
    """A comparison's rows, or why there was nothing to compare."""

    frame: pd.DataFrame
    note: str = ""

    @property
    def all_match(self) -> bool:
        """True when there was something to compare and every row matched."""
        return not self.frame.empty and bool(self.frame["match"].all())

    def records(self) -> dict[str, Any]:
        """What a notebook records: the rows, whether all matched, and the note."""
        return {"rows": self.frame, "all_match": self.all_match, "note": self.note}

    def __repr__(self) -> str:
        return self.note if self.frame.empty else f"{self.note}\n{self.frame!r}"

    def _repr_html_(self) -> str:
        head = f"<p>{html.escape(self.note)}</p>"
        return head if self.frame.empty else head + self.frame.to_html(index=False)


def load_manifest(path: str | Path | None) -> dict[str, Any] | None:
    """The seeding manifest at ``path``, or None when ``path`` is empty (a real account has none)."""
    if not path:
        return None
    p = Path(path)
    if not p.is_file():
        raise GdnbError(f"The seeding manifest {p} does not exist.",
                        "pass the manifest_path that `gdnb sandbox seed` printed, or leave it empty.")
    return json.loads(p.read_text())


def _frame_of(result: Any) -> pd.DataFrame:
    return result.frame if hasattr(result, "frame") else result


def _by_query(results: tuple[Any, ...]) -> dict[str, Any]:
    named: dict[str, Any] = {}
    for result in results:
        if isinstance(result, Mapping):
            named.update(result)
            continue
        name = getattr(getattr(result, "query", None), "name", None)
        if not name:
            raise GdnbError("A result given to compare_incidents did not come from a library query, so it is not "
                            "known which incidents it should hold.",
                            "pass results of session.run(...), or {query name: frame}.")
        named[name] = result
    return named


def compare_incidents(manifest: Mapping[str, Any] | None, *results: Any) -> Comparison:
    """Whether each planted incident is in its family's query result, with its details.

    Parameters
    ----------
    manifest
        From :func:`load_manifest` (None: nothing to compare).
    *results
        Results of library queries (``session.run(...)``: each knows its query), or mappings of
        query name -> result or DataFrame, e.g. ``{"list_dns_exfiltration": dns}``.

    Returns
    -------
    One row per incident: kind, finding id, found, the fields that differ, the expected and found
    event count (``service.count`` of the last export), and ``match``.
    """
    columns = ["kind", "finding_id", "found", "fields_checked", "mismatches", "expected_count", "found_count",
               "match"]
    if not manifest:
        return Comparison(pd.DataFrame(columns=columns),
                          "No seeding manifest (manifest_path is empty): nothing to compare on a real account.")
    results_by_query = _by_query(results)
    rows = []
    for incident in manifest.get("incidents", []):
        kind = incident["kind"]
        if kind not in INCIDENT_QUERIES:
            continue
        query, fields = INCIDENT_QUERIES[kind]
        if query not in results_by_query:
            continue
        frame = _frame_of(results_by_query[query])
        hits = frame[frame["finding_id"] == incident["finding_id"]] if "finding_id" in frame else frame.iloc[:0]
        expected_count = int(incident["counts"][-1]) if incident.get("counts") else None
        mismatches: list[str] = []
        found_count = None
        checks = {**{k: v for k, v in COMMON_FIELDS.items() if v in frame.columns}, **fields}
        if len(hits):
            row = hits.iloc[0]
            for field, column in checks.items():
                want, got = incident.get(field), row.get(column)
                if want is not None and str(got) != str(want):
                    mismatches.append(f"{column}: {got!r} != {want!r}")
            found_count = int(row["event_count"]) if "event_count" in row and pd.notna(row["event_count"]) else None
            if expected_count is not None and found_count != expected_count:
                mismatches.append(f"event_count: {found_count} != {expected_count}")
        rows.append({"kind": kind, "finding_id": incident["finding_id"], "found": bool(len(hits)),
                     "fields_checked": len(checks) + 1, "mismatches": "; ".join(mismatches),
                     "expected_count": expected_count, "found_count": found_count,
                     "match": bool(len(hits)) and not mismatches})
    frame = pd.DataFrame(rows, columns=columns)
    found = int(frame["match"].sum()) if len(frame) else 0
    return Comparison(frame, f"{found} of {len(frame)} planted incidents found with every detail right.")


def expected_latest_counts(manifest: Mapping[str, Any], start: dt.date, end: dt.date, by: str = "type",
                           regions: tuple[str, ...] = ()) -> pd.Series:
    """Findings per ``by`` (a cells column) whose last export falls in ``start..end``, from the manifest."""
    cells = pd.DataFrame(manifest.get("cells", []), columns=manifest.get("cells_columns"))
    if cells.empty:
        return pd.Series(dtype="int64")
    days = pd.to_datetime(cells["day"]).dt.date
    keep = (days >= start) & (days <= end)
    if regions:
        keep &= cells["region"].isin(regions)
    return cells[keep].groupby(by)["latest"].sum().astype("int64").loc[lambda s: s > 0]


def compare_counts(manifest: Mapping[str, Any] | None, found: Any, window: tuple[dt.date, dt.date], *,
                   by: str = "type", column: str | None = None, count_column: str = "findings",
                   regions: tuple[str, ...] = ()) -> Comparison:
    """Per-``by`` counts of a summary query against the manifest, over the same window.

    The queries count each finding once at its latest version; the manifest's ``latest`` counts
    do the same, so the two agree when the window ends on or after the last seeded day.
    """
    columns = [by, "expected", "found", "match"]
    if not manifest:
        return Comparison(pd.DataFrame(columns=columns),
                          "No seeding manifest (manifest_path is empty): nothing to compare on a real account.")
    frame = _frame_of(found)
    got = frame.set_index(column or by)[count_column].astype("int64") if len(frame) else pd.Series(dtype="int64")
    want = expected_latest_counts(manifest, window[0], window[1], by=by, regions=regions)
    keys = sorted(set(got.index) | set(want.index))
    rows = [{by: k, "expected": int(want.get(k, 0)), "found": int(got.get(k, 0))} for k in keys]
    out = pd.DataFrame(rows, columns=columns[:-1])
    out["match"] = out["expected"] == out["found"]
    return Comparison(out, f"{int(out['match'].sum())} of {len(out)} {by} counts match the manifest "
                      f"({window[0]} .. {window[1]}).")
