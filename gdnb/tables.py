"""The Athena database and GuardDuty tables: DDL rendered from ``gdnb/queries/ddl/*.sql``, plan, apply.

Tables (all read the export's gzip JSON Lines with the OpenX JsonSerDe):

``gd_logs``
    The AWS docs table, verbatim: unpartitioned, ``AWSLogs/<account>/GuardDuty/``.
``gd_logs_old_docs``
    The older docs version (``createdate``/``updatedate``, always NULL), for notebook 02's demonstration.
``gd_findings``
    Partitioned by ``account_partition``, ``region_partition``, ``date_partition`` (``YYYY/MM/DD``),
    partitions registered by :mod:`gdnb.partitions`.
``gd_findings_projected``
    The same with partition projection: accounts and regions enumerated (or the account
    injected), days from ``projection_start`` to ``NOW``.

Identifiers are checked (``^[a-z_][a-z0-9_]*$``); locations and property values are rendered
as literals by pyathena's formatter from validated settings.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import botocore.exceptions
import sqlglot
from pyathena.formatter import DefaultParameterFormatter
from sqlglot import exp

from gdnb import aws
from gdnb.athena.identifiers import check_identifier, substitute_identifiers
from gdnb.config import Settings, check_account_id
from gdnb.errors import QueryError, translate_client_error
from gdnb.queries.catalog import QUERIES_DIR
from gdnb.setup.plan import CREATE, NOOP, UPDATE, Context, Plan
from gdnb.setup.plan import apply as apply_plan

if TYPE_CHECKING:
    from gdnb.athena.session import Session

log = logging.getLogger(__name__)

DDL_DIR = QUERIES_DIR / "ddl"
TABLES = ("gd_logs", "gd_logs_old_docs", "gd_findings", "gd_findings_projected")
PARTITION_KEYS = ("account_partition", "region_partition", "date_partition")
PROJECTION_START = dt.date(2020, 1, 1)
ACCOUNT_PROJECTIONS = ("enum", "injected")


@dataclasses.dataclass(frozen=True)
class TableSpec:
    """A table's shape as Glue keeps it: columns, partition keys, location, SerDe, properties."""

    name: str
    columns: tuple[tuple[str, str], ...]
    partition_keys: tuple[str, ...]
    location: str
    serde: str
    properties: Mapping[str, str]


# -- locations --------------------------------------------------------------------------------

def findings_prefix(settings: Settings) -> str:
    """The key prefix GuardDuty writes under: ``[prefix/]AWSLogs/``."""
    return f"{settings.prefix}/AWSLogs/" if settings.prefix else "AWSLogs/"


def findings_root(settings: Settings) -> str:
    """``s3://<bucket>/[prefix/]AWSLogs/``: the LOCATION of the partitioned tables."""
    return f"s3://{settings.bucket}/{findings_prefix(settings)}"


def guardduty_location(settings: Settings, account_id: str) -> str:
    """``s3://<bucket>/[prefix/]AWSLogs/<account>/GuardDuty/``: the LOCATION of the docs table."""
    return f"{findings_root(settings)}{check_account_id('account_id', account_id)}/GuardDuty/"


# -- rendering --------------------------------------------------------------------------------

def ddl_file(table: str, account_projection: str = "enum") -> str:
    """The DDL template file name of ``table``."""
    if table not in TABLES:
        check_identifier("table", table)
        raise QueryError(f"gdnb has no DDL for a table named {table!r}.", f"use one of: {', '.join(TABLES)}.")
    if account_projection not in ACCOUNT_PROJECTIONS:
        raise QueryError(f"account_projection is {account_projection!r}.", "use 'enum' or 'injected'.")
    if table == "gd_findings_projected" and account_projection == "injected":
        return "gd_findings_projected_injected.sql"
    return f"{table}.sql"


