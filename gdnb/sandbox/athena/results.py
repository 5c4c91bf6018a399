"""Query results as Athena hands them out: result files in S3 and ``GetQueryResults`` pages.

Athena writes a ``SELECT``'s rows to ``<OutputLocation>/<QueryExecutionId>.csv``: a header line,
every value double-quoted with embedded quotes doubled, NULL as an empty unquoted field, ``\\n``
after every line. Next to it goes ``<id>.csv.metadata``, a protobuf of the column descriptions
(JDBC drivers read it; pyathena does not). DDL and utility statements write
``<id>.txt``: the rows' values joined by tabs, lines joined by ``\\n``, no header.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from gdnb.sandbox.athena.model import Column

# Athena's ColumnInfo.Precision for the types whose precision is not written in the type.
_FIXED_PRECISION = {
    "tinyint": 3, "smallint": 5, "integer": 10, "int": 10, "bigint": 19, "double": 17, "real": 17, "float": 17,
    "varchar": 2147483647, "string": 2147483647, "char": 2147483647, "varbinary": 1073741824,
    "timestamp": 3, "time": 3, "timestamp with time zone": 3, "time with time zone": 3, "decimal": 38,
}
_CASE_SENSITIVE = ("varchar", "char", "string")
_TYPE_RE = re.compile(r"^\s*([a-z_ ]+?)\s*(?:\(([^()]*)\))?\s*(with time zone)?\s*$")


def column_info(column: Column) -> dict[str, Any]:
    """The ``ColumnInfo`` Athena returns for a result column."""
    base, precision, scale = athena_type(column.type)
    return {"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": column.name, "Label": column.name,
            "Type": base, "Precision": precision, "Scale": scale, "Nullable": "UNKNOWN",
            "CaseSensitive": base in _CASE_SENSITIVE}


def athena_type(type_name: str) -> tuple[str, int, int]:
    """``decimal(10,2)`` -> ``("decimal", 10, 2)``; ``array(varchar)`` -> ``("array", 0, 0)``.

    ColumnInfo.Type is the type's base name; its parameters go to Precision and Scale.
    """
    text = type_name.strip().lower()
    head = text.split("(", 1)[0].strip()
    if head in ("array", "map", "row", "struct"):
        return ("row" if head == "struct" else head), 0, 0
    match = _TYPE_RE.match(text)
    if not match:
        return head or text, 0, 0
    base, params, tz = match.group(1).strip(), match.group(2), match.group(3)
    if tz:
        base = f"{base} with time zone"
    if base == "real":
        base = "float"  # Athena reports Trino's real as float
    precision, scale = _FIXED_PRECISION.get(base, 0), 0
    numbers = [int(p) for p in (params or "").replace(" ", "").split(",") if p.isdigit()]
    if numbers:
        precision = numbers[0]
        scale = numbers[1] if len(numbers) > 1 else 0
    return base, precision, scale


def render_csv(columns: Sequence[Column], rows: Sequence[Sequence[str | None]]) -> bytes:
    """A ``SELECT`` result file, byte for byte as Athena writes it."""
    lines = [_csv_line([c.name for c in columns])]
    lines.extend(_csv_line(row) for row in rows)
    return "".join(lines).encode()


def _csv_line(values: Sequence[str | None]) -> str:
    return ",".join("" if v is None else '"' + v.replace('"', '""') + '"' for v in values) + "\n"


def render_txt(rows: Sequence[Sequence[str | None]]) -> bytes:
    """A DDL or utility statement's result file: tab-joined values, lines without a header."""
    return "\n".join("\t".join("" if v is None else v for v in row) for row in rows).encode()


# -- the .metadata companion (protobuf, no published schema; field numbers from what JDBC drivers read) --
def render_metadata(query_execution_id: str, columns: Sequence[Column]) -> bytes:
    """The ``<result file>.metadata`` protobuf: the query id, then one message per column."""
    out = bytearray()
    out += _pb_bytes(1, query_execution_id.encode())
    out += _pb_bytes(2, b"")
    out += _pb_varint_field(3, 0)
    nullable = {"NOT_NULL": 1, "NULLABLE": 2, "UNKNOWN": 3}
    for column in columns:
        info = column_info(column)
        msg = bytearray()
        for number, key in ((1, "CatalogName"), (2, "SchemaName"), (3, "TableName"), (4, "Name"), (5, "Label"),
                            (6, "Type")):
            msg += _pb_bytes(number, info[key].encode())
        msg += _pb_varint_field(7, info["Precision"])
        msg += _pb_varint_field(8, info["Scale"])
        msg += _pb_varint_field(9, nullable[info["Nullable"]])
        msg += _pb_varint_field(10, int(info["CaseSensitive"]))
        out += _pb_bytes(4, bytes(msg))
    return bytes(out)


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _pb_varint_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _pb_bytes(number: int, data: bytes) -> bytes:
    return _varint((number << 3) | 2) + _varint(len(data)) + data


def decode_metadata(data: bytes) -> tuple[str, list[dict[str, Any]]]:
    """Read a ``.metadata`` file back: the query id and the columns' fields (for tests and tools)."""
    fields = _pb_fields(data)
    query_id = next((v.decode() for n, v in fields if n == 1 and isinstance(v, bytes)), "")
    names = {1: "CatalogName", 2: "SchemaName", 3: "TableName", 4: "Name", 5: "Label", 6: "Type",
             7: "Precision", 8: "Scale", 9: "Nullable", 10: "CaseSensitive"}
    columns = []
    for number, value in fields:
        if number == 4 and isinstance(value, bytes):
            columns.append({names[n]: (v.decode() if isinstance(v, bytes) else v) for n, v in _pb_fields(value)
                            if n in names})
    return query_id, columns


def _pb_fields(data: bytes) -> list[tuple[int, int | bytes]]:
    fields: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        tag, pos = _read_varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _read_varint(data, pos)
            fields.append((number, value))
        elif wire == 2:
            length, pos = _read_varint(data, pos)
            fields.append((number, data[pos:pos + length]))
            pos += length
        else:
            raise ValueError(f"unexpected protobuf wire type {wire}")
    return fields


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def result_page(statement_type: str, columns: Sequence[Column], rows: Sequence[Sequence[str | None]],
                offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """``GetQueryResults`` rows ``[offset, offset + limit)`` and the total row count.

    A ``SELECT``'s rows start with its header row, as on Athena (the header counts toward
    ``MaxResults``); DDL and utility statements have none. NULL is a ``Datum`` without value.
    """
    header = [[c.name for c in columns]] if statement_type == "DML" else []
    total = len(header) + len(rows)
    page: list[Sequence[str | None]] = []
    for index in range(offset, min(offset + limit, total)):
        page.append(header[index] if index < len(header) else rows[index - len(header)])
    return [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in page], total
