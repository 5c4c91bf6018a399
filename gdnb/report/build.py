"""Build the findings report: make sure the window's partitions are registered, run the report queries.

:func:`prepare` is the report's own setup, small enough for every scheduled run: it creates the
``gd_findings`` table when it is missing and registers the partitions of the window (and of the
window before it) that are not registered yet. It changes something only with ``apply: true``; the
Athena workgroup must exist (notebook 02 makes it).

:func:`build` runs the library queries of the report (``report_findings``,
``report_findings_by_day``, ``report_recurring_by_type`` and each exfiltration family's query) in
one :class:`~gdnb.athena.Session` and returns a :class:`FindingsReport`, whose methods give the
summaries of :mod:`gdnb.report.summaries`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import logging
from typing import Any

import pandas as pd

from gdnb.athena.session import QueryResult, Session
from gdnb.config import Settings
from gdnb.partitions import SyncReport, sync_partitions
from gdnb.queries.catalog import families
from gdnb.report import summaries
from gdnb.setup.plan import CREATE, NOOP, Plan
from gdnb.setup.plan import apply as apply_plan
from gdnb.tables import plan_tables

log = logging.getLogger(__name__)

REPORT_TABLE = "gd_findings"


# -- preparation ----------------------------------------------------------------------------------

@dataclasses.dataclass
class Preparation:
    """What :func:`prepare` found and did: the table's plan and the partition sync."""

    window: tuple[dt.date, dt.date]
    tables: Plan
    partitions: SyncReport | None
    notes: list[str]

    def summary(self) -> str:
        """One line per step."""
        change = ", ".join(f"{a.change} {a.resource} ({a.status})" for a in self.tables.changes)
        lines = [f"table {REPORT_TABLE}: {change or 'exists'}"]
        if self.partitions is not None:
            lines.append(f"partitions {self.window[0]} .. {self.window[1]}: {self.partitions.summary()}")
        return "\n".join(lines + [f"note: {n}" for n in self.notes])

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{html.escape(line)}</li>" for line in self.summary().splitlines())
        return f"<ul>{items}</ul>"


def prepare(session: Session, window: tuple[dt.date, dt.date] | None = None, *,
            apply: bool | None = None) -> Preparation:
    """Create ``gd_findings`` if it is missing and register the partitions the report reads.

    Parameters
    ----------
    session
        The report's Athena session (its settings give the bucket, prefix, database, regions).
    window
        The report window (default ``settings.window()``); the window before it is synced too,
        because the report compares the two.
    apply
        Change the catalog (default ``settings.apply``). Without it nothing changes and the notes
        say what is missing from the report.

    Returns
    -------
    Preparation
        The table plan, the partition sync, and notes about anything the report will lack.
    """
    settings = session.settings
    apply = settings.apply if apply is None else apply
    window = window or settings.window()
    first = summaries.previous_window(window)[0]
    planned = plan_tables(session, tables=(REPORT_TABLE,))
    notes: list[str] = []
    if planned.is_noop:
        tables = planned
    elif all(a.change in (CREATE, NOOP) for a in planned.actions):
        planned.settings = planned.settings.replace(apply=apply)
        tables = apply_plan(planned)
        if not apply:
            notes.append(f"the {settings.database}.{REPORT_TABLE} table does not exist and apply is false: "
                         "set apply: true, or run notebook 02_create_tables.")
    else:
        # An existing table of another shape is notebook 02's to replace (it drops and creates it).
        tables = planned
        notes.append(f"{settings.database}.{REPORT_TABLE} differs from what gdnb renders "
                     f"({'; '.join(a.detail for a in planned.changes)}): run notebook 02_create_tables.")
    table_ready = planned.is_noop or (apply and not notes)
    partitions = None
    if table_ready:
        partitions = sync_partitions(settings, session=session, table=REPORT_TABLE, apply=apply, start=first,
                                     end=window[1], regions=settings.regions, progress=False)
        if partitions.added and not apply:
            notes.append(f"{len(partitions.added)} partition(s) between {first} and {window[1]} are not registered "
                         "(apply is false): their findings are missing from this report. Set apply: true, or run "
                         "`gdnb partitions sync` or notebook 03_manual_partitions.")
    for note in notes:  # shown with the headline too
        log.info("%s", note)
    return Preparation(window=(first, window[1]), tables=tables, partitions=partitions, notes=notes)


