"""What a statement runs against, and the helpers every statement module shares."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from sqlglot import exp

from gdnb.sandbox.athena.catalog import Catalog, EntityNotFound
from gdnb.sandbox.athena.errors import AthenaSqlError
from gdnb.sandbox.athena.storage import ObjectStore

DEFAULT_CATALOG = "awsdatacatalog"


@dataclasses.dataclass
class StatementContext:
    """One statement's surroundings: catalog, storage, region, session database and clock."""

    sql: str
    catalog: Catalog
    store: ObjectStore
    region: str
    database: str | None
    now: datetime.datetime
    catalog_name: str = "AwsDataCatalog"


def hive_failure(message: str) -> AthenaSqlError:
    """A failure of Athena's Hive DDL engine: ``FAILED: <message>`` (ErrorCategory 2, ErrorType 1006)."""
    err = AthenaSqlError("FAILED", message)
    err.error_category = 2  # type: ignore[attr-defined]
    err.error_type = 1006  # type: ignore[attr-defined]
    return err


def table_not_found(name: str) -> AthenaSqlError:
    """Hive's error for a missing table (measured on Athena: ``Table not found nope``)."""
    return hive_failure(f"SemanticException [Error 10001]: Table not found {name}")


def database_not_found(name: str) -> AthenaSqlError:
    """Hive's error for a missing database (measured: ``Database does not exist: nodb``)."""
    return hive_failure(f"SemanticException [Error 10072]: Database does not exist: {name}")


def resolve_name(ctx: StatementContext, parts: list[str]) -> tuple[str, str]:
    """``[db, t]`` / ``[t]`` / ``[catalog, db, t]`` -> ``(db, t)`` in lower case, with the session database.

    Raises
    ------
    AthenaSqlError
        For a catalog other than ``AwsDataCatalog`` or an unqualified name without a session database.
    """
    parts = [p.lower() for p in parts]
    if len(parts) == 3:
        if parts[0] != DEFAULT_CATALOG:
            raise AthenaSqlError("CATALOG_NOT_FOUND", f"Catalog '{parts[0]}' does not exist")
        parts = parts[1:]
    if len(parts) == 2:
        return parts[0], parts[1]
    if len(parts) == 1:
        if not ctx.database:
            raise AthenaSqlError("MISSING_SCHEMA_NAME", "Schema must be specified when session schema is not set")
        return ctx.database.lower(), parts[0]
    raise AthenaSqlError("SYNTAX_ERROR", f"Invalid table name {'.'.join(parts)}")


def get_table(ctx: StatementContext, database: str, name: str) -> dict[str, Any]:
    """The Glue table, or Hive's not-found errors."""
    try:
        ctx.catalog.get_database(database)
    except EntityNotFound as err:
        raise database_not_found(database) from err
    try:
        return ctx.catalog.get_table(database, name)
    except EntityNotFound as err:
        raise table_not_found(name) from err


def drop_target(drop: exp.Drop) -> exp.Table:
    """The table a ``DROP TABLE`` / ``DROP VIEW`` names."""
    found = drop.args.get("tables") or drop.expressions or [drop.this]
    return found[0]


def is_view(table: dict[str, Any]) -> bool:
    """Whether a Glue table is a view (``VIRTUAL_VIEW``)."""
    return (table.get("TableType") or "").upper() == "VIRTUAL_VIEW"
