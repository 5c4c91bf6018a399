"""Run Athena queries through pyathena's PandasCursor, with their cost, and keep a running total.

A :class:`Session` is one notebook's connection to Athena. Each query returns a
:class:`QueryResult`: the DataFrame and its :class:`QueryStats` (query id, state, bytes
scanned, cost in USD, engine and total time, output location). The session's ``history``
lists every query it ran, and ``total_cost`` adds them up.

Values go into SQL only as pyathena parameters (``%(name)s``, escaped by pyathena); table and
database names are checked identifiers. Pressing Stop in Jupyter (KeyboardInterrupt) stops the
Athena query (StopQueryExecution) and re-raises; throttled API calls are retried with backoff.
"""

from __future__ import annotations

import dataclasses
import html
import logging
from collections.abc import Mapping
from typing import Any

import botocore.exceptions
import pandas as pd
from pyathena import connect
from pyathena.error import DatabaseError, OperationalError, ProgrammingError
from pyathena.formatter import DefaultParameterFormatter
from pyathena.model import AthenaQueryExecution
from pyathena.pandas.cursor import PandasCursor
from pyathena.util import RetryConfig

from gdnb import aws
from gdnb.athena import preflight
from gdnb.athena.cost import billed_bytes, cost_table, format_bytes, format_usd, query_cost_usd
from gdnb.athena.sqlcheck import (
    DATE_PARTITION,
    KNOWN_PARTITIONED_TABLES,
    is_query,
    referenced_tables,
    tables_in_database,
    unbounded_tables,
)
from gdnb.config import Settings
from gdnb.errors import GdnbError, QueryError, RegionMismatchError, ThrottledError, translate_client_error
from gdnb.queries import catalog

log = logging.getLogger(__name__)
# pyathena logs every failed query with a traceback (logger.exception); gdnb raises an error that says what
# to do instead, so without a logging configuration those tracebacks should not reach a notebook's stderr.
logging.getLogger("pyathena").addHandler(logging.NullHandler())

THROTTLING_CODES = ("ThrottlingException", "TooManyRequestsException")
DEFAULT_RETRY = RetryConfig(exceptions=THROTTLING_CODES, attempt=6, multiplier=1, max_delay=20)
HISTORY_COLUMNS = ["name", "query_id", "state", "statement_type", "bytes_scanned", "billed_bytes", "cost_usd",
                   "engine_ms", "total_ms", "rows", "output_location", "reason", "sql"]


@dataclasses.dataclass(frozen=True)
class QueryStats:
    """What one query did and cost."""

    query_id: str | None
    state: str
    statement_type: str | None
    bytes_scanned: int
    billed_bytes: int
    cost_usd: float
    engine_ms: int | None
    total_ms: int | None
    output_location: str | None
    rows: int | None = None
    reason: str | None = None
    name: str | None = None
    sql: str = ""

    def summary(self) -> str:
        """One line: id, state, rows, bytes scanned and billed, cost, times."""
        what = f"{self.name} " if self.name else ""
        rows = f", {self.rows} rows" if self.rows is not None else ""
        times = f", engine {self.engine_ms} ms, total {self.total_ms} ms" if self.total_ms is not None else ""
        return (f"{what}query {self.query_id} {self.state}{rows}: scanned {format_bytes(self.bytes_scanned)} "
                f"(billed {format_bytes(self.billed_bytes)}), cost {format_usd(self.cost_usd)}{times}")

    def as_row(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in HISTORY_COLUMNS}


