"""What a SQL statement reads, and whether it bounds its partitioned tables by date.

Used on raw SQL (library queries declare their tables and window in the catalog). The
statement is parsed with sqlglot in Athena's dialect. A statement it cannot parse is left to
Athena to report, except that the date-window guard stays conservative: text that names a
partitioned table and never mentions ``date_partition`` counts as unbounded.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

import sqlglot
from sqlglot import exp

log = logging.getLogger(__name__)

DATE_PARTITION = "date_partition"
# The tables gdnb creates partitioned by date_partition: the guard knows them even when it cannot ask Glue
# (Session(preflight=False)) or parse the statement.
KNOWN_PARTITIONED_TABLES = frozenset({"gd_findings", "gd_findings_projected"})
# Athena's metadata schema: its tables are views over the catalog, never in the Glue database.
SYSTEM_DATABASES = frozenset({"information_schema"})
_DDL_RE = re.compile(r"^\s*(ALTER|CREATE|DROP|MSCK|SHOW|DESC|DESCRIBE|USE|EXPLAIN)\b", re.IGNORECASE)
_COMMENTS_RE = re.compile(r"^(?:\s*(?:/\*.*?\*/|--[^\n]*(?:\n|$)))+", re.DOTALL)

TableRef = tuple[str | None, str]


def strip_leading_comments(sql: str) -> str:
    """``sql`` without the comments before its first keyword."""
    match = _COMMENTS_RE.match(sql)
    return (sql[match.end():] if match else sql).lstrip()


def is_query(sql: str) -> bool:
    """True for a SELECT/WITH/VALUES statement (Athena's DML), False for DDL and utility statements."""
    return not _DDL_RE.match(strip_leading_comments(sql))


def _parse(sql: str) -> exp.Expression | None:
    try:
        return sqlglot.parse_one(sql, read="athena")
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError, ValueError) as exc:
        log.debug("cannot parse the statement for table checks: %s", exc)
        return None


def _cte_names(tree: exp.Expression) -> set[str]:
    return {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}


def _ref(table: exp.Table) -> TableRef:
    return (table.db.lower() or None, table.name.lower())


def _read_tables(tree: exp.Expression) -> list[exp.Table]:
    """The table nodes a parsed query reads: CTE names (unqualified) left out."""
    ctes = _cte_names(tree)
    return [t for t in tree.find_all(exp.Table) if t.name and not (not t.db and t.name.lower() in ctes)]


def referenced_tables(sql: str) -> list[TableRef]:
    """The tables a query reads, as ``(database, table)`` pairs, lower-cased and sorted.

    ``database`` is None for an unqualified name (the session's database); CTE names are left
    out. DDL, utility statements and SQL that does not parse give ``[]``.

    Examples
    --------
    >>> referenced_tables("SELECT * FROM gd_findings JOIN other_db.t USING (id)")
    [(None, 'gd_findings'), ('other_db', 't')]
    """
    if not is_query(sql):
        return []
    tree = _parse(sql)
    if tree is None:
        return []
    return sorted({_ref(t) for t in _read_tables(tree)}, key=lambda r: (r[0] or "", r[1]))


def tables_in_database(refs: Iterable[TableRef], database: str) -> list[str]:
    """The names of ``refs`` that live in ``database``: unqualified or qualified with it (not system schemas)."""
    names: list[str] = []
    for db, name in refs:
        if db in SYSTEM_DATABASES or (db is not None and db != database.lower()):
            continue
        if name not in names:
            names.append(name)
    return names


def _mentions(sql: str, name: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", sql, re.IGNORECASE) is not None


def unbounded_tables(sql: str, partitioned: Iterable[str], database: str | None = None) -> list[str]:
    """The partitioned tables the query reads without a ``date_partition`` condition.

    A reference counts as bounded when the WHERE clause (or a JOIN condition) of the SELECT
    that reads it mentions ``date_partition``. This is a guard against forgetting the window,
    not a proof that the window is narrow.

    Parameters
    ----------
    sql
        The statement, values already in.
    partitioned
        The names of the partitioned tables of ``database``.
    database
        The session's database: a reference qualified with another database is not one of
        ``partitioned``. None: only unqualified names count.

    Notes
    -----
    SQL that sqlglot cannot parse is judged on its text: every table of ``partitioned`` it names
    counts as unbounded unless the text mentions ``date_partition`` somewhere.
    """
    partitioned = {p.lower() for p in partitioned}
    if not partitioned or not is_query(sql):
        return []
    tree = _parse(sql)
    if tree is None:
        if DATE_PARTITION in sql.lower():
            return []
        return sorted(name for name in partitioned if _mentions(sql, name))
    found: list[str] = []
    for table in _read_tables(tree):
        db, name = _ref(table)
        if name not in partitioned or (db is not None and db != (database or "").lower()):
            continue
        select = table.find_ancestor(exp.Select)
        conditions: list[exp.Expression] = []
        if select is not None:
            if select.args.get("where") is not None:
                conditions.append(select.args["where"])
            for join in select.args.get("joins") or []:
                if join.args.get("on") is not None:
                    conditions.append(join.args["on"])
        bounded = any(col.name.lower() == DATE_PARTITION for cond in conditions for col in cond.find_all(exp.Column))
        if not bounded and name not in found:
            found.append(name)
    return found
