"""The findings report's numbers, computed with pandas from the report queries' rows.

Everything here is pure: DataFrames in, DataFrames (or a :class:`Headline`) out, no AWS call.
The input frames are the rows of the library queries ``report_findings`` (one row per finding,
at its latest version in the window), ``report_findings_by_day`` and ``report_recurring_by_type``.

Severity bands are GuardDuty's: Low 1.0-3.9, Medium 4.0-6.9, High 7.0-8.9, Critical 9.0 and up.
A finding is **new** when it was created in the window (``createdAt`` on or after its first day, UTC)
and **updated** when it was created before and exported again in the window.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from gdnb.athena import cost

BANDS: tuple[str, ...] = ("Critical", "High", "Medium", "Low")  # most severe first
BANDS_ASCENDING: tuple[str, ...] = tuple(reversed(BANDS))
BAND_FLOORS: dict[str, float] = {"Critical": 9.0, "High": 7.0, "Medium": 4.0, "Low": 0.0}
BAND_RANGES: dict[str, str] = {"Critical": "9.0+", "High": "7.0-8.9", "Medium": "4.0-6.9", "Low": "1.0-3.9"}

FINDING_COLUMNS: tuple[str, ...] = (
    "finding_id", "type", "account_id", "region", "severity", "created_at", "updated_at", "first_export_day",
    "last_export_day", "exports", "event_count", "title", "resource_type", "instance_id", "access_key_id",
    "user_name", "bucket", "eks_cluster", "ecs_cluster", "lambda_function", "rds_instance")
# resource column -> what the report calls it (the order is the order of the resources table's kinds)
RESOURCE_KINDS: dict[str, str] = {
    "instance_id": "EC2 instance",
    "access_key_id": "access key",
    "bucket": "S3 bucket",
    "eks_cluster": "EKS cluster",
    "ecs_cluster": "ECS cluster",
    "lambda_function": "Lambda function",
    "rds_instance": "RDS instance",
}
DAY_COLUMNS: tuple[str, ...] = ("day", "findings", "critical", "high", "medium", "low")
RECURRING_COLUMNS: tuple[str, ...] = ("type", "findings", "new_since_previous", "recurring", "previous_window",
                                      "not_seen_again")


def band_of(severity: float | None) -> str:
    """The severity band of one severity value (``Low`` for missing values).

    Examples
    --------
    >>> band_of(8.9), band_of(9.0), band_of(3.95)
    ('High', 'Critical', 'Low')
    """
    if severity is None or pd.isna(severity):
        return "Low"
    for band in BANDS:
        if float(severity) >= BAND_FLOORS[band]:
            return band
    return "Low"


def severity_bands(severity: pd.Series) -> pd.Series:
    """The band of each severity, as an ordered categorical (Low < Medium < High < Critical)."""
    values = pd.to_numeric(severity, errors="coerce")
    bands = [band_of(v) for v in values]
    return pd.Series(pd.Categorical(bands, categories=list(BANDS_ASCENDING), ordered=True), index=severity.index,
                     name="severity_band")


def band_counts(severity: pd.Series) -> dict[str, int]:
    """Findings per band, every band present (most severe first)."""
    counts = severity_bands(severity).value_counts()
    return {band: int(counts.get(band, 0)) for band in BANDS}


def window_days(window: tuple[dt.date, dt.date]) -> list[str]:
    """Every day of the window as ``YYYY-MM-DD``, first to last."""
    start, end = window
    return [(start + dt.timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def previous_window(window: tuple[dt.date, dt.date]) -> tuple[dt.date, dt.date]:
    """The window of the same length that ends the day before ``window`` starts.

    Examples
    --------
    >>> previous_window((dt.date(2026, 5, 8), dt.date(2026, 5, 14)))
    (datetime.date(2026, 5, 1), datetime.date(2026, 5, 7))
    """
    start, end = window
    length = (end - start).days + 1
    return start - dt.timedelta(days=length), start - dt.timedelta(days=1)


def _frame(rows: pd.DataFrame | None, columns: Sequence[str]) -> pd.DataFrame:
    if rows is None:
        return pd.DataFrame(columns=list(columns))
    missing = [c for c in columns if c not in rows.columns]
    if missing:
        raise ValueError(f"the rows lack the column(s) {', '.join(missing)}; expected {', '.join(columns)}")
    return rows


def ranked(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its rows numbered from 1 (the index readers see in a table)."""
    out = frame.reset_index(drop=True)
    out.index = pd.RangeIndex(1, len(out) + 1, name="#")
    return out


