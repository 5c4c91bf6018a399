"""Athena's utility statements: SHOW ... and DESCRIBE, rendered as Athena renders them.

The output is the list of lines Athena writes to the query's ``.txt`` result (one value per
line; several columns already joined with tabs, as Athena returns them). Hive tables are rendered
the Hive way (20-character padding, Hive type names, ``COMMENT 'from deserializer'`` for SerDes
that describe their own columns); views the Trino way (``name<TAB>type``).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from sqlglot.tokens import TokenType

from gdnb.sandbox.athena.catalog import EntityNotFound
from gdnb.sandbox.athena.context import (
    StatementContext,
    database_not_found,
    get_table,
    hive_failure,
    is_view,
    resolve_name,
)
from gdnb.sandbox.athena.errors import AthenaSqlError
from gdnb.sandbox.athena.model import Column
from gdnb.sandbox.athena.partitions import partition_keys, partition_name
from gdnb.sandbox.athena.statements import TokenCursor
from gdnb.sandbox.athena.views import read_view

# SerDes whose columns come from the metastore; for the others Hive says 'from deserializer'.
_METASTORE_SERDES = {
    "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
    "org.apache.hadoop.hive.serde2.columnar.ColumnarSerDe",
    "org.apache.hadoop.hive.serde2.columnar.LazyBinaryColumnarSerDe",
    "org.apache.hadoop.hive.serde2.dynamic_type.DynamicSerDe",
    "org.apache.hadoop.hive.serde2.MetadataTypedColumnsetSerDe",
    "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
    "org.apache.hadoop.hive.ql.io.orc.OrcSerde",
}


@dataclasses.dataclass
class UtilityResult:
    """The result columns Athena reports and the ``.txt`` lines."""

    columns: list[Column]
    lines: list[str]


def _string_columns(*names: str) -> list[Column]:
    return [Column(n, "string") for n in names]


def hive_pattern(pattern: str) -> re.Pattern[str]:
    """Hive's ``SHOW TABLES 'pattern'``: ``*`` for any characters, ``|`` between alternatives, no case."""
    alternatives = [p.replace("*", ".*") for p in pattern.split("|")]
    try:
        return re.compile("|".join(f"(?:{a})" for a in alternatives), re.IGNORECASE)
    except re.error:
        return re.compile(re.escape(pattern), re.IGNORECASE)


def _pattern(cur: TokenCursor) -> re.Pattern[str] | None:
    cur.accept("LIKE")
    if cur.is_string():
        return hive_pattern(cur.string())
    return None


def _pad(text: str) -> str:
    return text.ljust(20)


def _comment_field(comment: str) -> str:
    return _pad(comment).split("\t", 1)[0]


def _uses_deserializer(table: dict[str, Any]) -> bool:
    serde = ((table.get("StorageDescriptor") or {}).get("SerdeInfo") or {}).get("SerializationLibrary") or ""
    return bool(serde) and serde not in _METASTORE_SERDES


def _data_columns(table: dict[str, Any]) -> list[dict[str, str]]:
    return list((table.get("StorageDescriptor") or {}).get("Columns") or [])


def _comment(table: dict[str, Any], col: dict[str, str], partition: bool = False) -> str:
    if col.get("Comment"):
        return col["Comment"]
    return "from deserializer" if not partition and _uses_deserializer(table) else ""


# ---------------------------------------------------------------------------------------------
# SHOW
# ---------------------------------------------------------------------------------------------


