"""The local Athena engine: one statement in, Athena's outcome out.

:class:`Engine` classifies a statement as Athena does, runs DDL and utility statements against
the catalog, and for a query: substitutes ``?`` execution parameters, inlines views, prunes
partitions (registered or projected), lists the objects each table reference reads, computes
bytes scanned as Athena bills them, enforces the workgroup's per-query cutoff, and hands the
query to the DML executor.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import logging
import math
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import traverse_scope
from sqlglot.tokens import TokenType

from gdnb.sandbox.athena import ddl, projection, statements, utility
from gdnb.sandbox.athena.catalog import Catalog, EntityNotFound
from gdnb.sandbox.athena.context import DEFAULT_CATALOG, StatementContext, drop_target, is_view, resolve_name
from gdnb.sandbox.athena.errors import AthenaSqlError, QueryCancelled
from gdnb.sandbox.athena.listing import list_locations
from gdnb.sandbox.athena.model import Column, ObjectRef, QueryOutcome, StatementType, TableScan
from gdnb.sandbox.athena.partitions import Partition, partition_keys, registered_partitions
from gdnb.sandbox.athena.pruning import (
    PartitionSelector,
    TableKey,
    TableReference,
    conjuncts_on,
    find_references,
    injected_value,
)
from gdnb.sandbox.athena.statements import Classification, InvalidRequest
from gdnb.sandbox.athena.storage import ObjectStore
from gdnb.sandbox.athena.views import (
    ViewDefinition,
    infer_view_columns,
    read_view,
    view_body_text,
    view_table_input,
)

if TYPE_CHECKING:
    from gdnb.sandbox.athena.dml import DmlExecutor

log = logging.getLogger(__name__)

MAX_VIEW_DEPTH = 10

# Statements whose text sqlglot cannot parse into an AST; read with TokenCursor instead.
_TOKEN_PARSED = {"CREATE_DATABASE", "DROP_DATABASE", "MSCK_REPAIR", "DESCRIBE_TABLE", "ALTER_DATABASE"}


class BytesScannedLimitExceeded(AthenaSqlError):
    """The query would scan more than the workgroup's ``BytesScannedCutoffPerQuery``.

    Athena cancels such a query: state ``CANCELLED``, ``StateChangeReason`` ``Bytes scanned limit
    was exceeded``, ``DataScannedInBytes`` the cutoff (it stops reading there).
    """

    state = "CANCELLED"

    def __init__(self, cutoff: int, would_scan: int) -> None:
        self.cutoff = cutoff
        self.would_scan = would_scan
        self.data_scanned_bytes = cutoff
        super().__init__("BYTES_SCANNED_LIMIT_EXCEEDED", "Bytes scanned limit was exceeded")

    @property
    def reason(self) -> str:
        return self.message


@dataclasses.dataclass
class ScanPlan:
    """What a query reads: the scans handed to the executor and the bytes Athena bills."""

    tables: dict[TableKey, TableScan]
    data_scanned_bytes: int
    analysed: bool
    per_reference: list[tuple[TableReference, int]]


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise QueryCancelled()


class Engine:
    """Runs Athena statements over a catalog and an object store.

    Parameters
    ----------
    catalog
        Databases, tables and partitions (Glue shapes).
    store
        Where table data lives.
    region
        The Athena region; buckets in other regions fail queries as on AWS.
    cache_dir
        Passed to the default DML executor (its decoded-object cache).
    executor
        Runs SELECTs; default ``DmlExecutor(store, cache_dir)``.
    """

    def __init__(self, catalog: Catalog, store: ObjectStore, region: str, cache_dir: Path | None = None,
                 executor: DmlExecutor | None = None) -> None:
        self.catalog = catalog
        self.store = store
        self.region = region
        self.cache_dir = cache_dir
        self._executor = executor
        self._lock = threading.Lock()
        self._duckdb: duckdb.DuckDBPyConnection | None = None

    @property
    def executor(self) -> DmlExecutor:
        """The DML executor (created on first use)."""
        with self._lock:
            if self._executor is None:
                try:
                    from gdnb.sandbox.athena.dml import DmlExecutor
                except ImportError as err:
                    raise AthenaSqlError("NOT_SUPPORTED", "The local Athena has no DML executor installed") from err
                self._executor = DmlExecutor(self.store, self.cache_dir)
            return self._executor

    def _duckdb_connection(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB for evaluating partition predicates; each query takes its own cursor."""
        with self._lock:
            if self._duckdb is None:
                self._duckdb = duckdb.connect(":memory:")
            return self._duckdb

    def close(self) -> None:
        """Release the executor's and the partition evaluator's resources."""
        close = getattr(self._executor, "close", None)
        if callable(close):
            close()
        with self._lock:
            if self._duckdb is not None:
                self._duckdb.close()
                self._duckdb = None

    # -----------------------------------------------------------------------------------------
    # Classification
    # -----------------------------------------------------------------------------------------

    def classify(self, sql: str) -> Classification:
        """``StatementType`` and ``SubstatementType`` of ``sql``; checks it is one well-formed statement.

        Raises
        ------
        InvalidRequest
            What Athena refuses at ``StartQueryExecution``: syntax errors, several statements,
            statements Athena does not know.
        """
        cls = statements.classify(sql)
        if cls.substatement_type in _TOKEN_PARSED or cls.substatement_type.startswith(("SHOW_", "ALTER_TABLE")):
            _single_statement(sql)
        else:
            parsed = statements.parse_statement(sql)
            if cls.substatement_type in ("CREATE_TABLE",) and isinstance(parsed, exp.Create):
                ddl.precheck_create_table(parsed)
        return cls

    def statement_type(self, sql: str) -> StatementType:
        """Athena's ``StatementType`` (``DDL``, ``DML``, ``UTILITY``) of ``sql``.

        Raises
        ------
        AthenaSqlError
            :class:`~gdnb.sandbox.athena.statements.InvalidRequest` (kind ``SYNTAX_ERROR``) when
            Athena would refuse the statement at ``StartQueryExecution``.
        """
        return self.classify(sql).statement_type

    # -----------------------------------------------------------------------------------------
    # Execution
    # -----------------------------------------------------------------------------------------

    def execute(self, sql: str, *, database: str | None = "default", catalog_name: str = "AwsDataCatalog",
                execution_parameters: list[str] | None = None, cancel: threading.Event | None = None,
                bytes_scanned_cutoff: int | None = None, now: datetime.datetime | None = None) -> QueryOutcome:
        """Run one statement.

        Parameters
        ----------
        sql
            The statement (leading comments and one trailing ``;`` allowed).
        database, catalog_name
            The ``QueryExecutionContext``.
        execution_parameters
            Values for the ``?`` placeholders of a DML statement, as Athena receives them.
        cancel
            Set to stop the query (raises :class:`~gdnb.sandbox.athena.errors.QueryCancelled`).
        bytes_scanned_cutoff
            The workgroup's ``BytesScannedCutoffPerQuery``.
        now
            The query's clock (``current_date``, ``NOW`` in projection ranges); default the real UTC time.

        Returns
        -------
        QueryOutcome
            Columns, rows (``.txt`` lines for DDL/UTILITY) and bytes scanned.

        Raises
        ------
        AthenaSqlError
            The failure Athena would report (:class:`BytesScannedLimitExceeded` for the cutoff).
        """
        now = now or datetime.datetime.now(datetime.UTC)
        if now.tzinfo is None:
            now = now.replace(tzinfo=datetime.UTC)
        cls = self.classify(sql)
        ctx = StatementContext(sql=sql, catalog=self.catalog, store=self.store, region=self.region,
                               database=(database or None) and database.lower(), now=now,
                               catalog_name=catalog_name)
        _check_cancel(cancel)
        if cls.statement_type == "DML":
            return self._query(ctx, cls, execution_parameters, cancel, bytes_scanned_cutoff)
        sub = cls.substatement_type
        if cls.statement_type == "UTILITY":
            result = utility.describe(ctx) if sub == "DESCRIBE_TABLE" else utility.show(ctx)
            return QueryOutcome("UTILITY", result.columns, [(line,) for line in result.lines])
        lines = self._ddl(ctx, sub)
        return QueryOutcome("DDL", [], [(line,) for line in lines])

    def _ddl(self, ctx: StatementContext, sub: str) -> list[str]:
        if sub == "CREATE_DATABASE":
            return ddl.create_database(ctx)
        if sub == "DROP_DATABASE":
            return ddl.drop_database(ctx)
        if sub == "MSCK_REPAIR":
            return ddl.msck_repair(ctx)
        if sub.startswith("ALTER_TABLE"):
            return ddl.alter_table(ctx)
        parsed = statements.parse_statement(ctx.sql)
        if sub == "CREATE_TABLE" and isinstance(parsed, exp.Create):
            return ddl.create_table(ctx, parsed)
        if sub == "DROP_TABLE" and isinstance(parsed, exp.Drop):
            return ddl.drop_table(ctx, parsed)
        if sub == "CREATE_VIEW" and isinstance(parsed, exp.Create):
            return self._create_view(ctx, parsed)
        if sub == "DROP_VIEW" and isinstance(parsed, exp.Drop):
            return self._drop_view(ctx, parsed)
        what = sub.replace("_", " ")
        raise AthenaSqlError("NOT_SUPPORTED", f"{what} is not supported by gdnb's local Athena")

    # -----------------------------------------------------------------------------------------
    # Queries
    # -----------------------------------------------------------------------------------------

    def _query(self, ctx: StatementContext, cls: Classification, parameters: list[str] | None,
               cancel: threading.Event | None, cutoff: int | None) -> QueryOutcome:
        if cls.substatement_type not in ("SELECT", "VALUES"):
            raise AthenaSqlError("NOT_SUPPORTED",
                                 f"{cls.substatement_type} is not supported by gdnb's local Athena (it only reads)")
        if ctx.catalog_name.lower() != DEFAULT_CATALOG:
            raise AthenaSqlError("CATALOG_NOT_FOUND", f"Catalog '{ctx.catalog_name.lower()}' does not exist")
        text = statements.substitute_parameters(ctx.sql, parameters)
        query = statements.parse_statement(text)
        tables = self.resolve(query, ctx, text)
        plan = self.plan(query, tables, ctx)
        if plan.analysed and cutoff is not None and plan.data_scanned_bytes > cutoff:
            raise BytesScannedLimitExceeded(cutoff, plan.data_scanned_bytes)
        _check_cancel(cancel)
        columns, rows = self.executor.execute(query, plan.tables, default_database=ctx.database or "default",
                                              cancel=cancel, now=ctx.now)
        if not plan.analysed and cutoff is not None and plan.data_scanned_bytes > cutoff:
            raise BytesScannedLimitExceeded(cutoff, plan.data_scanned_bytes)
        return QueryOutcome("DML", list(columns), list(rows), plan.data_scanned_bytes)

    def resolve(self, query: exp.Expression, ctx: StatementContext, text: str | None = None
                ) -> dict[TableKey, dict[str, Any]]:
        """Resolve every table the query reads, inlining views; return the base tables.

        Base table references are rewritten in place to ``db.table`` (lower case, no catalog).

        Raises
        ------
        AthenaSqlError
            ``TABLE_NOT_FOUND``, ``SCHEMA_NOT_FOUND``, ``CATALOG_NOT_FOUND``, ``MISSING_SCHEMA_NAME``
            with the reference's ``line:column``.
        """
        text = ctx.sql if text is None else text
        tables: dict[TableKey, dict[str, Any]] = {}
        for _depth in range(MAX_VIEW_DEPTH + 1):
            pending = [t for t in _table_sources(query) if not t.meta.get("gdnb_base")]
            if not pending:
                return tables
            for node in pending:
                self._resolve_one(node, ctx, text, tables)
        raise AthenaSqlError("INVALID_VIEW", f"Views nested more than {MAX_VIEW_DEPTH} levels deep")

    def _resolve_one(self, node: exp.Table, ctx: StatementContext, text: str,
                     tables: dict[TableKey, dict[str, Any]]) -> None:
        line, col = _position(node, text)
        parts = [p.name.lower() for p in node.parts]
        if len(parts) == 3:
            if parts[0] != DEFAULT_CATALOG:
                raise AthenaSqlError("CATALOG_NOT_FOUND", f"Catalog '{parts[0]}' does not exist", line, col)
            parts = parts[1:]
        default_db = node.meta.get("gdnb_schema") or ctx.database
        if len(parts) == 1 and not default_db:
            raise AthenaSqlError("MISSING_SCHEMA_NAME", "Schema must be specified when session schema is not set",
                                 line, col)
        database, name = (parts[0], parts[1]) if len(parts) == 2 else (default_db, parts[0])
        try:
            self.catalog.get_database(database)
        except EntityNotFound as err:
            raise AthenaSqlError("SCHEMA_NOT_FOUND", f"Schema '{database}' does not exist", line, col) from err
        try:
            table = self.catalog.get_table(database, name)
        except EntityNotFound as err:
            raise AthenaSqlError("TABLE_NOT_FOUND", f"Table '{DEFAULT_CATALOG}.{database}.{name}' does not exist",
                                 line, col) from err
        if is_view(table):
            self._inline_view(node, database, name, table, node.meta.get("gdnb_pos", node_start(node)))
            return
        node.set("catalog", None)
        node.set("db", exp.to_identifier(database))
        node.set("this", exp.to_identifier(name))
        node.meta["gdnb_base"] = True
        tables[(database, name)] = table

    def _inline_view(self, node: exp.Table, database: str, name: str, table: dict[str, Any], pos: int) -> None:
        definition = read_view(table, database)
        try:
            body = statements.parse_statement(definition.sql)
        except AthenaSqlError as err:
            raise AthenaSqlError("INVALID_VIEW", f"Failed analyzing stored view '{DEFAULT_CATALOG}.{database}.{name}':"
                                 f" {err.reason}") from err
        for inner in _table_sources(body):
            inner.meta["gdnb_schema"] = definition.schema
            inner.meta["gdnb_pos"] = pos
        alias = node.args.get("alias")
        if alias is None:
            alias = exp.TableAlias(this=exp.to_identifier(node.name))
        node.replace(exp.Subquery(this=body, alias=alias.copy()))

    def plan(self, query: exp.Expression, tables: Mapping[TableKey, dict[str, Any]], ctx: StatementContext
             ) -> ScanPlan:
        """Prune partitions per table reference, list their objects and total the bytes scanned."""
        refs = find_references(query, tables)
        analysed = all(r.analysed for r in refs)
        selector = PartitionSelector(ctx.now, self._duckdb_connection())
        registered: dict[TableKey, list[Partition]] = {}
        try:
            chosen: list[tuple[TableReference, list[Partition] | None]] = []
            for ref in refs:
                chosen.append((ref, self._partitions(ref, tables[ref.key], selector, registered, ctx)))
        finally:
            selector.close()
        locations: set[str] = set()
        for ref, parts in chosen:
            if parts is None:
                locations.add(_table_location(tables[ref.key]))
            else:
                locations.update(p.location for p in parts)
        listed = list_locations(self.store, self.region, locations) if locations else {}
        objects: dict[TableKey, dict[tuple[str, str], ObjectRef]] = {key: {} for key in tables}
        total = 0
        per_reference: list[tuple[TableReference, int]] = []
        for ref, parts in chosen:
            keys = partition_keys(tables[ref.key])
            ref_bytes = 0
            targets = [(_table_location(tables[ref.key]), ())] if parts is None else [
                (p.location, tuple(zip(keys, p.values, strict=True))) for p in parts]
            for location, values in targets:
                for info in listed.get(location, []):
                    ref_bytes += info.size
                    objects[ref.key].setdefault((info.bucket, info.key),
                                                ObjectRef(info.bucket, info.key, info.size, info.etag, values))
            per_reference.append((ref, ref_bytes))
            total += ref_bytes
        scans = {key: TableScan(key[0], key[1], table, tuple(objects[key].values())) for key, table in tables.items()}
        return ScanPlan(scans, total, analysed, per_reference)

    def _partitions(self, ref: TableReference, table: dict[str, Any], selector: PartitionSelector,
                    registered: dict[TableKey, list[Partition]], ctx: StatementContext) -> list[Partition] | None:
        keys = partition_keys(table)
        if not keys:
            return None
        columns = [(k["Name"].lower(), k.get("Type") or "string") for k in table.get("PartitionKeys") or []]
        if projection.enabled(table):
            return self._projected(ref, table, columns, selector, ctx)
        if ref.key not in registered:
            registered[ref.key] = registered_partitions(table, self.catalog.partition_locations(*ref.key))
        parts = registered[ref.key]
        picked = selector.select(columns, [p.values for p in parts], ref.conjuncts)
        return [parts[i] for i in picked]

    def _projected(self, ref: TableReference, table: dict[str, Any], columns: list[tuple[str, str]],
                   selector: PartitionSelector, ctx: StatementContext) -> list[Partition]:
        proj = projection.table_projection(ref.database, table)
        per_column: list[list[str]] = []
        for name, hive in columns:
            col = proj.columns[name]
            if col.type == "injected":
                value = injected_value(ref.conjuncts, name)
                if value is None:
                    raise AthenaSqlError(
                        "CONSTRAINT_VIOLATION",
                        f"Injected projected partition column {name} must have only (and at least one) equality "
                        f"conditions in the WHERE clause! (table {ref.database}.{ref.table})",
                    )
                per_column.append([value])
                continue
            values = col.values(ctx.now)
            single = conjuncts_on(ref.conjuncts, name)
            if single:
                picked = selector.select([(name, hive)], [[v] for v in values], single)
                values = [values[i] for i in picked]
            per_column.append(values)
        count = math.prod(len(v) for v in per_column)
        if count > projection.MAX_PARTITIONS:
            raise AthenaSqlError(
                "HIVE_EXCEEDED_PARTITION_LIMIT",
                f"Query over table '{ref.database}.{ref.table}' can potentially read more than "
                f"{projection.MAX_PARTITIONS} partitions",
            )
        rows = list(itertools.product(*per_column))
        picked = selector.select(columns, rows, ref.conjuncts)
        return [Partition(tuple(rows[i]), proj.location_of(rows[i])) for i in picked]

    # -----------------------------------------------------------------------------------------
    # Views
    # -----------------------------------------------------------------------------------------

    def _create_view(self, ctx: StatementContext, create: exp.Create) -> list[str]:
        target = create.this
        parts = [p.name for p in target.parts]
        database, name = resolve_name(ctx, parts)
        qualified = f"'{DEFAULT_CATALOG}.{database}.{name}'"
        try:
            self.catalog.get_database(database)
        except EntityNotFound as err:
            raise AthenaSqlError("SCHEMA_NOT_FOUND", f"Schema '{database}' does not exist", 1, 1) from err
        original = view_body_text(ctx.sql)
        body = statements.parse_statement(original)
        view_ctx = dataclasses.replace(ctx, database=database, sql=original)
        tables = self.resolve(body, view_ctx, original)
        columns = self._view_columns(body, tables, view_ctx)
        try:
            existing = self.catalog.get_table(database, name)
        except EntityNotFound:
            existing = None
        if existing is not None and not is_view(existing):
            raise AthenaSqlError("TABLE_ALREADY_EXISTS", f"Table already exists: {qualified}", 1, 1)
        if existing is not None and not create.args.get("replace"):
            raise AthenaSqlError("TABLE_ALREADY_EXISTS", f"View already exists: {qualified}", 1, 1)
        definition = ViewDefinition(original, DEFAULT_CATALOG, database, tuple(columns))
        table_input = view_table_input(name, definition, int(ctx.now.timestamp()))
        if existing is None:
            self.catalog.create_table(database, table_input)
        else:
            self.catalog.update_table(database, table_input)
        return []

    def _view_columns(self, body: exp.Expression, tables: Mapping[TableKey, dict[str, Any]],
                      ctx: StatementContext) -> list[Column]:
        """The view's output columns: from the executor over no data, else from sqlglot's type inference.

        An executor may offer ``describe(query, tables, default_database=...) -> list[Column]``;
        otherwise its ``execute`` runs over tables without objects.
        """
        scans = {key: TableScan(key[0], key[1], table, ()) for key, table in tables.items()}
        try:
            describe = getattr(self.executor, "describe", None)
            if callable(describe):
                return list(describe(body.copy(), scans, default_database=ctx.database or "default"))
            columns, _rows = self.executor.execute(body.copy(), scans, default_database=ctx.database or "default",
                                                   now=ctx.now)
            return list(columns)
        except AthenaSqlError as err:
            if err.kind != "NOT_SUPPORTED" or "DML executor" not in err.message:
                raise
        except Exception as err:  # a stand-in executor without schema support: infer instead
            log.debug("executor could not describe the view (%s); inferring columns", err)
        return infer_view_columns(body, tables)

    def _drop_view(self, ctx: StatementContext, drop: exp.Drop) -> list[str]:
        target = drop_target(drop)
        database, name = resolve_name(ctx, [p.name for p in target.parts])
        try:
            existing = self.catalog.get_table(database, name)
        except EntityNotFound:
            existing = None
        if existing is None or not is_view(existing):
            if drop.args.get("exists") and existing is None:
                return []
            raise AthenaSqlError("TABLE_NOT_FOUND", f"View '{DEFAULT_CATALOG}.{database}.{name}' does not exist", 1, 1)
        self.catalog.drop_table(database, name)
        return []


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _single_statement(sql: str) -> None:
    """Refuse ``a; b`` for statements read with :class:`~gdnb.sandbox.athena.statements.TokenCursor`."""
    toks = statements.hive_tokens(sql)
    seen_semicolon = False
    for tok in toks:
        if tok.token_type == TokenType.SEMICOLON:
            seen_semicolon = True
        elif seen_semicolon:
            raise InvalidRequest("SYNTAX_ERROR", f"Only one sql statement is allowed. Got: {sql}")


def _table_sources(query: exp.Expression) -> list[exp.Table]:
    """The ``exp.Table`` nodes of ``query`` that name tables or views (not CTEs)."""
    try:
        found: list[exp.Table] = []
        seen: set[int] = set()
        for scope in traverse_scope(query):
            for source in scope.sources.values():
                if isinstance(source, exp.Table) and id(source) not in seen and source.name:
                    seen.add(id(source))
                    found.append(source)
        return found
    except (SqlglotError, RecursionError):
        ctes = {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}
        return [t for t in query.find_all(exp.Table)
                if t.name and (t.args.get("db") or t.name.lower() not in ctes)]


def node_start(node: exp.Table) -> int:
    """Character offset where a table name starts in the text it was parsed from."""
    first = next((p for p in node.parts if p.meta.get("start") is not None), None)
    return first.meta["start"] if first is not None else 0


def _position(node: exp.Table, text: str) -> tuple[int, int]:
    return statements.position(text, node.meta.get("gdnb_pos", node_start(node)))


def _table_location(table: Mapping[str, Any]) -> str:
    return (table.get("StorageDescriptor") or {}).get("Location") or ""