def _short(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value)
    return f"{text[:10]} {text[11:16]}" if len(text) >= 16 and text[10] == "T" else text


def short_time(values: pd.Series) -> pd.Series:
    """ISO timestamps (``2026-05-01T08:22:48.000Z``) as ``2026-05-01 08:22`` (UTC), for tables."""
    return values.map(_short).astype(object)


def _created_day(frame: pd.DataFrame) -> pd.Series:
    return frame["created_at"].astype("string").str.slice(0, 10)


def is_new(findings: pd.DataFrame, window: tuple[dt.date, dt.date]) -> pd.Series:
    """True for the findings created in the window (``createdAt`` on or after its first day)."""
    findings = _frame(findings, ("created_at",))
    return (_created_day(findings) >= window[0].isoformat()).fillna(False).astype(bool)


# -- headline -------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Headline:
    """The report's headline figures for one window."""

    start: dt.date
    end: dt.date
    findings: int
    new: int
    updated: int
    by_band: Mapping[str, int]
    accounts: int
    regions: int
    types: int
    max_severity: float | None
    filters: str = ""
    notes: tuple[str, ...] = ()
    generated: str = ""

    @property
    def empty(self) -> bool:
        """True when the window holds no finding."""
        return self.findings == 0

    @property
    def window_text(self) -> str:
        return f"{self.start.isoformat()} .. {self.end.isoformat()}"

    def as_records(self) -> dict[str, Any]:
        """The figures as plain values, for :func:`gdnb.record`."""
        return {"window": [self.start.isoformat(), self.end.isoformat()], "findings_total": self.findings,
                "new": self.new, "updated": self.updated, "by_band": dict(self.by_band),
                "accounts": self.accounts, "regions": self.regions, "types": self.types,
                "max_severity": self.max_severity}

    def text(self) -> str:
        """The headline as one or two sentences."""
        if self.empty:
            return (f"No findings between {self.window_text} (UTC){self._filters_suffix()}: nothing to report. "
                    "GuardDuty exported none in these days, or they are not registered yet.")
        bands = ", ".join(f"{self.by_band[b]} {b}" for b in BANDS)
        return (f"{self.findings} findings between {self.window_text} (UTC){self._filters_suffix()}: "
                f"{self.new} new, {self.updated} updated; {bands}. "
                f"{self.types} finding types in {self.accounts} account(s) and {self.regions} region(s); "
                f"highest severity {self.max_severity:.1f}.")

    def _filters_suffix(self) -> str:
        return f", {self.filters}" if self.filters else ""

    def __repr__(self) -> str:
        return "\n".join([self.text(), *(f"Note: {n}" for n in self.notes)])

    def _repr_html_(self) -> str:
        from gdnb.report.charts import SEVERITY_COLORS, text_color_on

        notes = "".join(f'<p style="color:#8a4b00"><b>Note:</b> {html.escape(n)}</p>' for n in self.notes)
        if self.generated:
            notes += f'<p style="color:#666666">Report generated {html.escape(self.generated)}.</p>'
        if self.empty:
            return (f'<div class="gdnb-headline"><p style="font-size:1.3em"><b>No findings</b> between '
                    f"{html.escape(self.window_text)} (UTC){html.escape(self._filters_suffix())}.</p>"
                    "<p>GuardDuty exported no finding in these days (or they are not registered yet): "
                    "there is nothing to report.</p>" + notes + "</div>")
        cells = [("Findings", self.findings, "#333333"), ("New", self.new, "#333333"),
                 ("Updated", self.updated, "#333333")]
        cells += [(f"{b} ({BAND_RANGES[b]})", self.by_band[b], SEVERITY_COLORS[b]) for b in BANDS]
        boxes = "".join(
            f'<td style="padding:6px 14px;text-align:center;background:{color};color:{text_color_on(color)};'
            f'border:2px solid white"><div style="font-size:1.6em;font-weight:bold">{value}</div>'
            f"<div>{html.escape(label)}</div></td>" for label, value, color in cells)
        return (f'<div class="gdnb-headline"><table style="border-collapse:collapse"><tr>{boxes}</tr></table>'
                f"<p>{html.escape(self.text())}</p>{notes}</div>")


