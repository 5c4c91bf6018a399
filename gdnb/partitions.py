"""Manual partitions of ``gd_findings``: discover them in S3, diff with Glue, register what is missing.

GuardDuty writes ``[prefix/]AWSLogs/<account>/GuardDuty/<region>/YYYY/MM/DD/<uuid>.jsonl.gz``.
That layout is not Hive-style (``key=value``), so ``MSCK REPAIR TABLE`` finds nothing in it:
partitions are registered with ``ALTER TABLE ... ADD IF NOT EXISTS PARTITION (...) LOCATION
'...'`` statements, many partitions per statement.

* **Discovery** lists prefixes, never objects: one delimited LIST per prefix at each level
  (accounts, regions, years, months, days), so its cost grows with regions x days, not with
  the number of objects.
* **Diff**: what Glue already has (GetPartitions, paginated) is left alone; a run with nothing
  new issues no DDL.
* **Register**: at most 100 partitions and well under Athena's 262,144-byte query limit per
  statement (or Glue BatchCreatePartition, 100 per call). ``IF NOT EXISTS`` makes a re-run
  finish an interrupted run.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import botocore.exceptions
import pandas as pd
from pyathena.formatter import DefaultParameterFormatter
from tqdm import tqdm

from gdnb import aws
from gdnb.athena.identifiers import check_identifier
from gdnb.config import Settings, load_settings
from gdnb.errors import GdnbError, QueryError, translate_client_error
from gdnb.regions import ALL_REGIONS
from gdnb.tables import PARTITION_KEYS, findings_prefix

if TYPE_CHECKING:
    from gdnb.athena.session import Session

log = logging.getLogger(__name__)

MAX_PARTITIONS_PER_STATEMENT = 100
MAX_QUERY_BYTES = 262_144  # Athena's hard limit on a query string (UTF-8 bytes)
STATEMENT_BYTE_BUDGET = 128 * 1024  # half the limit: "well under" it, whatever the prefix length
GLUE_CREATE_BATCH = 100  # BatchCreatePartition
GLUE_DELETE_BATCH = 25  # BatchDeletePartition
LIST_WORKERS = 8
METHODS = ("sql", "glue")
_ACCOUNT_RE = re.compile(r"^\d{12}$")
# What a region folder looks like: a new region GuardDuty exports from must not be dropped because gdnb's
# list of regions is older than it; it is registered and named in the report instead.
REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


@dataclasses.dataclass(frozen=True, order=True)
class Partition:
    """One partition of ``gd_findings``: an account, a region, a day, and its S3 location."""

    account: str
    region: str
    day: dt.date
    location: str

    @property
    def values(self) -> tuple[str, str, str]:
        """The partition values in key order: ``(account, region, 'YYYY/MM/DD')``."""
        return (self.account, self.region, self.day.strftime("%Y/%m/%d"))


@dataclasses.dataclass(frozen=True)
class Discovery:
    """What a discovery found, and how many LIST calls it took."""

    partitions: list[Partition]
    list_calls: int
    skipped: list[str]
    scope: Callable[[tuple[str, ...]], bool]
    unknown_regions: list[str] = dataclasses.field(default_factory=list)

    def in_window(self, window: tuple[dt.date, dt.date]) -> list[Partition]:
        """The partitions found whose day is in ``window`` (``(start, end)``, both inclusive)."""
        return in_window(self.partitions, *window)

    def records(self) -> dict[str, Any]:
        """What a notebook records: the layout, the partitions found, the LIST calls, what was skipped."""
        return {"layout": self.frame(), "partitions": len(self.partitions), "list_calls": self.list_calls,
                "skipped": list(self.skipped), "unknown_regions": list(self.unknown_regions)}

    def frame(self) -> pd.DataFrame:
        """The layout found: one row per account and region, with its number of days, first and last."""
        return _by_prefix(self.partitions)

    def summary(self) -> str:
        """``'90 partitions (1 account, 3 regions, 30 days) found with 14 LIST calls'``."""
        accounts = {p.account for p in self.partitions}
        regions = {p.region for p in self.partitions}
        days = {p.day for p in self.partitions}
        return (f"{len(self.partitions)} partitions ({len(accounts)} accounts, {len(regions)} regions, "
                f"{len(days)} days) found with {self.list_calls} LIST calls"
                + (f"; {len(self.skipped)} prefixes skipped" if self.skipped else "")
                + (f"; {unknown_regions_warning(self.unknown_regions)}" if self.unknown_regions else ""))

    def __repr__(self) -> str:
        return f"{self.summary()}\n{self.frame().to_string(index=False)}"

    def _repr_html_(self) -> str:
        import html

        return f"<p><b>{html.escape(self.summary())}</b></p>" + self.frame().to_html(index=False)


def unknown_regions_warning(regions: Sequence[str]) -> str:
    """The warning about region folders that gdnb's list of regions does not have."""
    return (f"warning: region folder(s) {', '.join(regions)} are not in gdnb's list of AWS regions; their "
            "partitions are kept (a newer region?) - check that GuardDuty wrote them")