@dataclasses.dataclass
class QueryResult:
    """A query's rows (``frame``) with its :class:`QueryStats` (``stats``)."""

    frame: pd.DataFrame
    stats: QueryStats
    query: catalog.Query | None = None

    @property
    def df(self) -> pd.DataFrame:
        """The rows (alias of ``frame``)."""
        return self.frame

    def __len__(self) -> int:
        return len(self.frame)

    def first(self, column: str, default: Any = "") -> Any:
        """The value of ``column`` in the first row (``default`` when there are no rows)."""
        if self.frame.empty or column not in self.frame.columns:
            return default
        value = self.frame[column].iloc[0]
        return default if pd.isna(value) else value

    def distinct(self, column: str) -> int:
        """How many distinct non-null values ``column`` has (0 without rows).

        Raises
        ------
        QueryError
            When the result has no such column (Athena returns column names in lower case).
        """
        if column not in self.frame.columns:
            raise QueryError(f"The result has no column {column!r}.",
                             f"use one of: {', '.join(map(str, self.frame.columns))} (Athena lower-cases names).")
        return int(self.frame[column].nunique(dropna=True))

    def plot(self, ax: Any = None, **options: Any) -> Any:
        """Draw the result as its catalog entry says (``chart``); returns the matplotlib Axes."""
        from gdnb.queries.charts import plot_frame

        spec = dict((self.query.chart if self.query else None) or {})
        spec.update(options)
        if spec and not spec.get("title"):
            spec["title"] = self.query.name if self.query else (self.stats.name or "query result")
        if not spec:
            raise QueryError("This result has no chart: it did not come from a library query with a chart.",
                             "pass kind=, x= and y= (e.g. result.plot(kind='barh', x='type', y='findings')).")
        return plot_frame(self.frame, spec, ax=ax)

    def __repr__(self) -> str:
        return f"{self.stats.summary()}\n{self.frame!r}"

    def _repr_html_(self) -> str:
        return f"<p><code>{html.escape(self.stats.summary())}</code></p>" + (self.frame._repr_html_() or "")


def query_failure(reason: str | None, query_id: str | None, name: str | None = None) -> GdnbError:
    """The gdnb error for a query that Athena failed, with what to do about it."""
    reason = reason or "Athena gave no reason"
    what = f"Query {name + ' ' if name else ''}({query_id}) failed: {reason}"
    low = reason.lower()
    if "region" in low and "wrong" in low:
        return RegionMismatchError(
            f"{what}. The findings bucket is in another region than Athena.",
            "set athena_region in the params file to the bucket's region (the 'expecting' region above) and "
            "run notebook 02_create_tables again.", "HIVE_CURSOR_ERROR")
    if "table_not_found" in low or "schema_not_found" in low or ("does not exist" in low and "table" in low):
        return QueryError(what, preflight.CREATE_TABLES_FIX, query_id)
    if "bytes_scanned_limit" in low or "bytes scanned limit" in low:
        return QueryError(what, "narrow the date window (start/end, lookback_days), or raise bytes_scanned_cutoff "
                          "in the params file and run notebook 02 to update the workgroup.", query_id)
    if "not a valid json" in low or "jsonparseexception" in low:
        return QueryError(what, "something under the table LOCATION is not one JSON object per line (a folder "
                          "marker, a pretty-printed file): move it out of AWSLogs/.", query_id)
    if "access denied" in low or "accessdenied" in low:
        return QueryError(what, "the caller needs s3:GetObject and s3:ListBucket on the findings bucket and "
                          "kms:Decrypt on its key (the key policy must allow it too).", query_id)
    return QueryError(what, "read the reason above; the query id finds it in the Athena console's history.",
                      query_id)