def show(ctx: StatementContext) -> UtilityResult:
    """Run a ``SHOW ...`` statement."""
    cur = TokenCursor(ctx.sql)
    cur.expect("SHOW")
    if cur.accept("DATABASES") or cur.accept("SCHEMAS"):
        pattern = _pattern(cur)
        cur.done()
        names = [d["Name"] for d in ctx.catalog.list_databases()]
        return UtilityResult(_string_columns("database_name"),
                             sorted(n for n in names if pattern is None or pattern.fullmatch(n)))
    if cur.word() in ("TABLES", "VIEWS"):
        views_only = cur.next().text.upper() == "VIEWS"
        database = (ctx.database or "default").lower()
        if cur.accept("IN") or cur.accept("FROM"):
            database = cur.name()
        pattern = _pattern(cur)
        cur.done()
        try:
            tables = ctx.catalog.list_tables(database)
        except EntityNotFound as err:
            raise database_not_found(database) from err
        names = [t["Name"] for t in tables if not views_only or is_view(t)]
        return UtilityResult(_string_columns("tab_name"),
                             sorted(n for n in names if pattern is None or pattern.fullmatch(n)))
    if cur.accept("PARTITIONS"):
        parts, _ = cur.qualified_name()
        cur.done()
        database, name = resolve_name(ctx, parts)
        table = get_table(ctx, database, name)
        keys = partition_keys(table)
        if not keys or is_view(table):
            raise hive_failure(f"SemanticException [Error 10241]: Table {name} is not a partitioned table")
        lines = sorted(partition_name(keys, values) for values, _loc in ctx.catalog.partition_locations(database, name))
        return UtilityResult(_string_columns("partition"), lines)
    if cur.accept("CREATE", "TABLE"):
        parts, _ = cur.qualified_name()
        cur.done()
        database, name = resolve_name(ctx, parts)
        table = get_table(ctx, database, name)
        if is_view(table):
            raise AthenaSqlError("NOT_SUPPORTED", f"Relation 'awsdatacatalog.{database}.{name}' is a view, not a table")
        return UtilityResult(_string_columns("createtab_stmt"),
                             show_create_table(table, ".".join(parts)).split("\n"))
    if cur.accept("CREATE", "VIEW"):
        parts, _ = cur.qualified_name()
        cur.done()
        database, name = resolve_name(ctx, parts)
        try:
            table = ctx.catalog.get_table(database, name)
        except EntityNotFound:
            table = None
        if table is None or not is_view(table):
            raise AthenaSqlError("TABLE_NOT_FOUND", f"View 'awsdatacatalog.{database}.{name}' does not exist")
        definition = read_view(table, database)
        text = f"CREATE VIEW {database}.{name} AS\n{definition.sql}"
        return UtilityResult([Column("Create View", "varchar")], text.split("\n"))
    if cur.accept("COLUMNS"):
        if not (cur.accept("IN") or cur.accept("FROM")):
            raise cur.error("expecting IN or FROM")
        parts, _ = cur.qualified_name()
        if cur.accept("IN") or cur.accept("FROM"):
            parts = [cur.name(), parts[-1]]
        cur.done()
        database, name = resolve_name(ctx, parts)
        table = get_table(ctx, database, name)
        if is_view(table):
            cols = read_view(table, database).columns
            return UtilityResult(_string_columns("field"), [f"{c.name}\t{c.type}" for c in cols])
        names = [c["Name"] for c in _data_columns(table)] + [k["Name"] for k in table.get("PartitionKeys") or []]
        return UtilityResult(_string_columns("field"), [_pad(n) for n in names])
    if cur.accept("TBLPROPERTIES"):
        parts, _ = cur.qualified_name()
        key = None
        if cur.symbol(TokenType.L_PAREN):
            key = cur.string()
            cur.expect_symbol(TokenType.R_PAREN, ")")
        cur.done()
        database, name = resolve_name(ctx, parts)
        table = get_table(ctx, database, name)
        params = table.get("Parameters") or {}
        if key is not None:
            if key not in params:
                return UtilityResult(_string_columns("prpt_name", "prpt_value"),
                                     [f"Table {name} does not have property: {key}"])
            return UtilityResult(_string_columns("prpt_name", "prpt_value"), str(params[key]).split("\n"))
        text = "\n".join(f"{k}\t{v}" for k, v in params.items())
        return UtilityResult(_string_columns("prpt_name", "prpt_value"), text.split("\n") if text else [])
    what = cur.word() or "<EOF>"
    raise AthenaSqlError("NOT_SUPPORTED", f"SHOW {what} is not supported by gdnb's local Athena")


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def show_create_table(table: dict[str, Any], written_name: str) -> str:
    """Hive's ``SHOW CREATE TABLE`` text for a Glue table (as Athena prints it)."""
    sd = table.get("StorageDescriptor") or {}
    serde = sd.get("SerdeInfo") or {}
    cols = [f"  `{c['Name']}` {c['Type']}" + (f" COMMENT '{_quote(cm)}'" if (cm := _comment(table, c)) else "")
            for c in _data_columns(table)]
    out = [f"CREATE EXTERNAL TABLE `{written_name}`(", ", \n".join(cols) + ")"]
    params = dict(table.get("Parameters") or {})
    if params.get("comment"):
        out.append(f"COMMENT '{_quote(params['comment'])}'")
    keys = table.get("PartitionKeys") or []
    if keys:
        pcols = [f"  `{k['Name']}` {k['Type']}" + (f" COMMENT '{_quote(k['Comment'])}'" if k.get("Comment") else "")
                 for k in keys]
        out.append("PARTITIONED BY ( \n" + ", \n".join(pcols) + ")")
    out.append("ROW FORMAT SERDE \n  '" + (serde.get("SerializationLibrary") or "") + "' ")
    serde_params = {k: v for k, v in sorted((serde.get("Parameters") or {}).items())
                    if not (k == "serialization.format" and v == "1")}
    if serde_params:
        body = ", \n".join(f"  '{_quote(k)}'='{_quote(str(v))}'" for k, v in serde_params.items())
        out.append("WITH SERDEPROPERTIES ( \n" + body + ") ")
    out.append("STORED AS INPUTFORMAT \n  '" + (sd.get("InputFormat") or "") + "' ")
    out.append("OUTPUTFORMAT \n  '" + (sd.get("OutputFormat") or "") + "'")
    out.append("LOCATION\n  '" + (sd.get("Location") or "") + "'")
    props = {k: v for k, v in sorted(params.items()) if k not in ("EXTERNAL", "comment")}
    if props:
        out.append("TBLPROPERTIES (\n" + ", \n".join(f"  '{_quote(k)}'='{_quote(str(v))}'" for k, v in props.items())
                   + ")")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# DESCRIBE
