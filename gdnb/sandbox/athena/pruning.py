"""Partition pruning: which partitions each table reference of a query needs.

sqlglot's optimizer qualifies the query and pushes predicates down through CTEs, subqueries and
joins, and folds constants. For every reference to a base table, the conjuncts that only use that
reference's partition columns (no subquery, aggregate or window) are kept; a conjunct that mixes
in other columns (``dt = 'x' OR type = 'y'``) is dropped, which only ever reads more. DuckDB then
evaluates the kept conjuncts against the table's partition values, so any expression DuckDB can
evaluate prunes, as in Athena.

Outer joins are respected: a conjunct in a ``LEFT JOIN ... ON`` prunes the joined table only, and
a conjunct on a table that an outer join can null-extend prunes only if it is null-rejecting
(checked by evaluating it with every partition column NULL).
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer import optimize
from sqlglot.optimizer.scope import traverse_scope

from gdnb.sandbox.athena.hive_types import parse_hive_type

log = logging.getLogger(__name__)

TableKey = tuple[str, str]


@dataclasses.dataclass
class TableReference:
    """One reference to a base table in a query, with the conjuncts that prune its partitions.

    ``conjuncts`` use unqualified lower-case partition column names. ``analysed`` is False when the
    query could not be optimized; then nothing is known and every partition is read.
    """

    database: str
    table: str
    alias: str
    conjuncts: list[exp.Expression]
    analysed: bool = True

    @property
    def key(self) -> TableKey:
        """``(database, table)``."""
        return (self.database, self.table)


# Hive connector pseudo-columns a query may name ("$path" and friends).
_PSEUDO_COLUMNS = {"$path": "VARCHAR", "$file_size": "BIGINT", "$file_modified_time": "TIMESTAMP",
                   "$bucket": "INT", "$partition": "VARCHAR"}


def _columns_schema(table: Mapping[str, Any]) -> dict[str, exp.DataType]:
    sd = table.get("StorageDescriptor") or {}
    cols = list(sd.get("Columns") or []) + list(table.get("PartitionKeys") or [])
    out: dict[str, exp.DataType] = {name: exp.DataType.build(kind) for name, kind in _PSEUDO_COLUMNS.items()}
    for col in cols:
        try:
            out[col["Name"].lower()] = parse_hive_type(col.get("Type") or "string")
        except Exception:  # an odd Glue type must not stop pruning; the executor reports it
            out[col["Name"].lower()] = exp.DataType.build("VARCHAR")
    return out


def _is_partition_conjunct(conj: exp.Expression, alias: str, keys: set[str]) -> bool:
    if conj.find(exp.Subquery, exp.Select, exp.AggFunc, exp.Window, exp.Placeholder, exp.Star):
        return False
    return all(col.table == alias and col.name.lower() in keys for col in conj.find_all(exp.Column))


def _split(condition: exp.Expression | None) -> list[exp.Expression]:
    if condition is None:
        return []
    return list(condition.flatten()) if isinstance(condition, exp.And) else [condition]


def _unqualified(conj: exp.Expression) -> exp.Expression:
    def strip(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column):
            return exp.column(node.name.lower(), quoted=True)
        return node

    return conj.copy().transform(strip)


def find_references(
    query: exp.Expression, tables: Mapping[TableKey, Mapping[str, Any]]
) -> list[TableReference]:
    """Every base-table reference of ``query`` with its partition conjuncts.

    Parameters
    ----------
    query
        The parsed query, views inlined, every base table qualified with its database.
    tables
        The Glue tables the query reads, by ``(database, table)`` in lower case.
    """
    schema: dict[str, dict[str, dict[str, exp.DataType]]] = {}
    for (db, name), table in tables.items():
        schema.setdefault(db, {})[name] = _columns_schema(table)
    try:
        optimized = optimize(query.copy(), schema=schema, dialect="athena")
    except (SqlglotError, KeyError, ValueError, TypeError, AttributeError, RecursionError) as err:
        log.debug("optimizer failed (%s); reading every partition", err)
        return _unanalysed(query, tables)
    refs: list[TableReference] = []
    for scope in traverse_scope(optimized):
        select = scope.expression
        if not isinstance(select, exp.Select):
            continue
        from_ = select.args.get("from_") or select.args.get("from")
        joins = list(select.args.get("joins") or [])
        items = ([from_.this] if from_ is not None else []) + [j.this for j in joins]
        positions = {item.alias_or_name: i for i, item in enumerate(items)}
        sides = [(j.args.get("side") or "").upper() for j in joins]
        null_supplied: set[int] = set()
        for k, side in enumerate(sides):
            if side in ("LEFT", "FULL"):
                null_supplied.add(k + 1)
            if side in ("RIGHT", "FULL"):
                null_supplied.update(range(k + 1))
        where = _split(select.args["where"].this if select.args.get("where") else None)
        for alias, source in scope.sources.items():
            if not isinstance(source, exp.Table) or not source.args.get("db"):
                continue
            key = (source.args["db"].name.lower(), source.name.lower())
            if key not in tables:
                continue
            keys = {k["Name"].lower() for k in tables[key].get("PartitionKeys") or []}
            pos = positions.get(alias, 0)
            candidates: list[tuple[exp.Expression, bool]] = [(c, pos in null_supplied) for c in where]
            for k, join in enumerate(joins):
                on = join.args.get("on")
                if on is None:
                    continue
                if pos == k + 1 and sides[k] not in ("RIGHT", "FULL"):
                    candidates += [(c, False) for c in _split(on)]
                elif pos <= k and sides[k] not in ("LEFT", "FULL"):
                    candidates += [(c, pos in null_supplied) for c in _split(on)]
            conjuncts = []
            for conj, needs_null_check in candidates:
                if not _is_partition_conjunct(conj, alias, keys):
                    continue
                conj = _unqualified(conj)
                if needs_null_check:
                    conj = exp.Anonymous(this="__null_rejecting", expressions=[conj])
                conjuncts.append(conj)
            refs.append(TableReference(key[0], key[1], alias, conjuncts))
    return refs


def _unanalysed(query: exp.Expression, tables: Mapping[TableKey, Mapping[str, Any]]) -> list[TableReference]:
    """References when the optimizer gave up: prune only ``SELECT ... FROM t WHERE ...`` on one table."""
    refs = []
    for table in query.find_all(exp.Table):
        if not table.args.get("db"):
            continue
        key = (table.args["db"].name.lower(), table.name.lower())
        if key not in tables:
            continue
        keys = {k["Name"].lower() for k in tables[key].get("PartitionKeys") or []}
        alias = table.alias_or_name
        conjuncts: list[exp.Expression] = []
        select = table.parent.parent if isinstance(table.parent, exp.From) else None
        if isinstance(select, exp.Select) and not select.args.get("joins") and select.args.get("where"):
            for conj in _split(select.args["where"].this):
                cols = list(conj.find_all(exp.Column))
                if conj.find(exp.Subquery, exp.Select, exp.AggFunc, exp.Window, exp.Star, exp.Lambda):
                    continue
                if all(c.table in ("", alias) and c.name.lower() in keys for c in cols):
                    conjuncts.append(_unqualified(conj))
        refs.append(TableReference(key[0], key[1], alias, conjuncts, analysed=False))
    return refs


# ---------------------------------------------------------------------------------------------
# Evaluating conjuncts with DuckDB
# ---------------------------------------------------------------------------------------------

_DATE_UNITS = {"DAY", "DAYS", "WEEK", "WEEKS", "MONTH", "MONTHS", "YEAR", "YEARS", "QUARTER"}


def _is_date(node: exp.Expression) -> bool:
    if isinstance(node, exp.Cast):
        return node.to.this == exp.DataType.Type.DATE
    return isinstance(node, exp.CurrentDate | exp.Date | exp.DateFromParts | exp.TsOrDsToDate)


def _interval_unit(node: exp.Expression) -> str:
    unit = node.args.get("unit")
    return unit.name.upper() if unit is not None else ""


def _pin_clock(node: exp.Expression, now: datetime.datetime) -> exp.Expression:
    """Replace ``current_date`` and friends by the query's clock."""
    utc = now.astimezone(datetime.UTC)
    if isinstance(node, exp.CurrentDate):
        return exp.cast(exp.Literal.string(utc.date().isoformat()), exp.DataType.Type.DATE)
    if isinstance(node, exp.CurrentTimestamp | exp.Localtimestamp | exp.CurrentDatetime):
        text = utc.replace(tzinfo=None).isoformat(sep=" ", timespec="milliseconds")
        return exp.cast(exp.Literal.string(text), exp.DataType.Type.TIMESTAMP)
    if isinstance(node, exp.CurrentTime):
        return exp.cast(exp.Literal.string(utc.time().isoformat(timespec="milliseconds")), exp.DataType.Type.TIME)
    return node