def _by_prefix(partitions: Sequence[Partition]) -> pd.DataFrame:
    rows: dict[tuple[str, str], list[dt.date]] = {}
    for p in partitions:
        rows.setdefault((p.account, p.region), []).append(p.day)
    return pd.DataFrame([{"account": a, "region": r, "days": len(d), "first": min(d).isoformat(),
                          "last": max(d).isoformat()} for (a, r), d in sorted(rows.items())],
                        columns=["account", "region", "days", "first", "last"])


@dataclasses.dataclass
class PartitionPlan:
    """What to change in the catalog: partitions to add, to drop, to move (registered elsewhere)."""

    add: list[Partition]
    drop: list[tuple[str, ...]]
    relocate: list[Partition]
    unchanged: int

    @property
    def is_noop(self) -> bool:
        return not (self.add or self.drop or self.relocate)


# -- discovery --------------------------------------------------------------------------------

class _ListCounter:
    """Counts ListObjectsV2 requests made by one S3 client (a botocore event hook)."""

    def __init__(self, s3: Any) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        s3.meta.events.register("before-call.s3.ListObjectsV2", self._hook)

    def _hook(self, **_kwargs: Any) -> None:
        with self._lock:
            self.calls += 1


def _child_prefixes(s3: Any, bucket: str, prefix: str) -> list[str]:
    """The names one level below ``prefix`` (delimited LIST; more pages only past 1,000 names)."""
    names: list[str] = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
            names.extend(p["Prefix"][len(prefix):].rstrip("/") for p in page.get("CommonPrefixes") or [])
    except botocore.exceptions.ClientError as exc:
        raise translate_client_error(exc, "s3:ListBucket", f"s3://{bucket}/{prefix}") from exc
    return names


