"""The query library: ``library/<name>.sql`` files described by ``catalog.yaml``.

The SQL is Athena's dialect with pyformat parameters (``%(name)s``); values are escaped by
pyathena's formatter, the one that escapes them when the query runs, so :func:`render` shows
exactly what Athena receives and what can be pasted into the Athena console. Table names are
identifiers: they are never parameters, only checked names.

Every query over a partitioned table is bounded by a date window on ``date_partition``; one
without a window is refused unless ``allow_full_scan=True`` is given.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import functools
import html
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pyathena.formatter import DefaultParameterFormatter

from gdnb.athena.identifiers import check_identifier
from gdnb.errors import QueryError

QUERIES_DIR = Path(__file__).resolve().parent
CATALOG_PATH = QUERIES_DIR / "catalog.yaml"
LIBRARY_DIR = QUERIES_DIR / "library"
WINDOWS = ("partition", "updatedat", "none")
TYPES = ("str", "int", "float", "bool", "date", "list[str]")
WINDOW_PARAMETERS = ("start", "end")
CHART_KINDS = ("barh", "bar", "stacked", "timeline")
CHART_KEYS = ("kind", "x", "y", "top", "label", "title", "xlabel", "ylabel")
# The bounds a full scan renders: every YYYY/MM/DD partition value sorts between them.
FULL_SCAN_BOUNDS = (dt.date(1970, 1, 1), dt.date(9999, 12, 31))
_REQUIRED = object()


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One named parameter of a query."""

    name: str
    type: str
    default: Any = _REQUIRED
    description: str = ""
    setting: str | None = None
    min: float | None = None
    max: float | None = None

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED

    def convert(self, query: str, value: Any) -> Any:
        """Check ``value`` against the type and bounds; return it in the form the formatter takes."""
        def bad(rule: str, example: str) -> QueryError:
            return QueryError(f"Parameter {self.name!r} of query {query!r} is {value!r}: {rule}.",
                              f"pass {self.name}={example}.")

        kind = self.type
        if kind == "str":
            if not isinstance(value, str):
                raise bad("it must be text", "'i-0123456789abcdef0'")
            return value
        if kind == "bool":
            if not isinstance(value, bool):
                raise bad("it must be True or False", "True")
            return value
        if kind in ("int", "float"):
            if isinstance(value, bool):
                raise bad(f"it must be a number ({kind})", "10")
            try:
                number: float | int = int(value) if kind == "int" else float(value)
            except (TypeError, ValueError):
                raise bad(f"it must be a number ({kind})", "10") from None
            if kind == "int" and isinstance(value, float) and not value.is_integer():
                raise bad("it must be a whole number", "10")
            if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
                raise bad(f"it must be between {self.min} and {self.max}", str(self.min if self.min else 1))
            return number
        if kind == "date":
            return as_date(value, f"parameter {self.name!r} of query {query!r}")
        if kind == "list[str]":
            items: list[Any]
            if value is None:
                items = []
            elif isinstance(value, str):
                items = [v.strip() for v in value.split(",") if v.strip()]
            elif isinstance(value, list | tuple | set | frozenset):
                items = sorted(value) if isinstance(value, set | frozenset) else list(value)
            else:
                raise bad("it must be a list of text values", "['us-east-1']")
            if not all(isinstance(v, str) for v in items):
                raise bad("every item must be text", "['123456789012']")
            return tuple(items)
        raise QueryError(f"Parameter {self.name!r} of query {query!r} has an unknown type {kind!r}.",
                         f"use one of {', '.join(TYPES)} in catalog.yaml.")  # pragma: no cover