def _keep_dates(node: exp.Expression) -> exp.Expression:
    """Keep DATE +/- a day-or-longer interval a DATE, as in Trino (DuckDB makes it a TIMESTAMP)."""
    if isinstance(node, exp.Add | exp.Sub):
        left, right = node.this, node.expression
        if isinstance(right, exp.Interval) and _interval_unit(right) in _DATE_UNITS and _is_date(left):
            return exp.cast(node, exp.DataType.Type.DATE)
    if isinstance(node, exp.DateAdd | exp.DateSub) and _is_date(node.this):
        unit = node.args.get("unit")
        if unit is not None and unit.name.upper() in _DATE_UNITS:
            return exp.cast(node, exp.DataType.Type.DATE)
    return node


def _duck_sql(conj: exp.Expression, now: datetime.datetime) -> str:
    pinned = conj.copy().transform(lambda n: _pin_clock(n, now))
    return pinned.transform(_keep_dates).sql(dialect="duckdb")


class PartitionSelector:
    """Evaluates partition conjuncts in an in-memory DuckDB (session time zone UTC).

    Parameters
    ----------
    now
        The query's clock: ``current_date`` and friends are pinned to it.
    connection
        A DuckDB connection to take a cursor from (opening a connection costs ~20 ms; a cursor
        ~0.1 ms); default a new in-memory database.
    """

    def __init__(self, now: datetime.datetime, connection: duckdb.DuckDBPyConnection | None = None) -> None:
        self.now = now
        self._con = connection.cursor() if connection is not None else duckdb.connect(":memory:")
        self._con.execute("SET TimeZone = 'UTC'")
        self._n = 0

    def close(self) -> None:
        """Release the DuckDB connection."""
        self._con.close()

    def _name(self) -> str:
        self._n += 1
        return f"p{self._n}"

    def _conditions(self, conjuncts: Sequence[exp.Expression], columns: Sequence[tuple[str, str]]) -> list[str]:
        """DuckDB SQL for each conjunct that DuckDB can evaluate and that may be used."""
        out = []
        for conj in conjuncts:
            null_check = isinstance(conj, exp.Anonymous) and conj.name == "__null_rejecting"
            inner = conj.expressions[0] if null_check else conj
            try:
                sql = _duck_sql(inner, self.now)
                if null_check and not self._null_rejecting(sql, columns):
                    continue
                self._con.execute(f"SELECT ({sql}) FROM {self._nulls(columns)} LIMIT 0").fetchall()
            except (duckdb.Error, SqlglotError) as err:
                log.debug("partition conjunct %s not evaluable (%s); ignored", inner.sql("athena"), err)
                continue
            out.append(sql)
        return out

    def _nulls(self, columns: Sequence[tuple[str, str]]) -> str:
        cols = ", ".join(f'CAST(NULL AS {duck}) AS "{name}"' for name, duck in columns) or "1 AS _"
        return f"(SELECT {cols}) AS t"

    def _null_rejecting(self, sql: str, columns: Sequence[tuple[str, str]]) -> bool:
        row = self._con.execute(f"SELECT ({sql}) IS TRUE FROM {self._nulls(columns)}").fetchall()
        return not row[0][0]

    def select(
        self,
        columns: Sequence[tuple[str, str]],
        rows: Sequence[Sequence[str]],
        conjuncts: Sequence[exp.Expression],
    ) -> list[int]:
        """Indexes of ``rows`` (partition values in column order) that satisfy every usable conjunct.

        Parameters
        ----------
        columns
            ``(name, hive type)`` of each partition column.
        rows
            Partition values, strings in column order.
        conjuncts
            From :func:`find_references`.
        """
        if not rows:
            return []
        typed = [(name, _duck_type(hive)) for name, hive in columns]
        conditions = self._conditions(conjuncts, typed)
        if not conditions:
            return list(range(len(rows)))
        table = self._name()
        select = ", ".join(
            f'TRY_CAST(unnest(${i + 2}) AS {duck}) AS "{name}"' for i, (name, duck) in enumerate(typed)
        )
        params: list[Any] = [list(range(len(rows)))] + [[r[i] for r in rows] for i in range(len(typed))]
        self._con.execute(f"CREATE TEMP TABLE {table} AS SELECT unnest($1) AS __idx, {select}", params)
        try:
            where = " AND ".join(f"({c})" for c in conditions)
            found = self._con.execute(f"SELECT __idx FROM {table} WHERE {where} ORDER BY __idx").fetchall()
        finally:
            self._con.execute(f"DROP TABLE {table}")
        return [r[0] for r in found]