def discover_partitions(settings: Settings, s3: Any = None, *, start: dt.date | None = None,
                        end: dt.date | None = None, regions: Iterable[str] = (), accounts: Iterable[str] = (),
                        workers: int = LIST_WORKERS) -> Discovery:
    """Find every ``account/region/day`` folder of the export by delimited listing.

    Parameters
    ----------
    settings
        ``bucket`` and ``prefix`` say where GuardDuty writes.
    s3
        An S3 client (default: one in ``home_region``).
    start, end
        Only days in this range (both inclusive; open when None). Months and years outside it
        are not even listed.
    regions, accounts
        Only these (all when empty).
    workers
        LIST calls made in parallel (each level waits for the one above).

    Returns
    -------
    The partitions found, the LIST calls made, and the prefixes skipped as not part of the layout.
    """
    s3 = s3 or aws.client("s3", settings.home_region, settings)
    counter = _ListCounter(s3)
    bucket, root = settings.bucket, findings_prefix(settings)
    want_regions, want_accounts = set(regions), set(accounts)
    skipped: list[str] = []
    unknown: set[str] = set()

    def keep(value: str, ok: bool, where: str) -> bool:
        if not ok:
            skipped.append(where + value + "/")
        return ok

    def accept_region(parent: tuple[str, ...], name: str) -> bool:
        if not keep(name, bool(REGION_RE.match(name)), f"{root}{parent[0]}/GuardDuty/"):
            return False
        if want_regions and name not in want_regions:
            return False
        if name not in ALL_REGIONS:
            unknown.add(name)
        return True

    def level(parents: list[tuple[str, ...]], prefix_of: Callable[[tuple[str, ...]], str],
              accept: Callable[[tuple[str, ...], str], bool]) -> list[tuple[str, ...]]:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            children = list(pool.map(lambda p: _child_prefixes(s3, bucket, prefix_of(p)), parents))
        return [(*parent, name) for parent, names in zip(parents, children, strict=True)
                for name in sorted(names) if accept(parent, name)]

    def month_in_range(y: int, m: int) -> bool:
        first = dt.date(y, m, 1)
        last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        return (start is None or last >= start) and (end is None or first <= end)

    def accept_day(parent: tuple[str, ...], name: str) -> bool:
        where = f"{root}{parent[0]}/GuardDuty/{'/'.join(parent[1:])}/"
        try:
            day = dt.date(int(parent[2]), int(parent[3]), int(name))
        except ValueError:
            return keep(name, False, where)
        ok = len(name) == 2 and (start is None or day >= start) and (end is None or day <= end)
        return ok if len(name) == 2 else keep(name, False, where)

    accounts_found = level([()], lambda p: root,
                           lambda p, n: keep(n, bool(_ACCOUNT_RE.match(n)), root) and (not want_accounts
                                                                                       or n in want_accounts))
    region_level = level(accounts_found, lambda p: f"{root}{p[0]}/GuardDuty/", accept_region)
    years = level(region_level, lambda p: f"{root}{p[0]}/GuardDuty/{p[1]}/",
                  lambda p, n: keep(n, bool(re.fullmatch(r"\d{4}", n)), f"{root}{p[0]}/GuardDuty/{p[1]}/")
                  and (start is None or int(n) >= start.year) and (end is None or int(n) <= end.year))
    months = level(years, lambda p: f"{root}{p[0]}/GuardDuty/{p[1]}/{p[2]}/",
                   lambda p, n: keep(n, bool(re.fullmatch(r"0[1-9]|1[0-2]", n)),
                                     f"{root}{p[0]}/GuardDuty/{p[1]}/{p[2]}/")
                   and month_in_range(int(p[2]), int(n)))
    days = level(months, lambda p: f"{root}{p[0]}/GuardDuty/{p[1]}/{p[2]}/{p[3]}/", accept_day)
    partitions = sorted(
        Partition(account=a, region=r, day=dt.date(int(y), int(m), int(d)),
                  location=f"s3://{bucket}/{root}{a}/GuardDuty/{r}/{y}/{m}/{d}/")
        for a, r, y, m, d in days)

    def scope(values: tuple[str, ...]) -> bool:
        account, region, day_text = values[0], values[1], values[2]
        try:
            day = dt.datetime.strptime(day_text, "%Y/%m/%d").date()
        except ValueError:
            return False
        return ((not want_accounts or account in want_accounts) and (not want_regions or region in want_regions)
                and (start is None or day >= start) and (end is None or day <= end))

    if skipped:
        log.warning("skipped %d prefixes that are not part of the GuardDuty layout, e.g. %s", len(skipped),
                    skipped[0])
    if unknown:
        log.warning("%s", unknown_regions_warning(sorted(unknown)))
    return Discovery(partitions=partitions, list_calls=counter.calls, skipped=skipped, scope=scope,
                     unknown_regions=sorted(unknown))


def partition_bytes(settings: Settings, partitions: Iterable[Partition], s3: Any = None) -> int:
    """The total size of the objects under ``partitions``: what a query that reads exactly them scans.

    This lists objects (one paginated LIST per partition), unlike discovery: it is the yardstick
    for partition pruning, not something a sync needs.
    """
    s3 = s3 or aws.client("s3", settings.home_region, settings)
    total = 0
    for p in partitions:
        bucket, _, prefix = p.location.removeprefix("s3://").partition("/")
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            total += sum(int(o["Size"]) for o in page.get("Contents") or [])
    return total


def in_window(partitions: Iterable[Partition], start: dt.date, end: dt.date) -> list[Partition]:
    """The partitions whose day is in ``start..end`` (both inclusive)."""
    return [p for p in partitions if start <= p.day <= end]