def _projection_start(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise QueryError(f"projection_start is {value!r}, not a date.", "give a date such as '2024-01-01'.") from None


def ddl_parameters(settings: Settings, table: str, account_id: str, *,
                   projection_start: dt.date | str = PROJECTION_START,
                   projection_accounts: tuple[str, ...] = ()) -> dict[str, Any]:
    """The values a table's DDL template takes (all from validated settings)."""
    account_id = check_account_id("account_id", account_id) or ""
    projection_start = _projection_start(projection_start)
    if table in ("gd_logs", "gd_logs_old_docs"):
        return {"location": guardduty_location(settings, account_id)}
    params: dict[str, Any] = {"location": findings_root(settings)}
    if table == "gd_findings_projected":
        accounts = sorted({account_id, *(check_account_id("accounts", a) or "" for a in projection_accounts)})
        params.update({
            "accounts": ",".join(accounts),
            "regions": ",".join(settings.exporting_regions),
            "date_range": f"{projection_start:%Y/%m/%d},NOW",
            "location_template": (f"{findings_root(settings)}${{account_partition}}/GuardDuty/"
                                  "${region_partition}/${date_partition}/"),
        })
    return params


def render_ddl(settings: Settings, table: str, account_id: str, *, projection_start: dt.date | str = PROJECTION_START,
               account_projection: str = "enum", projection_accounts: tuple[str, ...] = ()) -> str:
    """The CREATE EXTERNAL TABLE statement for ``table``, ready for Athena (and its console).

    Parameters
    ----------
    settings
        ``bucket``, ``prefix`` and, for the projected table, ``export_regions``/``home_region``.
    table
        One of ``gd_logs``, ``gd_logs_old_docs``, ``gd_findings``, ``gd_findings_projected``.
    account_id
        The exporting account (the ``AWSLogs/<account>/`` folder).
    projection_start
        First day of the projected date range (the range ends at ``NOW``).
    account_projection
        ``enum`` (the accounts listed) or ``injected`` (queries must name the account).
    projection_accounts
        More accounts to enumerate besides ``account_id``.
    """
    template = (DDL_DIR / ddl_file(table, account_projection)).read_text()
    params = ddl_parameters(settings, table, account_id, projection_start=projection_start,
                            projection_accounts=projection_accounts)
    return DefaultParameterFormatter().format(template, params)


def render_create_database(settings: Settings) -> str:
    """``CREATE DATABASE IF NOT EXISTS <database>`` (the name checked)."""
    template = (DDL_DIR / "create_database.sql").read_text()
    return substitute_identifiers(template, {"database": settings.database}).strip()


def parse_ddl(sql: str) -> TableSpec:
    """The :class:`TableSpec` a CREATE EXTERNAL TABLE statement describes (parsed with sqlglot)."""
    tree = sqlglot.parse_one(sql, read="athena")
    if not isinstance(tree, exp.Create) or not isinstance(tree.this, exp.Schema):
        raise QueryError("The DDL is not a CREATE TABLE statement.", "pass the output of render_ddl().")
    columns = tuple((c.name.lower(), c.args["kind"].sql("hive").lower()) for c in tree.this.expressions
                    if isinstance(c, exp.ColumnDef))
    props = tree.args["properties"].expressions if tree.args.get("properties") else []
    location = next((p.this.name for p in props if isinstance(p, exp.LocationProperty)), "")
    serde = next((p.this.name for p in props if isinstance(p, exp.RowFormatSerdeProperty)), "")
    keys = tuple(c.name.lower() for p in props if isinstance(p, exp.PartitionedByProperty)
                 for c in p.this.expressions)
    properties = {p.name: p.args["value"].name for p in props if type(p) is exp.Property}
    return TableSpec(tree.this.this.name.lower(), columns, keys, location, serde, properties)


def glue_spec(table: Mapping[str, Any]) -> TableSpec:
    """The :class:`TableSpec` of a Glue ``Table`` (GetTable's answer)."""
    sd = table.get("StorageDescriptor") or {}
    return TableSpec(
        name=str(table.get("Name", "")).lower(),
        columns=tuple((c["Name"].lower(), str(c.get("Type", "")).lower()) for c in sd.get("Columns") or []),
        partition_keys=tuple(k["Name"].lower() for k in table.get("PartitionKeys") or []),
        location=sd.get("Location") or "",
        serde=(sd.get("SerdeInfo") or {}).get("SerializationLibrary") or "",
        properties=dict(table.get("Parameters") or {}),
    )


def spec_differences(wanted: TableSpec, current: TableSpec) -> list[str]:
    """``what: current -> wanted`` for each part of the table that differs (properties gdnb sets only)."""
    out = []
    if wanted.columns != current.columns:
        missing = [c for c, _ in wanted.columns if c not in dict(current.columns)]
        extra = [c for c, _ in current.columns if c not in dict(wanted.columns)]
        out.append(f"columns: missing {missing}, unexpected {extra}" if missing or extra else "column types")
    if wanted.partition_keys != current.partition_keys:
        out.append(f"partition keys: {list(current.partition_keys)} -> {list(wanted.partition_keys)}")
    if wanted.location.rstrip("/") != current.location.rstrip("/"):
        out.append(f"location: {current.location} -> {wanted.location}")
    if wanted.serde and current.serde and wanted.serde != current.serde:
        out.append(f"serde: {current.serde} -> {wanted.serde}")
    for key, value in wanted.properties.items():
        if current.properties.get(key) != value:
            out.append(f"{key}: {current.properties.get(key)!r} -> {value!r}")
    return out


# -- plan and apply ---------------------------------------------------------------------------

def _glue_table(glue: Any, database: str, table: str) -> dict[str, Any] | None:
    try:
        return glue.get_table(DatabaseName=database, Name=table)["Table"]
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "EntityNotFoundException":
            return None
        raise translate_client_error(exc, "glue:GetTable", f"{database}.{table}") from exc


def _database_exists(glue: Any, database: str) -> bool:
    try:
        glue.get_database(Name=database)
        return True
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "EntityNotFoundException":
            return False
        raise translate_client_error(exc, "glue:GetDatabase", database) from exc


def plan_tables(session: Session, *, tables: tuple[str, ...] = TABLES, account_id: str | None = None,
                projection_start: dt.date | str = PROJECTION_START, account_projection: str = "enum",
                projection_accounts: tuple[str, ...] = ()) -> Plan:
    """Plan the database and ``tables`` as gdnb renders them, from what Glue has; nothing changes yet.

    A table that exists with another shape is planned ``update``: DROP TABLE, then CREATE (the
    data in S3 stays; an updated ``gd_findings`` needs its partitions registered again). The
    statements run through ``session`` (Athena DDL is not billed) when the plan is applied with
    ``gdnb.setup.apply(plan)`` and ``settings.apply``.

    Returns
    -------
    The plan; ``plan.outputs["ddl"]`` maps each table to its CREATE statement.
    """
    settings = session.settings
    account_id = account_id or aws.account_id(settings)
    glue = session.client("glue")
    database = settings.database
    region = settings.query_region
    plan = Plan(title=f"Athena database {database} and tables", settings=settings)
    plan.outputs.update({"ddl": {}, "query_ids": []})

    def run_sql(*statements: str, label: str) -> Any:
        def run(ctx: Context) -> None:
            for statement in statements:
                # Already rendered by pyathena's formatter: sent as is (no second %-formatting).
                result = session.sql(statement, name=label)
                if result.stats.query_id:
                    ctx.setdefault("query_ids", []).append(result.stats.query_id)
        return run

    db_exists = _database_exists(glue, database)
    if db_exists:
        plan.add("athena database", database, NOOP, "exists", region)
    else:
        plan.add("athena database", database, CREATE, "CREATE DATABASE", region,
                 run_sql(render_create_database(settings), label=f"create database {database}"))
    for table in tables:
        ddl = render_ddl(settings, table, account_id, projection_start=projection_start,
                         account_projection=account_projection, projection_accounts=projection_accounts)
        plan.outputs["ddl"][table] = ddl
        wanted = parse_ddl(ddl)
        current = _glue_table(glue, database, table) if db_exists else None
        resource = f"{database}.{table}"
        if current is None:
            plan.add("athena table", resource, CREATE, wanted.location, region,
                     run_sql(ddl, label=f"create table {table}"))
            continue
        differences = spec_differences(wanted, glue_spec(current))
        if not differences:
            plan.add("athena table", resource, NOOP, wanted.location, region)
            continue
        manual = bool(wanted.partition_keys) and "projection.enabled" not in wanted.properties
        note = "; its partitions must be registered again (notebook 03)" if manual else ""
        drop = f"DROP TABLE IF EXISTS `{check_identifier('table', table)}`"
        plan.add("athena table", resource, UPDATE, "replace (DROP TABLE, CREATE): " + "; ".join(differences) + note,
                 region, run_sql(drop, ddl, label=f"replace table {table}"))
    return plan


def create_tables(session: Session, *, apply: bool | None = None, tables: tuple[str, ...] = TABLES,
                  account_id: str | None = None, projection_start: dt.date | str = PROJECTION_START,
                  account_projection: str = "enum", projection_accounts: tuple[str, ...] = ()) -> Plan:
    """Plan the database and tables and apply the plan when ``apply`` (default ``settings.apply``).

    The DDL runs as Athena statements through ``session`` (free: DDL is not billed) and shows
    in ``session.history``. A second call finds nothing to change.
    """
    plan = plan_tables(session, tables=tables, account_id=account_id, projection_start=projection_start,
                       account_projection=account_projection, projection_accounts=projection_accounts)
    if apply is not None and apply != plan.settings.apply:
        plan.settings = plan.settings.replace(apply=apply)
    return apply_plan(plan)