@dataclasses.dataclass(frozen=True)
class Query:
    """A query of the library: its SQL file and what the catalog says about it."""

    name: str
    description: str
    table: str
    tables: tuple[str, ...]
    reads: tuple[str, ...]
    window: str
    parameters: Mapping[str, Parameter]
    tags: tuple[str, ...] = ()
    family: str | None = None
    chart: Mapping[str, Any] | None = None
    path: Path = LIBRARY_DIR

    @property
    def sql(self) -> str:
        """The SQL file as written (pyformat placeholders, default table)."""
        return self.path.read_text()

    def __str__(self) -> str:
        lines = [f"{self.name}: {self.description}",
                 f"  table: {self.table}" + (f" (or {', '.join(t for t in self.tables if t != self.table)})"
                                              if len(self.tables) > 1 else ""),
                 f"  window: {_WINDOW_TEXT[self.window]}"]
        for p in self.parameters.values():
            default = "required" if p.required else f"default {p.default!r}"
            lines.append(f"  {p.name} ({p.type}, {default}): {p.description}")
        lines += ["", self.sql]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        rows = "\n".join(
            f"| `{p.name}` | {p.type} | {'required' if p.required else f'`{p.default!r}`'} | "
            f"{p.setting or ''} | {p.description} |" for p in self.parameters.values())
        params = ("| parameter | type | default | setting | description |\n|---|---|---|---|---|\n" + rows
                  if rows else "no parameters")
        return (f"**{self.name}**: {html.escape(self.description)}\n\n"
                f"table `{self.table}`, window: {_WINDOW_TEXT[self.window]}\n\n{params}\n\n"
                f"```sql\n{self.sql}\n```")


_WINDOW_TEXT = {
    "partition": "required, start..end on date_partition (YYYY/MM/DD)",
    "updatedat": "required, start..end on the day of updatedat (reads the whole table)",
    "none": "none (reads the whole table)",
}


@dataclasses.dataclass(frozen=True)
class PreparedQuery:
    """A query ready to run: SQL with pyformat placeholders, and the values that fill them."""

    name: str
    sql: str
    parameters: dict[str, Any]
    tables: tuple[str, ...]
    window: tuple[dt.date, dt.date] | None

    def render(self) -> str:
        """The SQL with the values in, escaped exactly as pyathena escapes them."""
        return DefaultParameterFormatter().format(self.sql, self.parameters)


# -- the catalog ------------------------------------------------------------------------------

@functools.lru_cache(maxsize=4)
def load_catalog(path: Path = CATALOG_PATH) -> dict[str, Query]:
    """Read and check ``catalog.yaml``; every entry must have its ``library/<name>.sql`` file."""
    raw = yaml.safe_load(Path(path).read_text()) or {}
    queries: dict[str, Query] = {}
    for name, entry in (raw.get("queries") or {}).items():
        queries[name] = _query_from_entry(name, entry, Path(path).parent / "library")
    return queries


def _query_from_entry(name: str, entry: Mapping[str, Any], library: Path) -> Query:
    def fail(why: str) -> QueryError:
        return QueryError(f"catalog.yaml entry {name!r} is invalid: {why}.", "fix gdnb/queries/catalog.yaml.")

    check_identifier("query", name)
    sql_path = library / f"{name}.sql"
    if not sql_path.is_file():
        raise fail(f"{sql_path} does not exist")
    window = entry.get("window", "partition")
    if window not in WINDOWS:
        raise fail(f"window must be one of {WINDOWS}")
    table = check_identifier("table", entry.get("table"))
    tables = tuple(check_identifier("table", t) for t in entry.get("tables") or [table])
    if table not in tables:
        raise fail("its table must be one of its tables")
    reads = tuple(check_identifier("table", t) for t in entry.get("reads") or [table])
    params: dict[str, Parameter] = {}
    for pname, spec in (entry.get("parameters") or {}).items():
        check_identifier("parameter", pname)
        if pname in (*WINDOW_PARAMETERS, "table", "allow_full_scan"):
            raise fail(f"parameter name {pname!r} is reserved")
        ptype = spec.get("type")
        if ptype not in TYPES:
            raise fail(f"parameter {pname!r} has type {ptype!r}, not one of {TYPES}")
        params[pname] = Parameter(name=pname, type=ptype, default=spec.get("default", _REQUIRED),
                                  description=str(spec.get("description", "")), setting=spec.get("setting"),
                                  min=spec.get("min"), max=spec.get("max"))
    chart = entry.get("chart")
    if chart is not None:
        unknown = sorted(set(chart) - set(CHART_KEYS))
        if unknown:
            raise fail(f"its chart has unknown key(s) {', '.join(unknown)} (known: {', '.join(CHART_KEYS)})")
        if chart.get("kind") not in CHART_KINDS:
            raise fail(f"its chart kind must be one of {CHART_KINDS}")
        if not chart.get("x") or not chart.get("title"):
            raise fail("its chart needs x and a title")
    return Query(name=name, description=" ".join(str(entry.get("description", "")).split()), table=table,
                 tables=tables, reads=reads, window=window, parameters=params,
                 tags=tuple(entry.get("tags") or ()), family=entry.get("family"), chart=entry.get("chart"),
                 path=sql_path)