# -- the catalog ------------------------------------------------------------------------------

def registered_partitions(glue: Any, database: str, table: str) -> dict[tuple[str, ...], str]:
    """What Glue has for ``database.table``: partition values -> location (GetPartitions, every page)."""
    found: dict[tuple[str, ...], str] = {}
    try:
        for page in glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=table):
            for part in page.get("Partitions") or []:
                found[tuple(part["Values"])] = (part.get("StorageDescriptor") or {}).get("Location") or ""
    except botocore.exceptions.ClientError as exc:
        raise translate_client_error(exc, "glue:GetPartitions", f"{database}.{table}") from exc
    return found


def plan_partitions(discovered: Sequence[Partition], registered: dict[tuple[str, ...], str], *,
                    drop_missing: bool = False,
                    scope: Callable[[tuple[str, ...]], bool] | None = None) -> PartitionPlan:
    """Diff the partitions found in S3 with the ones registered.

    Parameters
    ----------
    discovered
        From :func:`discover_partitions`.
    registered
        From :func:`registered_partitions`.
    drop_missing
        Also drop registered partitions whose prefix is gone (within ``scope``).
    scope
        Which registered partitions the discovery looked at (a limited discovery must not
        drop what it did not look for).
    """
    wanted = {p.values: p for p in discovered}
    add = [p for key, p in wanted.items() if key not in registered]
    relocate = [p for key, p in wanted.items()
                if key in registered and registered[key].rstrip("/") != p.location.rstrip("/")]
    drop = []
    if drop_missing:
        drop = sorted(key for key in registered if key not in wanted and (scope is None or scope(key)))
    unchanged = len(wanted) - len(add) - len(relocate)
    return PartitionPlan(add=sorted(add), drop=drop, relocate=sorted(relocate), unchanged=unchanged)


# -- statements -------------------------------------------------------------------------------

_FORMATTER = DefaultParameterFormatter()


def _partition_spec(values: Sequence[str]) -> str:
    """``PARTITION (account_partition = '...', ...)`` with values escaped as pyathena escapes Hive DDL."""
    params = {f"v{i}": v for i, v in enumerate(values)}
    spec = ", ".join(f"{key} = %(v{i})s" for i, key in enumerate(PARTITION_KEYS))
    # The ALTER TABLE prefix makes pyathena pick its Hive DDL escaping (backslashes).
    text = _FORMATTER.format(f"ALTER TABLE t ADD PARTITION ({spec})", params)
    return text.split(" ADD ", 1)[1]


def _location_literal(location: str) -> str:
    return _FORMATTER.format("ALTER TABLE t SET LOCATION %(l)s", {"l": location}).split(" LOCATION ", 1)[1]


def _batches(header: str, clauses: Sequence[str], separator: str, max_partitions: int,
             max_bytes: int) -> list[str]:
    statements: list[str] = []
    batch: list[str] = []
    size = len(header.encode())
    for clause in clauses:
        clause_size = len(clause.encode()) + len(separator.encode())
        if len(header.encode()) + clause_size > max_bytes:
            raise QueryError(f"One partition clause is {clause_size} bytes, more than the {max_bytes}-byte budget "
                             "of a statement.", "use a shorter prefix, or method='glue'.")
        if batch and (len(batch) >= max_partitions or size + clause_size > max_bytes):
            statements.append(header + separator.join(batch))
            batch, size = [], len(header.encode())
        batch.append(clause)
        size += clause_size
    if batch:
        statements.append(header + separator.join(batch))
    return statements


