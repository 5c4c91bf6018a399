"""Athena's metadata operations (data catalogs, databases, table metadata) over the Glue catalog.

The sandbox has one data catalog, ``AwsDataCatalog`` (type ``GLUE``), backed by the sandbox's
Glue: what Athena DDL creates, the Glue API sees, and the other way round.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Protocol

from gdnb.sandbox.athena.apierrors import AthenaApiError, invalid
from gdnb.sandbox.athena.catalog import EntityNotFound

DEFAULT_CATALOG = "AwsDataCatalog"


class Catalog(Protocol):
    """The part of the engine's catalog these operations read (Glue-shaped dicts; names compared
    case-insensitively; a missing database or table raises :class:`EntityNotFound`)."""

    def list_databases(self) -> list[dict[str, Any]]: ...

    def get_database(self, name: str) -> dict[str, Any]: ...

    def list_tables(self, database: str) -> list[dict[str, Any]]: ...

    def get_table(self, database: str, name: str) -> dict[str, Any]: ...


def check_catalog_name(name: Any) -> str:
    """The one catalog there is; any other name is refused, as Athena refuses an unknown catalog."""
    if not isinstance(name, str) or name.lower() != DEFAULT_CATALOG.lower():
        raise invalid(f"Catalog {name} was not found. The gdnb sandbox has one data catalog, {DEFAULT_CATALOG} "
                      "(the sandbox's Glue).", "CATALOG_NOT_FOUND")
    return DEFAULT_CATALOG


def data_catalog_summary() -> dict[str, Any]:
    return {"CatalogName": DEFAULT_CATALOG, "Type": "GLUE"}


def data_catalog(account_id: str) -> dict[str, Any]:
    return {"Name": DEFAULT_CATALOG, "Description": "AWS Glue Data Catalog", "Type": "GLUE",
            "Parameters": {"catalog-id": account_id}}


def database_wire(database: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"Name": database["Name"]}
    if database.get("Description"):
        out["Description"] = database["Description"]
    out["Parameters"] = dict(database.get("Parameters") or {})
    return out


def _find_database(catalog: Catalog, name: str) -> dict[str, Any]:
    try:
        return catalog.get_database(name)
    except EntityNotFound as exc:
        raise metadata_not_found(f"Database {name} not found.") from exc


def get_database(catalog: Catalog, name: str) -> dict[str, Any]:
    return database_wire(_find_database(catalog, name))


def get_table_metadata(catalog: Catalog, database: str, name: str) -> dict[str, Any]:
    db = _find_database(catalog, database)["Name"]
    try:
        table = catalog.get_table(db, name)
    except EntityNotFound as exc:
        raise metadata_not_found(f"Table {name} not found in database {database}.") from exc
    return table_metadata(table)


def list_table_metadata(catalog: Catalog, database: str, expression: str | None) -> list[dict[str, Any]]:
    db = _find_database(catalog, database)["Name"]
    tables = sorted(catalog.list_tables(db), key=lambda t: t["Name"])
    if expression:
        pattern = _name_pattern(expression)
        tables = [t for t in tables if pattern.fullmatch(t["Name"])]
    return [table_metadata(t) for t in tables]


def _name_pattern(expression: str) -> re.Pattern[str]:
    # Glue's table-name expression is a regular expression; '*' alone is the common "all" idiom.
    try:
        return re.compile(".*" if expression == "*" else expression, re.IGNORECASE)
    except re.error:
        return re.compile(re.escape(expression), re.IGNORECASE)


def metadata_not_found(message: str) -> AthenaApiError:
    return AthenaApiError(message, "MetadataException", None)


def table_metadata(table: dict[str, Any]) -> dict[str, Any]:
    """Athena's ``TableMetadata`` for a Glue table: its parameters include the storage descriptor's."""
    sd = table.get("StorageDescriptor") or {}
    serde = sd.get("SerdeInfo") or {}
    params: dict[str, str] = {}
    for key, value in (("inputformat", sd.get("InputFormat")), ("outputformat", sd.get("OutputFormat")),
                       ("location", sd.get("Location")),
                       ("serde.serialization.lib", serde.get("SerializationLibrary"))):
        if value:
            params[key] = value
    for key, value in (serde.get("Parameters") or {}).items():
        params[f"serde.param.{key}"] = value
    params.update(table.get("Parameters") or {})
    out: dict[str, Any] = {
        "Name": table["Name"],
        "TableType": table.get("TableType") or "EXTERNAL_TABLE",
        "Columns": [_column(c) for c in sd.get("Columns") or []],
        "PartitionKeys": [_column(c) for c in table.get("PartitionKeys") or []],
        "Parameters": params,
    }
    created = _epoch(table.get("CreateTime"))
    if created is not None:
        out["CreateTime"] = created
    accessed = _epoch(table.get("LastAccessTime"))
    if accessed is not None:
        out["LastAccessTime"] = accessed
    return out


def _column(column: dict[str, Any]) -> dict[str, Any]:
    out = {"Name": column["Name"], "Type": column.get("Type", "")}
    if column.get("Comment"):
        out["Comment"] = column["Comment"]
    return out


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            try:
                return _epoch(dt.datetime.fromisoformat(value))
            except ValueError:
                return None
    return None