def get_query(name: str) -> Query:
    """The library query called ``name``.

    Raises
    ------
    QueryError
        When there is no such query, naming the closest ones.
    """
    catalog = load_catalog()
    if name in catalog:
        return catalog[name]
    close = difflib.get_close_matches(str(name), list(catalog), n=3, cutoff=0.4)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise QueryError(f"There is no query named {name!r} in the library. {hint}".strip(),
                     f"use one of: {', '.join(close or sorted(catalog))} (gdnb.queries.list_queries() lists all).")


def list_queries(tag: str | None = None, family: str | None = None) -> pd.DataFrame:
    """The library as a table: name, family, table, window, parameters, tags, description.

    Parameters
    ----------
    tag
        Keep the queries with this tag (``exfiltration``, ``summary``, ...).
    family
        Keep the queries of this exfiltration family.
    """
    rows = []
    for q in load_catalog().values():
        if (tag and tag not in q.tags) or (family and q.family != family):
            continue
        rows.append({"name": q.name, "family": q.family or "", "table": q.table, "window": q.window,
                     "parameters": ", ".join(q.parameters), "tags": ", ".join(q.tags),
                     "description": q.description})
    return pd.DataFrame(rows, columns=["name", "family", "table", "window", "parameters", "tags", "description"])


def describe(name: str) -> Query:
    """The query ``name``: description, parameters (types, defaults) and SQL; prints nicely."""
    return get_query(name)


def families() -> dict[str, str]:
    """Exfiltration family -> the query that lists it, in catalog order."""
    return {q.family: q.name for q in load_catalog().values() if q.family}


# -- rendering --------------------------------------------------------------------------------