def _duck_type(hive: str) -> str:
    try:
        return parse_hive_type(hive).sql(dialect="duckdb")
    except Exception:
        return "VARCHAR"


def conjuncts_on(conjuncts: Sequence[exp.Expression], column: str) -> list[exp.Expression]:
    """The conjuncts that use exactly the one partition column ``column``."""
    out = []
    for conj in conjuncts:
        names = {c.name for c in conj.find_all(exp.Column)}
        if names == {column}:
            out.append(conj)
    return out


def injected_value(conjuncts: Sequence[exp.Expression], column: str) -> str | None:
    """The single value equality conjuncts give an injected column; None when they do not pin one."""
    values: set[str] = set()
    for conj in conjuncts:
        if isinstance(conj, exp.Anonymous) and conj.name == "__null_rejecting":
            conj = conj.expressions[0]
        names = {c.name for c in conj.find_all(exp.Column)}
        if column not in names:
            continue
        if names != {column}:
            return None
        literal = _equality_literal(conj)
        if literal is None:
            return None
        values.add(literal)
    return values.pop() if len(values) == 1 else None


def _equality_literal(conj: exp.Expression) -> str | None:
    if isinstance(conj, exp.In) and len(conj.expressions) == 1 and isinstance(conj.this, exp.Column):
        other = conj.expressions[0]
    elif isinstance(conj, exp.EQ):
        left, right = conj.this, conj.expression
        if isinstance(left, exp.Column):
            other = right
        elif isinstance(right, exp.Column):
            other = left
        else:
            return None
    else:
        return None
    while isinstance(other, exp.Cast):
        other = other.this
    if isinstance(other, exp.Literal):
        return other.name
    return None