def describe_filters(accounts: Sequence[str] = (), regions: Sequence[str] = (), min_severity: float = 0.0) -> str:
    """The filters in words (empty when there are none)."""
    parts = []
    if regions:
        parts.append("regions " + ", ".join(regions))
    if accounts:
        parts.append("accounts " + ", ".join(accounts))
    if min_severity:
        parts.append(f"severity {min_severity:.1f} and above")
    return "; ".join(parts)


def headline(findings: pd.DataFrame, window: tuple[dt.date, dt.date], *, filters: str = "",
             notes: Sequence[str] = (), generated: str = "") -> Headline:
    """The headline figures of the window from the ``report_findings`` rows."""
    findings = _frame(findings, ("finding_id", "severity", "created_at", "type", "account_id", "region"))
    new = int(is_new(findings, window).sum()) if len(findings) else 0
    severity = pd.to_numeric(findings["severity"], errors="coerce")
    return Headline(
        start=window[0], end=window[1], findings=len(findings), new=new, updated=len(findings) - new,
        by_band=band_counts(findings["severity"]), accounts=int(findings["account_id"].nunique()),
        regions=int(findings["region"].nunique()), types=int(findings["type"].nunique()),
        max_severity=float(severity.max()) if len(findings) and severity.notna().any() else None,
        filters=filters, notes=tuple(notes), generated=generated)


# -- over time ------------------------------------------------------------------------------------

def by_day(daily: pd.DataFrame | None, window: tuple[dt.date, dt.date]) -> pd.DataFrame:
    """Findings active per day (created or updated that day) by band, every day of the window present.

    Returns
    -------
    A frame indexed by day (``YYYY-MM-DD``) with one column per band, Low to Critical, and ``findings``.
    """
    daily = _frame(daily, DAY_COLUMNS)
    days = window_days(window)
    columns = {band: band.lower() for band in BANDS_ASCENDING}
    out = pd.DataFrame(0, index=pd.Index(days, name="day"), columns=list(columns), dtype="int64")
    if len(daily):
        data = daily.assign(day=daily["day"].astype(str)).set_index("day")
        for band, column in columns.items():
            values = pd.to_numeric(data[column], errors="coerce").fillna(0).astype("int64")
            out[band] = values.reindex(out.index, fill_value=0)
    out["findings"] = out[list(columns)].sum(axis=1)
    return out


# -- what and where -------------------------------------------------------------------------------