def as_date(value: Any, what: str) -> dt.date:
    """A date from a ``date``, ``datetime`` or ISO ``YYYY-MM-DD`` text; QueryError otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip().replace("/", "-"))
        except ValueError:
            pass
    raise QueryError(f"The {what} is {value!r}, not a date.", "give a date such as '2026-05-01' (YYYY-MM-DD).")


def window_values(query: Query, start: Any, end: Any, allow_full_scan: bool) -> tuple[dict[str, str], tuple | None]:
    """The window parameters of ``query``: ``start_day``/``end_day`` (YYYY/MM/DD) and ``start_date``/``end_date``.

    Raises
    ------
    QueryError
        When the window is missing, open (only one end) or reversed.
    """
    if query.window == "none":
        if start is not None or end is not None:
            raise QueryError(f"Query {query.name!r} reads all of {query.table} and takes no date window.",
                             "leave out start and end.")
        return {}, None
    if start is None and end is None:
        if not allow_full_scan:
            raise QueryError(
                f"Query {query.name!r} has no date window: it would read the whole history of {query.table} "
                "(every partition, billed per byte).",
                "bound it with start and end (e.g. start='2026-05-01', end='2026-05-07'), or set start/end or "
                "lookback_days in the params file, or pass allow_full_scan=True to read everything on purpose.")
        start, end = FULL_SCAN_BOUNDS
    elif start is None or end is None:
        missing = "start" if start is None else "end"
        raise QueryError(f"The date window of query {query.name!r} is open: {missing} is missing.",
                         f"give both start and end (a window is always closed), e.g. {missing}='2026-05-07'.")
    first, last = as_date(start, "window start"), as_date(end, "window end")
    if first > last:
        raise QueryError(f"The date window of query {query.name!r} is reversed: start {first} is after end {last}.",
                         f"swap them: start={last.isoformat()!r}, end={first.isoformat()!r}.")
    values = {"start_day": first.strftime("%Y/%m/%d"), "end_day": last.strftime("%Y/%m/%d"),
              "start_date": first.isoformat(), "end_date": last.isoformat()}
    if first.year < 1000:  # pragma: no cover - dates before year 1000 do not occur in exports
        values["start_day"] = f"{first.year:04d}/{first.month:02d}/{first.day:02d}"
    return values, (first, last)


def prepare(name: str, *, table: str | None = None, start: Any = None, end: Any = None,
            allow_full_scan: bool = False, **params: Any) -> PreparedQuery:
    """Check the parameters of query ``name`` and bind them, without running anything.

    Parameters
    ----------
    name
        A query of the library (``list_queries()``).
    table
        Run over this table instead of the default (one of the query's ``tables``).
    start, end
        The date window, both inclusive (dates or ``YYYY-MM-DD``); required for windowed queries.
    allow_full_scan
        Read the whole history when no window is given.
    **params
        The query's own parameters; the ones not given take their defaults.

    Raises
    ------
    QueryError
        For an unknown query or parameter, a value of the wrong type, a missing required
        parameter, a bad table name, or a missing, open or reversed window.
    """
    query = get_query(name)
    unknown = [k for k in params if k not in query.parameters]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(key, [*query.parameters, *WINDOW_PARAMETERS, "table"], n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        known = ", ".join([*query.parameters, *(WINDOW_PARAMETERS if query.window != "none" else ())]) or "none"
        raise QueryError(f"Query {name!r} has no parameter {key!r}. {hint}".strip(),
                         f"its parameters are: {known}.")
    values: dict[str, Any] = {}
    for pname, spec in query.parameters.items():
        if pname in params:
            value = spec.convert(name, params[pname])
        elif spec.required:
            raise QueryError(f"Query {name!r} needs the parameter {pname!r} ({spec.description}).",
                             f"pass {pname}=...")
        else:
            value = spec.convert(name, spec.default)
        if spec.type == "list[str]":
            values[f"all_{pname}"] = not value
            value = value or ("",)  # an empty IN () is not SQL; all_<name> makes the filter a no-op
        values[pname] = value
    window, bounds = window_values(query, start, end, allow_full_scan)
    values.update(window)
    sql = query.sql
    reads = query.reads
    if table is not None and table != query.table:
        check_identifier("table", table)
        if table not in query.tables:
            raise QueryError(f"Query {name!r} cannot run over table {table!r}.",
                             f"use one of: {', '.join(query.tables)}.")
        sql = re.sub(rf"(?<![\w.`]){re.escape(query.table)}(?![\w`])", table, sql)
        reads = tuple(table if t == query.table else t for t in reads)
    return PreparedQuery(name=name, sql=sql, parameters=values, tables=reads, window=bounds)


def render(name: str, *, table: str | None = None, start: Any = None, end: Any = None,
           allow_full_scan: bool = False, **params: Any) -> str:
    """The SQL of query ``name`` with its values in (escaped as pyathena escapes them), not run.

    The result can be pasted into the Athena console. Same arguments as :func:`prepare`.

    Examples
    --------
    >>> sql = render("list_dns_exfiltration", start="2026-05-01", end="2026-05-07")
    >>> "date_partition BETWEEN '2026/05/01' AND '2026/05/07'" in sql
    True
    """
    return prepare(name, table=table, start=start, end=end, allow_full_scan=allow_full_scan, **params).render()
