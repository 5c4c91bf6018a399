"""Column types as Athena stores them in Glue (Hive spelling) and as Trino names them.

Glue holds Hive type strings (``string``, ``struct<a:string,b:array<int>>``); the DML side speaks
Trino (``varchar``, ``row(a varchar, b array(integer))``). sqlglot's ``DataType`` is the common
form in between.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import ParseError

from gdnb.sandbox.athena.errors import AthenaSqlError

T = exp.DataType.Type

_HIVE_SIMPLE = {
    T.TEXT: "string",
    T.INT: "int",
    T.BIGINT: "bigint",
    T.SMALLINT: "smallint",
    T.TINYINT: "tinyint",
    T.DOUBLE: "double",
    T.FLOAT: "float",
    T.BOOLEAN: "boolean",
    T.DATE: "date",
    T.TIMESTAMP: "timestamp",
    T.BINARY: "binary",
    T.VARBINARY: "binary",
}

_TRINO_SIMPLE = {
    T.TEXT: "varchar",
    T.INT: "integer",
    T.BIGINT: "bigint",
    T.SMALLINT: "smallint",
    T.TINYINT: "tinyint",
    T.DOUBLE: "double",
    T.FLOAT: "real",
    T.BOOLEAN: "boolean",
    T.DATE: "date",
    T.TIMESTAMP: "timestamp(3)",
    T.BINARY: "varbinary",
    T.VARBINARY: "varbinary",
}

_PARAMETERISED = {T.DECIMAL: "decimal", T.VARCHAR: "varchar", T.CHAR: "char"}


def parse_hive_type(text: str) -> exp.DataType:
    """Parse a Hive type string (``struct<a:string>``) into a sqlglot ``DataType``.

    Raises
    ------
    AthenaSqlError
        ``NOT_SUPPORTED`` when the text is no type sqlglot knows.
    """
    try:
        return exp.DataType.build(text, dialect="hive")
    except (ParseError, ValueError) as err:
        raise AthenaSqlError("NOT_SUPPORTED", f"Unknown type '{text}'") from err


def _params(dt: exp.DataType) -> list[str]:
    return [p.sql() for p in dt.expressions]


def _field_name(field: exp.Expression) -> str:
    name = field.this
    return name.name if isinstance(name, exp.Identifier) else str(field.name)


def hive_type(dt: exp.DataType) -> str:
    """The Hive spelling Glue stores for a type: lower case, no spaces (``map<string,int>``)."""
    kind = dt.this
    if kind in _HIVE_SIMPLE:
        return _HIVE_SIMPLE[kind]
    if kind in _PARAMETERISED:
        params = _params(dt)
        if not params and kind == T.VARCHAR:
            return "string"
        base = _PARAMETERISED[kind]
        return f"{base}({','.join(params)})" if params else base
    if kind == T.ARRAY:
        return f"array<{hive_type(dt.expressions[0])}>"
    if kind == T.MAP:
        key, value = dt.expressions
        return f"map<{hive_type(key)},{hive_type(value)}>"
    if kind == T.STRUCT:
        fields = ",".join(f"{_field_name(f).lower()}:{hive_type(f.args['kind'])}" for f in dt.expressions)
        return f"struct<{fields}>"
    raise AthenaSqlError("NOT_SUPPORTED", f"Unknown type '{dt.sql('hive').lower()}'")


def trino_type(dt: exp.DataType) -> str:
    """The Trino spelling Athena reports for a type (``varchar``, ``row(a varchar)``)."""
    kind = dt.this
    if kind in _TRINO_SIMPLE:
        return _TRINO_SIMPLE[kind]
    if kind in _PARAMETERISED:
        params = _params(dt)
        base = _PARAMETERISED[kind]
        return f"{base}({','.join(params)})" if params else base
    if kind == T.ARRAY:
        return f"array({trino_type(dt.expressions[0])})"
    if kind == T.MAP:
        key, value = dt.expressions
        return f"map({trino_type(key)}, {trino_type(value)})"
    if kind == T.STRUCT:
        fields = ", ".join(f"{_field_name(f).lower()} {trino_type(f.args['kind'])}" for f in dt.expressions)
        return f"row({fields})"
    if kind == T.UNKNOWN:
        return "unknown"
    return dt.sql("trino").lower()


def hive_to_trino(text: str) -> str:
    """``struct<a:string>`` -> ``row(a varchar)``."""
    return trino_type(parse_hive_type(text))


def trino_to_hive(text: str) -> str:
    """``row(a varchar)`` -> ``struct<a:string>`` (for the Glue columns of a view)."""
    try:
        dt = exp.DataType.build(text, dialect="trino")
    except (ParseError, ValueError):
        return "string"
    try:
        return hive_type(dt)
    except AthenaSqlError:
        return "string"