def top_types(findings: pd.DataFrame, window: tuple[dt.date, dt.date] | None = None, n: int = 10) -> pd.DataFrame:
    """The ``n`` finding types with the most findings: counts per band, new ones, events, highest severity."""
    columns = ["type", "findings", *BANDS, "new", "events", "max_severity"]
    findings = _frame(findings, ("type", "severity", "created_at", "event_count"))
    if findings.empty:
        return ranked(pd.DataFrame(columns=columns))
    frame = findings.assign(severity_band=severity_bands(findings["severity"]),
                            severity=pd.to_numeric(findings["severity"], errors="coerce"),
                            event_count=pd.to_numeric(findings["event_count"], errors="coerce").fillna(0),
                            new=is_new(findings, window) if window else False)
    bands = pd.crosstab(frame["type"], frame["severity_band"]).reindex(columns=list(BANDS), fill_value=0)
    grouped = frame.groupby("type").agg(findings=("type", "size"), new=("new", "sum"), events=("event_count", "sum"),
                                        max_severity=("severity", "max"))
    out = grouped.join(bands).reset_index()
    out = out.sort_values(["findings", "max_severity", "type"], ascending=[False, False, True]).head(n)
    out[["findings", "new", "events", *BANDS]] = out[["findings", "new", "events", *BANDS]].astype("int64")
    return ranked(out[columns])