# ---------------------------------------------------------------------------------------------


def _row(name: str, type_: str, comment: str) -> str:
    return f"{_pad(name)}\t{_pad(type_)}\t{_comment_field(comment)}"


# Hive pads this heading wider than the rows (measured on Athena).
_HEADER = "# col_name            \tdata_type           \tcomment             "


def describe(ctx: StatementContext) -> UtilityResult:
    """``DESCRIBE [EXTENDED|FORMATTED] [db.]t``."""
    cur = TokenCursor(ctx.sql)
    if not (cur.accept("DESCRIBE") or cur.accept("DESC")):
        raise cur.error("expecting DESCRIBE")
    style = ""
    if cur.word() in ("EXTENDED", "FORMATTED") and cur.peek(1) is not None:
        style = cur.next().text.upper()
    parts, _ = cur.qualified_name()
    column = cur.name() if not cur.at_end() else None
    cur.done()
    database, name = resolve_name(ctx, parts)
    table = get_table(ctx, database, name)
    cols3 = _string_columns("col_name", "data_type", "comment")
    if is_view(table) and not style:
        definition = read_view(table, database)
        return UtilityResult([Column("column", "varchar"), Column("type", "varchar")],
                             [f"{c.name}\t{c.type}" for c in definition.columns])
    data = _data_columns(table)
    keys = list(table.get("PartitionKeys") or [])
    if column is not None:
        match = [c for c in data + keys if c["Name"].lower() == column.lower()]
        if not match:
            raise hive_failure(f"SemanticException [Error 10002]: Invalid column reference {column}")
        c = match[0]
        return UtilityResult(cols3, [_row(c["Name"], c["Type"], _comment(table, c, c in keys))])
    column_rows = [_row(c["Name"], c["Type"], _comment(table, c)) for c in data]
    partition_rows = [_row(k["Name"], k["Type"], k.get("Comment") or "") for k in keys]
    partition_block = ["\t \t ", "# Partition Information\t \t ", _HEADER, "\t \t ", *partition_rows] if keys else []
    if style == "FORMATTED":
        lines = [_HEADER, "\t \t ", *column_rows, *partition_block]
        lines += [
            "\t \t ",
            "# Detailed Table Information\t \t ",
            f"{_pad('Database:')}\t{_pad(database)}\t ",
            f"{_pad('LastAccessTime:')}\t{_pad('UNKNOWN')}\t ",
            f"{_pad('Protect Mode:')}\t{_pad('None')}\t ",
            f"{_pad('Retention:')}\t{_pad('0')}\t ",
            f"{_pad('Table Type:')}\t{_pad(table.get('TableType') or 'EXTERNAL_TABLE')}\t ",
            "\t \t ",
            "# Storage Information\t \t ",
            f"{_pad('Compressed:')}\t{_pad('No')}\t ",
            f"{_pad('Bucket Columns:')}\t{_pad('[]')}\t ",
            f"{_pad('Sort Columns:')}\t{_pad('[]')}\t ",
        ]
        return UtilityResult(cols3, lines)
    lines = column_rows + [_row(k["Name"], k["Type"], k.get("Comment") or "") for k in keys] + partition_block
    if style == "EXTENDED":
        lines += ["\t \t ", f"Detailed Table Information\t{_table_repr(table, database, name)}\t"]
    return UtilityResult(cols3, lines)


def _field_schema(col: dict[str, str]) -> str:
    return f"FieldSchema(name:{col['Name']}, type:{col['Type']}, comment:{col.get('Comment') or 'null'})"


def _table_repr(table: dict[str, Any], database: str, name: str) -> str:
    cols = ", ".join(_field_schema(c) for c in _data_columns(table))
    keys = ", ".join(_field_schema(k) for k in table.get("PartitionKeys") or [])
    return (f"Table(tableName:{name}, dbName:{database}, lastAccessTime:0, retention:0, "
            f"sd:StorageDescriptor(cols:[{cols}], compressed:false, bucketCols:[], sortCols:[], parameters:{{}}, "
            f"storedAsSubDirectories:false), partitionKeys:[{keys}], tableType:{table.get('TableType')})")
