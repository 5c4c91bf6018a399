"""What a SQL statement reads, and whether it bounds its partitioned tables by date.

Used on raw SQL (library queries declare their tables and window in the catalog). The
statement is parsed with sqlglot in Athena's dialect; a statement it cannot parse is left to
Athena, which reports the error itself.
"""

from __future__ import annotations

import logging
import re

import sqlglot
from sqlglot import exp

log = logging.getLogger(__name__)

DATE_PARTITION = "date_partition"
_DDL_RE = re.compile(r"^\s*(ALTER|CREATE|DROP|MSCK|SHOW|DESC|DESCRIBE|USE|EXPLAIN)\b", re.IGNORECASE)
_COMMENTS_RE = re.compile(r"^(?:\s*(?:/\*.*?\*/|--[^\n]*(?:\n|$)))+", re.DOTALL)


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


def referenced_tables(sql: str) -> list[str]:
    """The tables a query reads (CTE names left out), lower-cased, without database qualifier, sorted."""
    if not is_query(sql):
        return []
    tree = _parse(sql)
    if tree is None:
        return []
    ctes = _cte_names(tree)
    return sorted({t.name.lower() for t in tree.find_all(exp.Table) if t.name and t.name.lower() not in ctes})


def unbounded_tables(sql: str, partitioned: set[str]) -> list[str]:
    """The partitioned tables the query reads without a ``date_partition`` condition.

    A reference counts as bounded when the WHERE clause (or a JOIN condition) of the SELECT
    that reads it mentions ``date_partition``. This is a guard against forgetting the window,
    not a proof that the window is narrow.
    """
    if not partitioned or not is_query(sql):
        return []
    tree = _parse(sql)
    if tree is None:
        return []
    ctes = _cte_names(tree)
    found: list[str] = []
    for table in tree.find_all(exp.Table):
        name = table.name.lower()
        if name in ctes or name not in partitioned:
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