class Session:
    """One notebook's Athena connection: queries, their costs, and the checks before the first one.

    Parameters
    ----------
    settings
        Uses ``database``, ``workgroup``, ``athena_results_bucket``, ``query_region``,
        ``bucket``, ``price_per_tb`` and, for library queries, the window (``start``, ``end``,
        ``lookback_days``) and the filters (``regions``, ``accounts``, ``min_severity``).
    poll_interval
        Seconds between two GetQueryExecution calls.
    retry_config
        pyathena's retry policy for throttled API calls (default: 6 attempts, exponential backoff).
    preflight
        Check the bucket's region, the workgroup, the output location and the tables before
        the first query (default True). Without it, raw SQL over ``gd_findings`` and
        ``gd_findings_projected`` still needs a ``date_partition`` condition (or ``allow_full_scan``).

    Examples
    --------
    >>> session = Session(settings)                       # doctest: +SKIP
    >>> result = session.run("list_dns_exfiltration")     # doctest: +SKIP
    >>> result.stats.cost_usd, session.total_cost         # doctest: +SKIP
    """

    def __init__(self, settings: Settings, *, poll_interval: float = 0.2, retry_config: RetryConfig | None = None,
                 preflight: bool = True) -> None:
        self.settings = settings
        self.poll_interval = poll_interval
        self.retry_config = retry_config or DEFAULT_RETRY
        self.run_preflight = preflight
        self._connection: Any = None
        self._clients: dict[str, Any] = {}
        self._stats: list[QueryStats] = []
        self._executions: dict[str, AthenaQueryExecution] = {}
        self._tables: dict[str, dict[str, Any]] = {}
        self._ready = False
        self.output_location: str | None = None

    # -- connections -------------------------------------------------------------------------
    @property
    def staging_dir(self) -> str:
        """``s3://<athena_results_bucket>/results/``."""
        return f"s3://{self.settings.athena_results_bucket}/results/"

    def client(self, service: str) -> Any:
        """A boto3 client in Athena's region (cached)."""
        if service not in self._clients:
            self._clients[service] = aws.client(service, self.settings.query_region, self.settings)
        return self._clients[service]

    @property
    def connection(self) -> Any:
        """The pyathena connection (PandasCursor, kill on interrupt, throttling retries)."""
        if self._connection is None:
            self._connection = connect(
                s3_staging_dir=self.staging_dir, work_group=self.settings.workgroup,
                region_name=self.settings.query_region, schema_name=self.settings.database,
                poll_interval=self.poll_interval, session=aws.session(self.settings), config=aws.RETRY_CONFIG,
                retry_config=self.retry_config, kill_on_interrupt=True, cursor_class=PandasCursor,
                on_poll=self._on_poll)
        return self._connection

    def _on_poll(self, execution: AthenaQueryExecution) -> None:
        if execution.query_id:
            self._executions[execution.query_id] = execution

    def close(self) -> None:
        """Close the connection (the history stays)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- checks ------------------------------------------------------------------------------
    def preflight(self, tables: tuple[str, ...] | list[str] = ()) -> dict[str, dict[str, Any]]:
        """Run the checks (once per session; once per table) and return the tables' Glue definitions.

        Raises
        ------
        RegionMismatchError
            When the findings bucket is not in Athena's region.
        NotFoundError
            When the bucket, workgroup, results bucket, database or a table is missing.
        AccessDeniedError
            When the results cannot be written.
        """
        if not self._ready:
            preflight.check_bucket_region(self.settings, self.client("s3"))
            workgroup = preflight.check_workgroup(self.settings, self.client("athena"))
            self.output_location = preflight.effective_output_location(workgroup, self.staging_dir)
            preflight.check_output_location(self.client("s3"), self.output_location)
            self._ready = True
            log.info("preflight passed: bucket and Athena in %s, workgroup %s, results in %s",
                     self.settings.query_region, self.settings.workgroup, self.output_location)
        for table in tables:
            if table not in self._tables:
                self._tables[table] = preflight.get_table(self.settings, self.client("glue"), table)
        return {t: self._tables[t] for t in tables}

    # -- queries -----------------------------------------------------------------------------
    def sql(self, query: str, parameters: Mapping[str, Any] | None = None, *, name: str | None = None,
            allow_full_scan: bool = False, _tables: tuple[str, ...] | None = None,
            _query: catalog.Query | None = None) -> QueryResult:
        """Run one SQL statement (DML or DDL) and return its rows with their stats.

        Parameters
        ----------
        query
            Athena SQL; values as ``%(name)s`` placeholders (write a literal ``%`` as ``%%``
            when there are parameters).
        parameters
            The values, escaped by pyathena (strings quoted, lists as ``('a', 'b')``, dates as
            ``DATE '...'``).
        name
            A label for the history.
        allow_full_scan
            Let a query read a partitioned table without a ``date_partition`` condition.

        Raises
        ------
        QueryError
            When a partitioned table is read without a date window, or Athena fails the query
            (with its reason and query id).
        RegionMismatchError, NotFoundError
            From the checks before the first query.
        ThrottledError
            When Athena keeps throttling after the retries.
        """
        if not isinstance(query, str) or not query.strip():
            raise QueryError("The query is empty.", "pass the SQL text of one statement.")
        if parameters is not None and not isinstance(parameters, Mapping):
            raise QueryError(f"Query parameters must be a mapping of names to values, not {type(parameters).__name__}.",
                             "pass {'name': value} and write %(name)s in the SQL.")
        params = dict(parameters) if parameters is not None else None
        try:
            rendered = DefaultParameterFormatter().format(query, params)
        except KeyError as exc:
            raise QueryError(f"The query uses the parameter %({exc.args[0]})s but no value was given for it.",
                             f"pass parameters={{'{exc.args[0]}': ...}}.") from None
        except (TypeError, ValueError, ProgrammingError) as exc:
            raise QueryError(f"The query parameters cannot be rendered: {exc}.",
                             "write a literal % as %% when the query has parameters; values must be text, numbers, "
                             "dates, booleans or lists of them.") from None
        dml = is_query(rendered)
        # Only the tables of the session's database are checked in Glue: another database's tables and
        # information_schema are Athena's to resolve (and to report when they are missing).
        tables = _tables if _tables is not None else tuple(
            tables_in_database(referenced_tables(rendered), self.settings.database))
        definitions = self.preflight(tables) if self.run_preflight else {}
        if dml and _tables is None and not allow_full_scan:
            open_tables = unbounded_tables(rendered, self._partitioned(definitions), self.settings.database)
            if open_tables:
                raise QueryError(
                    f"The query reads {', '.join(open_tables)} without a date window: it would scan every partition "
                    "of the whole history.",
                    "add a condition on the partition, e.g. WHERE date_partition BETWEEN '2026/05/01' AND "
                    "'2026/05/07', or pass allow_full_scan=True to read everything on purpose.")
        if not dml:
            self._tables.clear()  # DDL may create or drop tables: check them again next time
        return self._execute(query, params, rendered, name, _query)

    @staticmethod
    def _partitioned(definitions: Mapping[str, dict[str, Any]]) -> set[str]:
        """The tables the date-window guard protects: those whose Glue definition has ``date_partition``,
        and gdnb's partitioned tables whose definition was not fetched (no preflight, SQL it cannot parse)."""
        known = {t for t, d in definitions.items() if DATE_PARTITION in preflight.partition_keys(d)}
        return known | {t for t in KNOWN_PARTITIONED_TABLES if t not in definitions}

    def _execute(self, query: str, params: dict[str, Any] | None, rendered: str, name: str | None,
                 entry: catalog.Query | None) -> QueryResult:
        cursor = self.connection.cursor()
        started: list[str] = []

        def on_start(query_id: str) -> None:
            started.append(query_id)
            log.info("query %s started%s", query_id, f" ({name})" if name else "")

        try:
            cursor.execute(query, params, on_start_query_execution=on_start)
        except KeyboardInterrupt:
            # pyathena has asked Athena to stop the query (StopQueryExecution) before re-raising.
            query_id = cursor.query_id or (started[-1] if started else None)
            self._record_failure(query_id, name, rendered, "CANCELLED", "interrupted by the user")
            log.warning("query %s stopped (interrupted)", query_id)
            raise
        except OperationalError as exc:
            query_id = cursor.query_id or (started[-1] if started else None)
            if not started:  # it never started: an API error, not a failed query
                raise self._api_error(exc) from exc
            stats = self._record_failure(query_id, name, rendered, "FAILED", str(exc.args[0] if exc.args else exc))
            raise query_failure(stats.reason, query_id, name) from None
        except DatabaseError as exc:
            raise self._api_error(exc) from exc
        frame = cursor.as_pandas()
        stats = self._stats_from(cursor.query_id, name, rendered, len(frame))
        self._stats.append(stats)
        log.info("%s", stats.summary())
        return QueryResult(frame=frame, stats=stats, query=entry)

    def _api_error(self, exc: Exception) -> GdnbError | Exception:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, botocore.exceptions.ClientError):
            code = str(cause.response.get("Error", {}).get("Code", ""))
            if code in THROTTLING_CODES:
                return ThrottledError(f"Athena kept throttling StartQueryExecution after "
                                      f"{self.retry_config.attempt} attempts ({code}).",
                                      "wait a minute and run the cell again; fewer queries in parallel help.", code)
            translated = translate_client_error(cause, "athena:StartQueryExecution", self.settings.workgroup)
            if translated is not cause:
                return translated
            message = cause.response.get("Error", {}).get("Message", str(cause))
            return QueryError(f"Athena refused the query: {message}",
                              "check the SQL and the workgroup (notebook 02 creates it).")
        return QueryError(f"The query could not be sent to Athena: {exc}", "check the connection and the SQL.")

    def _execution(self, query_id: str | None) -> AthenaQueryExecution | None:
        if not query_id:
            return None
        execution = self._executions.get(query_id)
        if execution is None or execution.state not in AthenaQueryExecution.TERMINAL_STATES:
            try:
                raw = self.client("athena").get_query_execution(QueryExecutionId=query_id)
                execution = AthenaQueryExecution(raw)
            except botocore.exceptions.ClientError:
                return execution
        return execution

    def _stats_from(self, query_id: str | None, name: str | None, sql: str, rows: int | None,
                    state: str | None = None, reason: str | None = None) -> QueryStats:
        execution = self._execution(query_id)
        state = (execution.state if execution and execution.state else None) or state or "UNKNOWN"
        statement_type = execution.statement_type if execution else None
        scanned = int((execution.data_scanned_in_bytes if execution else 0) or 0)
        return QueryStats(
            query_id=query_id, state=state, statement_type=statement_type, bytes_scanned=scanned,
            billed_bytes=billed_bytes(scanned, statement_type, state),
            cost_usd=query_cost_usd(scanned, statement_type, state, self.settings.price_per_tb),
            engine_ms=execution.engine_execution_time_in_millis if execution else None,
            total_ms=execution.total_execution_time_in_millis if execution else None,
            output_location=execution.output_location if execution else None, rows=rows,
            reason=(execution.state_change_reason if execution and execution.state_change_reason else None) or reason,
            name=name, sql=sql)

    def _record_failure(self, query_id: str | None, name: str | None, sql: str, state: str,
                        reason: str) -> QueryStats:
        stats = self._stats_from(query_id, name, sql, None, state=state, reason=reason)
        self._stats.append(stats)
        log.info("%s", stats.summary())
        return stats

    # -- the library -------------------------------------------------------------------------
    def prepare(self, name: str, *, table: str | None = None, start: Any = None, end: Any = None,
                allow_full_scan: bool = False, **params: Any) -> catalog.PreparedQuery:
        """Bind a library query, filling what the caller left out from the settings.

        The window defaults to ``settings.window()`` (``start``/``end`` or the last
        ``lookback_days``); parameters with a ``setting`` in the catalog default to that setting.
        """
        query = catalog.get_query(name)
        if query.window != "none" and start is None and end is None and not allow_full_scan:
            start, end = self.settings.window()
        for pname, spec in query.parameters.items():
            if pname not in params and spec.setting and hasattr(self.settings, spec.setting):
                params[pname] = getattr(self.settings, spec.setting)
        return catalog.prepare(name, table=table, start=start, end=end, allow_full_scan=allow_full_scan, **params)

    def render(self, name: str, **kwargs: Any) -> str:
        """The SQL a :meth:`run` with the same arguments would send, not run."""
        return self.prepare(name, **kwargs).render()

    def run(self, name: str, /, *, table: str | None = None, start: Any = None, end: Any = None,
            allow_full_scan: bool = False, **params: Any) -> QueryResult:
        """Run the library query ``name`` (see ``gdnb.queries.list_queries()``).

        Parameters
        ----------
        name
            The query's name.
        table
            Run it over another of its tables (e.g. ``gd_findings_projected``).
        start, end
            The date window (both inclusive); default ``settings.window()``.
        allow_full_scan
            Read the whole history (no window).
        **params
            The query's parameters (``gdnb.queries.describe(name)``).
        """
        prepared = self.prepare(name, table=table, start=start, end=end, allow_full_scan=allow_full_scan, **params)
        return self.sql(prepared.sql, prepared.parameters, name=name, _tables=prepared.tables,
                        _query=catalog.get_query(name))

    # -- costs -------------------------------------------------------------------------------
    @property
    def history(self) -> pd.DataFrame:
        """Every query of the session: id, state, bytes scanned and billed, cost, times, SQL."""
        return pd.DataFrame([s.as_row() for s in self._stats], columns=HISTORY_COLUMNS)

    @property
    def queries(self) -> list[QueryStats]:
        """The stats of every query of the session, in order."""
        return list(self._stats)

    def rows_by_query(self) -> dict[str, int]:
        """Rows returned per named query (the last run of each name; failed queries left out)."""
        return {s.name: s.rows for s in self._stats if s.name and s.rows is not None}

    def costs(self) -> pd.DataFrame:
        """Every query of the session (name, id, state, type, bytes scanned and billed, cost, time), then a total."""
        return cost_table(self.history)

    @property
    def total_cost(self) -> float:
        """USD spent by this session's queries."""
        return sum(s.cost_usd for s in self._stats)

    @property
    def total_bytes_scanned(self) -> int:
        """Bytes scanned by this session's queries."""
        return sum(s.bytes_scanned for s in self._stats)

    def cost_summary(self) -> str:
        """``'12 queries, scanned 1.2 GiB, cost $0.0059'``."""
        return (f"{len(self._stats)} queries, scanned {format_bytes(self.total_bytes_scanned)}, "
                f"cost {format_usd(self.total_cost)}")

    def __repr__(self) -> str:
        return (f"Session(workgroup={self.settings.workgroup!r}, database={self.settings.database!r}, "
                f"region={self.settings.query_region!r}: {self.cost_summary()})")


AthenaSession = Session