def add_partition_statements(table: str, partitions: Sequence[Partition], *,
                             max_partitions: int = MAX_PARTITIONS_PER_STATEMENT,
                             max_bytes: int = STATEMENT_BYTE_BUDGET) -> list[str]:
    """``ALTER TABLE <table> ADD IF NOT EXISTS PARTITION (...) LOCATION '...' ...`` statements.

    Each holds at most ``max_partitions`` partitions and ``max_bytes`` UTF-8 bytes (Athena's
    limit is 262,144).
    """
    if not 1 <= max_partitions <= MAX_PARTITIONS_PER_STATEMENT or not 0 < max_bytes <= MAX_QUERY_BYTES:
        raise QueryError(f"Batch limits {max_partitions} partitions / {max_bytes} bytes are out of range.",
                         f"use at most {MAX_PARTITIONS_PER_STATEMENT} partitions and {MAX_QUERY_BYTES} bytes.")
    header = f"ALTER TABLE `{check_identifier('table', table)}` ADD IF NOT EXISTS\n  "
    clauses = [f"{_partition_spec(p.values)} LOCATION {_location_literal(p.location)}" for p in partitions]
    return _batches(header, clauses, "\n  ", max_partitions, max_bytes)


def drop_partition_statements(table: str, values: Sequence[Sequence[str]], *,
                              max_partitions: int = MAX_PARTITIONS_PER_STATEMENT,
                              max_bytes: int = STATEMENT_BYTE_BUDGET) -> list[str]:
    """``ALTER TABLE <table> DROP IF EXISTS PARTITION (...), PARTITION (...)`` statements."""
    header = f"ALTER TABLE `{check_identifier('table', table)}` DROP IF EXISTS\n  "
    return _batches(header, [_partition_spec(v) for v in values], ",\n  ", max_partitions, max_bytes)


def glue_partition_inputs(partitions: Sequence[Partition], table: dict[str, Any]) -> list[dict[str, Any]]:
    """``PartitionInput`` dicts for BatchCreatePartition: the table's storage descriptor, each own location."""
    sd = dict(table.get("StorageDescriptor") or {})
    base = {k: v for k, v in sd.items() if k in ("Columns", "InputFormat", "OutputFormat", "SerdeInfo",
                                                  "Compressed", "Parameters", "StoredAsSubDirectories")}
    return [{"Values": list(p.values), "StorageDescriptor": {**base, "Location": p.location}} for p in partitions]


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


# -- sync -------------------------------------------------------------------------------------