# -- the report -----------------------------------------------------------------------------------

@dataclasses.dataclass
class FindingsReport:
    """The report's data for one window, and its summaries.

    Attributes
    ----------
    settings
        The settings it was built with (window and filters).
    window, previous
        The report window and the window of the same length before it (inclusive UTC days).
    findings
        ``report_findings``: one row per finding, at its latest version in the window.
    daily
        ``report_findings_by_day``: findings active per day, by band.
    recurring
        ``report_recurring_by_type``: per type, new since the previous window or recurring.
    exfiltration
        Exfiltration family -> the result of its library query.
    session
        The session that ran the queries (``session.history`` has their cost).
    notes
        What the report may lack (from :func:`prepare`).
    generated
        When the report was built (UTC).
    preparation
        What :func:`prepare` did before (None when it was not called).
    """

    settings: Settings
    window: tuple[dt.date, dt.date]
    previous: tuple[dt.date, dt.date]
    findings: pd.DataFrame
    daily: pd.DataFrame
    recurring: pd.DataFrame
    exfiltration: dict[str, QueryResult]
    session: Session
    notes: list[str] = dataclasses.field(default_factory=list)
    generated: str = ""
    preparation: Preparation | None = None

    @property
    def empty(self) -> bool:
        """True when no finding was exported in the window."""
        return self.findings.empty

    @property
    def filters(self) -> str:
        """The filters of the report, in words."""
        s = self.settings
        return summaries.describe_filters(s.accounts, s.regions, s.min_severity)

    def headline(self) -> summaries.Headline:
        """Findings, new and updated, and per severity band."""
        return summaries.headline(self.findings, self.window, filters=self.filters, notes=self.notes,
                                  generated=self.generated)

    @property
    def by_band(self) -> dict[str, int]:
        """Findings per severity band, Critical first."""
        return summaries.band_counts(self.findings["severity"])

    @property
    def by_day(self) -> pd.DataFrame:
        """Findings active per day of the window, one column per band."""
        return summaries.by_day(self.daily, self.window)

    def top_types(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` finding types with the most findings."""
        return summaries.top_types(self.findings, self.window, n=n)

    def top_resources(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` resources named by the most findings."""
        return summaries.top_resources(self.findings, n=n)

    def recurrence(self, n: int | None = None) -> pd.DataFrame:
        """Per type: new since the previous window, recurring, and gone quiet."""
        return summaries.recurrence(self.recurring, n=n)

    def recurrence_totals(self) -> dict[str, int]:
        """The recurrence figures over every type."""
        return summaries.recurrence_totals(self.recurring)

    def exfiltration_summary(self) -> pd.DataFrame:
        """One row per exfiltration family."""
        return summaries.exfiltration_summary({f: r.frame for f, r in self.exfiltration.items()})

    def exfiltration_findings(self, limit: int = 20) -> pd.DataFrame:
        """The exfiltration findings of every family, most severe first (at most ``limit`` rows).

        ``subject`` is what the finding is about (instance, access key, bucket, cluster...),
        ``counterpart`` the other end (domain, remote IP or account).
        """
        columns = ["family", "type", "severity", "subject", "counterpart", "event_count", "last_seen", "region",
                   "account_id"]
        frames = []
        for family, result in self.exfiltration.items():
            frame = result.frame
            if frame.empty:
                continue
            subject = frame.apply(lambda row: summaries._first_present(row, summaries._SUBJECT_COLUMNS), axis=1)
            counterpart = frame.apply(lambda row: summaries._first_present(row, summaries._COUNTERPART_COLUMNS),
                                      axis=1)
            kind = frame["type"] if "type" in frame else pd.Series(summaries.FAMILY_TYPES.get(family, ""),
                                                                   index=frame.index)
            frames.append(frame.assign(family=summaries.FAMILY_TITLES.get(family, family), type=kind,
                                       subject=subject, counterpart=counterpart).reindex(columns=columns))
        if not frames:
            return summaries.ranked(pd.DataFrame(columns=columns))
        out = pd.concat(frames, ignore_index=True)
        out = out.sort_values(["severity", "last_seen"], ascending=[False, False], na_position="last").head(limit)
        out["last_seen"] = summaries.short_time(out["last_seen"])
        return summaries.ranked(out)

    def costs(self) -> pd.DataFrame:
        """Every query the session ran, with bytes scanned and cost, and the total."""
        return summaries.query_costs(self.session.history)

    def records(self) -> dict[str, Any]:
        """The figures tests and schedulers read back (:func:`gdnb.record` each)."""
        out = self.headline().as_records()
        out["by_day"] = {day: int(row["findings"]) for day, row in self.by_day.iterrows()}
        out["by_day_band"] = {day: {b: int(row[b]) for b in summaries.BANDS} for day, row in self.by_day.iterrows()}
        out["by_type"] = (self.findings.groupby("type").size().astype(int).to_dict() if len(self.findings) else {})
        out["recurrence"] = self.recurrence_totals()
        out["previous_window"] = [self.previous[0].isoformat(), self.previous[1].isoformat()]
        out["exfiltration"] = {family: len(result) for family, result in self.exfiltration.items()}
        out["queries"] = len(self.session.queries)
        out["bytes_scanned"] = self.session.total_bytes_scanned
        out["query_cost_usd"] = self.session.total_cost
        out["notes"] = list(self.notes)
        sync = self.preparation.partitions if self.preparation else None
        out["partitions_added"] = len(sync.added) if sync and sync.applied else 0
        return out

    def __repr__(self) -> str:
        return f"FindingsReport({self.headline().text()})"


def record(report: FindingsReport) -> None:
    """Record each figure of ``report.records()`` with :func:`gdnb.record` (one record per name).

    The names: ``window``, ``findings_total``, ``new``, ``updated``, ``by_band``, ``accounts``, ``regions``,
    ``types``, ``max_severity``, ``by_day``, ``by_day_band``, ``by_type``, ``recurrence``, ``previous_window``,
    ``exfiltration``, ``queries``, ``bytes_scanned``, ``query_cost_usd``, ``notes``, ``partitions_added``.
    """
    from gdnb.record import record as record_one

    for name, value in report.records().items():
        record_one(name, value)


def build(source: Settings | Session, *, preparation: Preparation | None = None) -> FindingsReport:
    """Run the report's queries over the settings' window and return the report.

    Parameters
    ----------
    source
        The settings (a new :class:`~gdnb.athena.Session` is made) or the session to run in.
    preparation
        From :func:`prepare`: its notes are shown with the headline.

    Raises
    ------
    QueryError, NotFoundError, RegionMismatchError
        When a query cannot run (missing workgroup, table or database, a failing query).
    """
    session = source if isinstance(source, Session) else Session(source)
    settings = session.settings
    window = settings.window()
    previous = summaries.previous_window(window)
    log.info("findings report %s .. %s (previous window %s .. %s)", *window, *previous)
    findings = session.run("report_findings", start=window[0], end=window[1]).frame
    daily = session.run("report_findings_by_day", start=window[0], end=window[1]).frame
    recurring = session.run("report_recurring_by_type", start=previous[0], end=window[1],
                            current_start=window[0]).frame
    exfiltration = {family: session.run(name, start=window[0], end=window[1]) for family, name in families().items()}
    notes = list(preparation.notes) if preparation else []
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return FindingsReport(settings=settings, window=window, previous=previous, findings=findings, daily=daily,
                          recurring=recurring, exfiltration=exfiltration, session=session, notes=notes,
                          generated=generated, preparation=preparation)