def resources(findings: pd.DataFrame) -> pd.DataFrame:
    """One row per (finding, resource it names): ``finding_id, resource_kind, resource_id, label, ...``."""
    columns = ["finding_id", "resource_kind", "resource_id", "label", "type", "severity", "updated_at"]
    findings = _frame(findings, ("finding_id", "type", "severity", "updated_at"))
    parts = []
    for column, kind in RESOURCE_KINDS.items():
        if column not in findings.columns:
            continue
        named = findings[findings[column].notna() & (findings[column].astype(str) != "")]
        if named.empty:
            continue
        label = named[column].astype(str)
        if column == "access_key_id" and "user_name" in named.columns:
            user = named["user_name"].fillna("").astype(str)
            label = label.where(user == "", label + " (" + user + ")")
        parts.append(pd.DataFrame({"finding_id": named["finding_id"], "resource_kind": kind,
                                   "resource_id": named[column].astype(str), "label": label, "type": named["type"],
                                   "severity": pd.to_numeric(named["severity"], errors="coerce"),
                                   "updated_at": named["updated_at"]}))
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def top_resources(findings: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` resources named by the most findings (instances, access keys, buckets, clusters...).

    Ties are broken by the highest severity. ``resource`` is the resource's id (an access key with its
    user name); ``types`` lists its finding types, most frequent first.
    """
    columns = ["resource_kind", "resource", "findings", "max_severity", "severity_band", "types", "last_updated"]
    rows = resources(findings)
    if rows.empty:
        return ranked(pd.DataFrame(columns=columns))
    grouped = rows.groupby(["resource_kind", "resource_id"], sort=False)
    out = grouped.agg(resource=("label", "first"), findings=("finding_id", "nunique"), max_severity=("severity", "max"),
                      last_updated=("updated_at", "max")).reset_index()
    types = grouped["type"].agg(lambda s: ", ".join(s.value_counts().index[:3])).reset_index(name="types")
    out = out.merge(types, on=["resource_kind", "resource_id"])
    out["severity_band"] = [band_of(v) for v in out["max_severity"]]
    out["last_updated"] = short_time(out["last_updated"])
    out = out.sort_values(["findings", "max_severity", "resource_kind", "resource_id"],
                          ascending=[False, False, True, True]).head(n)
    return ranked(out[columns])


# -- new or recurring -----------------------------------------------------------------------------

def recurrence(rows: pd.DataFrame | None, n: int | None = None) -> pd.DataFrame:
    """Per type: findings of the window, new since the previous window, recurring, and quiet ones.

    ``recurring`` findings were exported in the previous window too; ``not_seen_again`` were
    exported in the previous window but not in this one. Types are sorted by findings.
    """
    rows = _frame(rows, RECURRING_COLUMNS)
    if rows.empty:
        return ranked(pd.DataFrame(columns=list(RECURRING_COLUMNS)))
    out = rows[list(RECURRING_COLUMNS)].copy()
    numbers = list(RECURRING_COLUMNS[1:])
    out[numbers] = out[numbers].apply(pd.to_numeric, errors="coerce").fillna(0).astype("int64")
    out = out.sort_values(["findings", "previous_window", "type"], ascending=[False, False, True])
    return ranked(out.head(n) if n else out)


def recurrence_totals(rows: pd.DataFrame | None) -> dict[str, int]:
    """The recurrence figures summed over every type."""
    frame = recurrence(rows)
    return {c: int(frame[c].sum()) if len(frame) else 0 for c in RECURRING_COLUMNS[1:]}


# -- exfiltration ---------------------------------------------------------------------------------

# The type of a family whose query has no type column (it lists one type only).
FAMILY_TYPES: dict[str, str] = {"dns_data_exfiltration": "Trojan:EC2/DNSDataExfiltration"}
FAMILY_TITLES: dict[str, str] = {
    "dns_data_exfiltration": "DNS data exfiltration",
    "instance_credential_exfiltration": "Instance credential exfiltration",
    "s3_exfiltration": "S3 exfiltration",
    "iam_exfiltration": "IAM exfiltration (anomalous)",
    "runtime_exfiltration": "Runtime / EKS exfiltration",
    "drop_point_traffic": "Drop points and sinkholes",
}
# The columns that name what an exfiltration finding is about, in order of preference.
_SUBJECT_COLUMNS = ("instance_id", "access_key_id", "bucket", "eks_cluster", "ecs_cluster", "workload", "user_name",
                    "domain", "lambda_function")
_COUNTERPART_COLUMNS = ("domain", "remote_ip", "remote_account")


def _first_present(row: pd.Series, columns: Sequence[str]) -> str:
    for column in columns:
        value = row.get(column)
        if value is not None and not pd.isna(value) and str(value):
            return str(value)
    return ""


def exfiltration_summary(results: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per exfiltration family: findings per band, highest severity, events, first/last seen.

    Parameters
    ----------
    results
        Family -> the rows of its library query (``list_dns_exfiltration``...); an empty frame is a
        family with nothing found.
    """
    columns = ["family", "findings", *BANDS, "max_severity", "events", "first_seen", "last_seen", "most_severe"]
    rows = []
    for family, frame in results.items():
        title = FAMILY_TITLES.get(family, family.replace("_", " "))
        row: dict[str, Any] = {"family": title, "findings": len(frame)}
        severity = pd.to_numeric(frame["severity"], errors="coerce") if "severity" in frame else pd.Series(dtype=float)
        row.update(band_counts(severity) if len(frame) else {b: 0 for b in BANDS})
        row["max_severity"] = float(severity.max()) if severity.notna().any() else None
        events = pd.to_numeric(frame["event_count"], errors="coerce") if "event_count" in frame else None
        row["events"] = int(events.fillna(0).sum()) if events is not None else 0
        row["first_seen"] = _short(frame["first_seen"].min()) if len(frame) and "first_seen" in frame else None
        row["last_seen"] = _short(frame["last_seen"].max()) if len(frame) and "last_seen" in frame else None
        if len(frame):
            top = frame.loc[severity.idxmax()] if severity.notna().any() else frame.iloc[0]
            subject, counterpart = _first_present(top, _SUBJECT_COLUMNS), _first_present(top, _COUNTERPART_COLUMNS)
            parts = [subject] + ([counterpart] if counterpart != subject else [])
            row["most_severe"] = " -> ".join(p for p in parts if p)
        else:
            row["most_severe"] = ""
        rows.append(row)
    return ranked(pd.DataFrame(rows, columns=columns))


# -- cost -----------------------------------------------------------------------------------------

COST_COLUMNS = cost.COST_COLUMNS


def query_costs(history: pd.DataFrame | None) -> pd.DataFrame:
    """The queries a session ran, with bytes scanned and cost, and a total row at the bottom."""
    return cost.cost_table(_frame(history, COST_COLUMNS))
