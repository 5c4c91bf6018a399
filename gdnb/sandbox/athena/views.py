"""Views as Athena stores them in Glue, and their expansion into queries.

Athena (Trino) keeps a view as a Glue ``VIRTUAL_VIEW`` whose ``ViewOriginalText`` is
``/* Presto View: <base64 JSON> */``; the JSON holds the original SQL, the catalog and schema it
was created in, and the output columns with Trino types. The same blob is written here, so a view
made by this engine reads like one made by Athena (``ViewExpandedText`` is ``/* Presto View */``).
Views whose text is plain SQL (made through the Glue API) are read too.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.tokens import TokenType

from gdnb.sandbox.athena.errors import AthenaSqlError
from gdnb.sandbox.athena.hive_types import hive_to_trino, parse_hive_type, trino_to_hive, trino_type
from gdnb.sandbox.athena.model import Column
from gdnb.sandbox.athena.statements import InvalidRequest

_BLOB = re.compile(r"^\s*/\*\s*Presto View:\s*(?P<b64>[A-Za-z0-9+/=\s]+?)\s*\*/\s*$", re.DOTALL)


@dataclasses.dataclass(frozen=True)
class ViewDefinition:
    """What a view is: its SQL, where it was defined, and its columns."""

    sql: str
    catalog: str
    schema: str
    columns: tuple[Column, ...]


def presto_blob(definition: ViewDefinition) -> str:
    """The ``ViewOriginalText`` Athena writes for a view."""
    payload = {
        "originalSql": definition.sql,
        "catalog": definition.catalog,
        "schema": definition.schema,
        "columns": [{"name": c.name, "type": c.type} for c in definition.columns],
        "owner": "hadoop",
        "runAsInvoker": False,
        "properties": {},
    }
    encoded = base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()
    return f"/* Presto View: {encoded} */"


def read_view(table: dict[str, Any], database: str) -> ViewDefinition:
    """The definition of a Glue ``VIRTUAL_VIEW`` (Presto blob, or plain SQL text)."""
    text = table.get("ViewOriginalText") or table.get("ViewExpandedText") or ""
    m = _BLOB.match(text)
    if m:
        payload = json.loads(base64.b64decode("".join(m.group("b64").split())))
        columns = tuple(Column(c["name"], c["type"]) for c in payload.get("columns") or [])
        return ViewDefinition(payload.get("originalSql", ""), payload.get("catalog", "awsdatacatalog"),
                              payload.get("schema") or database, columns)
    cols = (table.get("StorageDescriptor") or {}).get("Columns") or []
    columns = tuple(Column(c["Name"].lower(), _safe_trino(c.get("Type") or "string")) for c in cols)
    return ViewDefinition(text, "awsdatacatalog", database, columns)


def _safe_trino(hive: str) -> str:
    try:
        return hive_to_trino(hive)
    except Exception:
        return "varchar"


def view_table_input(name: str, definition: ViewDefinition, created_epoch: int) -> dict[str, Any]:
    """The Glue ``TableInput`` of a view, as Athena writes it."""
    return {
        "Name": name,
        "Owner": "hadoop",
        "Retention": 0,
        "TableType": "VIRTUAL_VIEW",
        "Parameters": {"presto_view": "true", "comment": "Presto View", "transient_lastDdlTime": str(created_epoch)},
        "ViewOriginalText": presto_blob(definition),
        "ViewExpandedText": "/* Presto View */",
        "PartitionKeys": [],
        "StorageDescriptor": {
            "Columns": [{"Name": c.name, "Type": trino_to_hive(c.type)} for c in definition.columns],
            "Location": "",
            "Compressed": False,
            "NumberOfBuckets": 0,
            "SerdeInfo": {},
            "SortColumns": [],
            "StoredAsSubDirectories": False,
        },
    }


def view_body_text(sql: str) -> str:
    """The SQL after ``CREATE [OR REPLACE] VIEW name AS``, as written."""
    tokens = sqlglot.Dialect.get_or_raise("athena").tokenize(sql)
    tokens = [t for t in tokens if t.token_type != TokenType.HIVE_TOKEN_STREAM]
    for i, tok in enumerate(tokens):
        if tok.token_type == TokenType.VIEW:
            for later in tokens[i + 1 :]:
                if later.token_type == TokenType.ALIAS or later.text.upper() == "AS":
                    return sql[later.end + 1 :].strip().rstrip(";").strip()
    raise InvalidRequest("SYNTAX_ERROR", "mismatched input '<EOF>'. Expecting: 'AS'", 1, 1)


def infer_view_columns(body: exp.Expression, tables: Mapping[tuple[str, str], dict[str, Any]]) -> list[Column]:
    """A view's output columns inferred by sqlglot (names as Trino gives them; unknown types ``varchar``).

    Used when the DML executor cannot describe a query.
    """
    schema: dict[str, dict[str, dict[str, str]]] = {}
    for (db, name), table in tables.items():
        sd = table.get("StorageDescriptor") or {}
        cols = list(sd.get("Columns") or []) + list(table.get("PartitionKeys") or [])
        schema.setdefault(db, {})[name] = {c["Name"].lower(): c.get("Type") or "string" for c in cols}
    hive_schema = {db: {t: {c: parse_hive_type(ty) for c, ty in cols.items()} for t, cols in ts.items()}
                   for db, ts in schema.items()}
    try:
        typed = annotate_types(qualify(body.copy(), schema=hive_schema, dialect="athena"), schema=hive_schema)
    except (SqlglotError, KeyError, ValueError) as err:
        raise AthenaSqlError("COLUMN_NOT_FOUND", str(err).split("\n")[0], 1, 1) from err
    out = []
    for i, item in enumerate(typed.selects):
        name = item.alias_or_name.lower()
        if not name or name.startswith("_col_"):
            name = f"_col{i}"
        dt = item.type if isinstance(item.type, exp.DataType) else None
        type_name = trino_type(dt) if dt is not None and dt.this != exp.DataType.Type.UNKNOWN else "varchar"
        out.append(Column(name, type_name))
    return out