@dataclasses.dataclass
class SyncReport:
    """What a partition sync found and did."""

    table: str
    method: str
    applied: bool
    discovered: int
    registered_before: int
    added: list[Partition]
    dropped: list[tuple[str, ...]]
    relocated: list[Partition]
    statements: list[str]
    write_calls: int
    list_calls: int
    query_ids: list[str]
    skipped_prefixes: list[str]
    seconds: float
    unknown_regions: list[str] = dataclasses.field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when partitions were (or would be) added, dropped or moved."""
        return bool(self.added or self.dropped or self.relocated)

    def summary(self) -> str:
        """One line: how many partitions were found, added, dropped, with how many calls."""
        verb = "added" if self.applied else "would add"
        return (f"{self.table}: {self.discovered} partitions in S3, {self.registered_before} registered before; "
                f"{verb} {len(self.added)}, dropped {len(self.dropped) if self.applied else 0}"
                f"{f' (would drop {len(self.dropped)})' if self.dropped and not self.applied else ''}, "
                f"moved {len(self.relocated)}; {self.write_calls} {self.write_unit}, {self.list_calls} LIST calls, "
                f"{self.seconds:.1f} s")

    def preview(self, limit: int = 1500) -> str:
        """The first statement (at most ``limit`` characters), or what there is to say when there is none."""
        if not self.statements:
            return "nothing to register" if not self.changed else "method glue: Glue batch calls, no SQL statement"
        first = self.statements[0]
        more = f"\n... ({len(first) - limit} more characters)" if len(first) > limit else ""
        others = f"\n... and {len(self.statements) - 1} more statement(s)" if len(self.statements) > 1 else ""
        return first[:limit] + more + others

    def records(self) -> dict[str, Any]:
        """What a notebook records: found, registered before, added, dropped, moved, write and LIST calls."""
        return {"applied": self.applied, "discovered": self.discovered, "registered_before": self.registered_before,
                "added": len(self.added), "dropped": len(self.dropped), "relocated": len(self.relocated),
                "write_calls": self.write_calls, "write_unit": self.write_unit, "list_calls": self.list_calls,
                "unknown_regions": list(self.unknown_regions)}

    @property
    def write_unit(self) -> str:
        """What ``write_calls`` counts: Athena statements or Glue batch calls."""
        return "statements" if self.method == "sql" else "Glue calls"

    def added_by_prefix(self) -> pd.DataFrame:
        """The added partitions grouped by account and region: number of days, first and last."""
        return _by_prefix(self.added)

    def frame(self) -> pd.DataFrame:
        """One row per partition changed: action, account, region, day, location."""
        rows = [{"action": "add", "account": p.account, "region": p.region, "day": p.values[2],
                 "location": p.location} for p in self.added]
        rows += [{"action": "move", "account": p.account, "region": p.region, "day": p.values[2],
                  "location": p.location} for p in self.relocated]
        rows += [{"action": "drop", "account": v[0], "region": v[1], "day": v[2], "location": ""}
                 for v in self.dropped]
        return pd.DataFrame(rows, columns=["action", "account", "region", "day", "location"])

    def __str__(self) -> str:
        lines = [self.summary()]
        if self.unknown_regions:
            lines.append(unknown_regions_warning(self.unknown_regions))
        for row in self.added_by_prefix().itertuples():
            lines.append(f"  {'added' if self.applied else 'to add'} {row.account} {row.region}: {row.days} days "
                         f"{row.first} .. {row.last}")
        for values in self.dropped:
            lines.append(f"  {'dropped' if self.applied else 'to drop'} {'/'.join(values)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        import html

        warning = (f"<p><b>{html.escape(unknown_regions_warning(self.unknown_regions))}</b></p>"
                   if self.unknown_regions else "")
        return (f"<p><b>{html.escape(self.summary())}</b></p>" + warning
                + self.added_by_prefix().to_html(index=False))


def _check_partitioned_table(settings: Settings, glue: Any, table: str) -> dict[str, Any]:
    from gdnb.athena.preflight import get_table

    definition = get_table(settings, glue, table)
    keys = tuple(k["Name"].lower() for k in definition.get("PartitionKeys") or [])
    if keys != PARTITION_KEYS:
        raise GdnbError(f"Table {settings.database}.{table} is partitioned by {list(keys)}, not "
                        f"{list(PARTITION_KEYS)}: gdnb cannot register GuardDuty partitions in it.",
                        "create it with gdnb.tables.create_tables (notebook 02), or pass table='gd_findings'.")
    if str((definition.get("Parameters") or {}).get("projection.enabled", "")).lower() == "true":
        raise GdnbError(f"Table {settings.database}.{table} uses partition projection: Athena ignores registered "
                        "partitions for it, so there is nothing to sync.", "sync table='gd_findings' instead.")
    return definition


def sync_partitions(settings: Settings, *, session: Session | None = None, table: str = "gd_findings",
                    method: str = "sql", drop_missing: bool = False, apply: bool | None = None,
                    start: dt.date | None = None, end: dt.date | None = None, regions: Iterable[str] = (),
                    progress: bool | None = None, max_partitions: int = MAX_PARTITIONS_PER_STATEMENT) -> SyncReport:
    """Register in the catalog every partition of the export that is missing there.

    Parameters
    ----------
    settings
        ``bucket``/``prefix`` (where to look), ``database``, Athena's region and workgroup.
    session
        The Athena session that runs the statements (made from ``settings`` when None).
    table
        The manually partitioned table (``gd_findings``).
    method
        ``sql``: batched ``ALTER TABLE ADD IF NOT EXISTS PARTITION`` through Athena (free: DDL).
        ``glue``: Glue BatchCreatePartition, 100 per call (no Athena query at all).
    drop_missing
        Also drop partitions whose prefix is gone from S3.
    apply
        Change the catalog (default ``settings.apply``); otherwise only report the plan.
    start, end, regions
        Limit the discovery (and the drops) to these days and regions.
    progress
        Show a progress bar (default: when there are more than 3 batches).
    max_partitions
        Partitions per statement (at most 100).

    Returns
    -------
    SyncReport
        What was found and what was added; ``statements`` holds the SQL sent.

    Raises
    ------
    NotFoundError
        When the table (or database) does not exist.
    QueryError
        When a statement fails (a re-run picks up where it stopped: IF NOT EXISTS).
    """
    if method not in METHODS:
        raise QueryError(f"Unknown partition method {method!r}.", f"use one of: {', '.join(METHODS)}.")
    check_identifier("table", table)
    apply = settings.apply if apply is None else apply
    began = time.monotonic()
    glue = session.client("glue") if session else aws.client("glue", settings.query_region, settings)
    definition = _check_partitioned_table(settings, glue, table)
    discovery = discover_partitions(settings, start=start, end=end, regions=regions)
    registered = registered_partitions(glue, settings.database, table)
    plan = plan_partitions(discovery.partitions, registered, drop_missing=drop_missing, scope=discovery.scope)
    statements: list[str] = []
    query_ids: list[str] = []
    to_drop = [*plan.drop, *(p.values for p in plan.relocate)]  # a moved partition is dropped and added again
    to_add = [*plan.add, *plan.relocate]
    if method == "sql":
        statements = (drop_partition_statements(table, to_drop, max_partitions=max_partitions)
                      + add_partition_statements(table, to_add, max_partitions=max_partitions))
        write_calls = len(statements)
    else:
        write_calls = len(_chunks(to_drop, GLUE_DELETE_BATCH)) + len(_chunks(to_add, GLUE_CREATE_BATCH))
    if apply and not plan.is_noop:
        if method == "sql":
            from gdnb.athena.session import Session

            runner = session or Session(settings)
            for statement in _progress(statements, progress, "ALTER TABLE statements"):
                result = runner.sql(statement, name=f"partitions {table}")
                if result.stats.query_id:
                    query_ids.append(result.stats.query_id)
        else:
            write_calls = _glue_sync(glue, settings.database, table, definition, to_drop, to_add, progress)
    report = SyncReport(table=table, method=method, applied=bool(apply), discovered=len(discovery.partitions),
                        registered_before=len(registered), added=plan.add, dropped=plan.drop,
                        relocated=plan.relocate, statements=statements, write_calls=write_calls,
                        list_calls=discovery.list_calls, query_ids=query_ids, skipped_prefixes=discovery.skipped,
                        seconds=time.monotonic() - began, unknown_regions=discovery.unknown_regions)
    log.info("%s", report.summary())
    return report


def _progress(items: Sequence[Any], progress: bool | None, what: str) -> Iterable[Any]:
    show = len(items) > 3 if progress is None else progress
    return tqdm(items, desc=what, unit="stmt", disable=not show, file=sys.stderr)


def _glue_sync(glue: Any, database: str, table: str, definition: dict[str, Any], to_drop: Sequence[Sequence[str]],
               to_add: Sequence[Partition], progress: bool | None) -> int:
    calls = 0
    jobs: list[tuple[str, Sequence[Any]]] = [("drop", c) for c in _chunks(list(to_drop), GLUE_DELETE_BATCH)]
    jobs += [("add", c) for c in _chunks(list(to_add), GLUE_CREATE_BATCH)]
    for kind, chunk in _progress(jobs, progress, "Glue batch calls"):
        try:
            if kind == "drop":
                answer = glue.batch_delete_partition(DatabaseName=database, TableName=table,
                                                     PartitionsToDelete=[{"Values": list(v)} for v in chunk])
            else:
                answer = glue.batch_create_partition(DatabaseName=database, TableName=table,
                                                     PartitionInputList=glue_partition_inputs(chunk, definition))
        except botocore.exceptions.ClientError as exc:
            raise translate_client_error(exc, f"glue:Batch{'Delete' if kind == 'drop' else 'Create'}Partition",
                                         f"{database}.{table}") from exc
        calls += 1
        errors = [e for e in answer.get("Errors") or []
                  if (e.get("ErrorDetail") or {}).get("ErrorCode") not in ("AlreadyExistsException",
                                                                          "EntityNotFoundException")]
        if errors:
            detail = errors[0].get("ErrorDetail") or {}
            raise QueryError(f"Glue refused {len(errors)} partition(s) of {database}.{table}, e.g. "
                             f"{errors[0].get('PartitionValues')}: {detail.get('ErrorCode')} "
                             f"{detail.get('ErrorMessage')}",
                             "fix the cause and run the sync again (partitions already added are kept).")
    return calls


@dataclasses.dataclass(frozen=True)
class RepairResult:
    """What ``MSCK REPAIR TABLE`` did: partitions registered before and after, and its query id."""

    table: str
    before: int
    after: int
    query_id: str | None

    @property
    def added(self) -> int:
        return self.after - self.before


def msck_repair(session: Session, table: str = "gd_findings") -> RepairResult:
    """Run ``MSCK REPAIR TABLE`` and count the partitions it registered (none on GuardDuty's layout).

    MSCK only discovers Hive-style ``key=value/`` folders; GuardDuty writes ``region/YYYY/MM/DD/``.
    """
    check_identifier("table", table)
    glue = session.client("glue")
    before = len(registered_partitions(glue, session.settings.database, table))
    result = session.sql(f"MSCK REPAIR TABLE `{table}`", name=f"msck repair {table}")
    after = len(registered_partitions(glue, session.settings.database, table))
    return RepairResult(table=table, before=before, after=after, query_id=result.stats.query_id)


# -- command line -----------------------------------------------------------------------------

def add_sync_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``gdnb partitions sync`` (for ``gdnb/cli.py`` to reuse)."""
    parser.add_argument("-f", "--params", required=True, help="params YAML file, e.g. params/sandbox.yaml")
    parser.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                        help="override one setting (YAML value), e.g. -p regions '[us-east-1]'")
    parser.add_argument("--table", default="gd_findings", help="the manually partitioned table")
    parser.add_argument("--method", choices=METHODS, default="sql",
                        help="sql: batched ALTER TABLE ADD PARTITION (default); glue: BatchCreatePartition")
    parser.add_argument("--drop-missing", action="store_true", help="also drop partitions whose prefix is gone")
    parser.add_argument("--dry-run", action="store_true",
                        help="only say what would be added, even with apply: true (without apply: true nothing "
                        "is changed either)")
    parser.add_argument("--start", type=dt.date.fromisoformat, default=None, help="first day to look at (YYYY-MM-DD)")
    parser.add_argument("--end", type=dt.date.fromisoformat, default=None, help="last day to look at (YYYY-MM-DD)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def run_sync_command(args: argparse.Namespace) -> int:
    """Run ``gdnb partitions sync`` from parsed arguments; print what was (or would be) added.

    The catalog changes only when the settings say ``apply: true`` and ``--dry-run`` is not given
    (plan, then apply); ``regions`` limits the discovery to those regions.
    """
    from gdnb.report.runner import parse_value  # here: gdnb.report imports this module

    overrides = {key: parse_value(value) for key, value in args.param}
    settings = load_settings(args.params, overrides=overrides)
    apply = settings.apply and not args.dry_run
    report = sync_partitions(settings, table=args.table, method=args.method, drop_missing=args.drop_missing,
                             apply=apply, start=args.start, end=args.end, regions=settings.regions,
                             progress=False if args.no_progress else None)
    print(report)
    if not report.changed:
        print("nothing to register: the catalog already has every partition in S3")
    elif not settings.apply and not args.dry_run:
        print(f"nothing was changed: apply is false in {args.params}. Set apply: true there (or pass -p apply true) "
              "to register these partitions.")
    return 0


def cli_sync(argv: Sequence[str] | None = None) -> int:
    """``gdnb partitions sync -f params/x.yaml [-p key value] ...``: the command as a function.

    Returns the exit code (2 on a gdnb error, with the message on stderr).
    """
    parser = add_sync_arguments(argparse.ArgumentParser(
        prog="gdnb partitions sync", description="Register the missing partitions of gd_findings."))
    args = parser.parse_args(argv)
    try:
        return run_sync_command(args)
    except GdnbError as exc:
        print(f"gdnb: error: {exc}", file=sys.stderr)
        return 2


__all__ = [
    "Discovery",
    "Partition",
    "PartitionPlan",
    "RepairResult",
    "SyncReport",
    "add_partition_statements",
    "cli_sync",
    "discover_partitions",
    "drop_partition_statements",
    "glue_partition_inputs",
    "in_window",
    "msck_repair",
    "partition_bytes",
    "plan_partitions",
    "registered_partitions",
    "sync_partitions",
]
