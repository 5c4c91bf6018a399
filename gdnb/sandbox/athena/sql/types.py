"""Types as the three parties name them: Hive DDL (Glue), DuckDB (execution) and Athena (results).

A Glue column type is a Hive type string (``string``, ``bigint``, ``struct<a:string,b:array<string>>``).
:func:`parse_hive_type` turns it into a :class:`SqlType`, which knows its DuckDB spelling (to declare
the loaded table) and its Athena spelling (``varchar``, ``row(a varchar, b array(varchar))``, as
``GetQueryResults`` names result columns). :func:`athena_type_of_duckdb` names a DuckDB result type
the way Athena would.
"""

from __future__ import annotations

import dataclasses
import re

from gdnb.sandbox.athena.errors import AthenaSqlError

_HIVE_SCALARS = {
    "string": "varchar",
    "varchar": "varchar",
    "char": "char",
    "boolean": "boolean",
    "tinyint": "tinyint",
    "smallint": "smallint",
    "int": "integer",
    "integer": "integer",
    "bigint": "bigint",
    "float": "real",
    "double": "double",
    "decimal": "decimal",
    "date": "date",
    "timestamp": "timestamp",
    "binary": "varbinary",
}

_DUCK_OF = {
    "varchar": "VARCHAR",
    "char": "VARCHAR",
    "boolean": "BOOLEAN",
    "tinyint": "TINYINT",
    "smallint": "SMALLINT",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "real": "FLOAT",
    "double": "DOUBLE",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "varbinary": "BLOB",
    "json": "JSON",
}


@dataclasses.dataclass(frozen=True)
class SqlType:
    """A column type: ``kind`` is the Athena/Trino base name; ``args`` the element, key/value or field types."""

    kind: str
    params: tuple[int, ...] = ()
    args: tuple[SqlType, ...] = ()
    fields: tuple[str, ...] = ()

    @property
    def is_string(self) -> bool:
        return self.kind in ("varchar", "char")

    @property
    def is_complex(self) -> bool:
        return self.kind in ("array", "map", "row")

    def duck(self) -> str:
        """The DuckDB type this value is held in."""
        if self.kind == "decimal":
            return f"DECIMAL({self.params[0]},{self.params[1]})"
        if self.kind == "array":
            return f"{self.args[0].duck()}[]"
        if self.kind == "map":
            return f"MAP({self.args[0].duck()}, {self.args[1].duck()})"
        if self.kind == "row":
            inner = ", ".join(f'"{name}" {t.duck()}' for name, t in zip(self.fields, self.args, strict=True))
            return f"STRUCT({inner})"
        return _DUCK_OF[self.kind]

    def athena(self) -> str:
        """The type name Athena shows in result metadata."""
        if self.kind == "decimal":
            return f"decimal({self.params[0]},{self.params[1]})"
        if self.kind == "char":
            return f"char({self.params[0]})" if self.params else "char"
        if self.kind == "array":
            return f"array({self.args[0].athena()})"
        if self.kind == "map":
            return f"map({self.args[0].athena()}, {self.args[1].athena()})"
        if self.kind == "row":
            return "row(" + ", ".join(f"{n} {t.athena()}" for n, t in zip(self.fields, self.args, strict=True)) + ")"
        return self.kind


VARCHAR = SqlType("varchar")
BIGINT = SqlType("bigint")

_TOKEN = re.compile(r"\s*(`[^`]*`|[A-Za-z_][A-Za-z0-9_$]*|\d+|[<>(),:])")


def parse_hive_type(text: str) -> SqlType:
    """Parse a Hive/Glue column type string.

    Parameters
    ----------
    text
        e.g. ``string``, ``array<struct<key:string,value:string>>``, ``decimal(10,2)``.

    Returns
    -------
    SqlType

    Raises
    ------
    AthenaSqlError
        ``NOT_SUPPORTED`` for a type the local Athena cannot hold (``uniontype``, ``interval``...).
    """
    tokens = [m.group(1) for m in _TOKEN.finditer(text)]
    if "".join(tokens) != re.sub(r"\s+", "", text):
        raise AthenaSqlError("NOT_SUPPORTED", f"Cannot read the column type {text!r}")
    pos = 0

    def take(expected: str | None = None) -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise AthenaSqlError("NOT_SUPPORTED", f"Cannot read the column type {text!r}")
        tok = tokens[pos]
        if expected is not None and tok != expected:
            raise AthenaSqlError("NOT_SUPPORTED", f"Cannot read the column type {text!r}")
        pos += 1
        return tok

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def one() -> SqlType:
        name = take().lower()
        if name == "array":
            take("<")
            elem = one()
            take(">")
            return SqlType("array", args=(elem,))
        if name == "map":
            take("<")
            key = one()
            take(",")
            value = one()
            take(">")
            return SqlType("map", args=(key, value))
        if name == "struct":
            take("<")
            names: list[str] = []
            types: list[SqlType] = []
            while True:
                field = take().strip("`").lower()
                take(":")
                names.append(field)
                types.append(one())
                if peek() == ",":
                    take(",")
                    continue
                take(">")
                break
            return SqlType("row", args=tuple(types), fields=tuple(names))
        kind = _HIVE_SCALARS.get(name)
        if kind is None:
            raise AthenaSqlError("NOT_SUPPORTED", f"The column type {text!r} is not supported by the local Athena")
        params: tuple[int, ...] = ()
        if peek() == "(":
            take("(")
            nums = [int(take())]
            while peek() == ",":
                take(",")
                nums.append(int(take()))
            take(")")
            params = tuple(nums)
        if kind == "decimal":  # Hive's defaults: decimal = decimal(10,0), decimal(p) = decimal(p,0)
            params = (10, 0) if not params else (params[0], params[1] if len(params) > 1 else 0)
        if kind == "varchar":
            params = ()
        return SqlType(kind, params=params)

    result = one()
    if pos != len(tokens):
        raise AthenaSqlError("NOT_SUPPORTED", f"Cannot read the column type {text!r}")
    return result


def athena_type_of_duckdb(t) -> str:
    """Athena's name for a DuckDB result column type (a ``duckdb`` type object).

    Parameters
    ----------
    t
        ``DuckDBPyType`` as found in ``relation.types``.
    """
    text = str(t)
    tid = t.id
    if text == "JSON":
        return "json"
    if tid == "list" or tid == "array":
        return f"array({athena_type_of_duckdb(t.child)})"
    if tid == "struct":
        return "row(" + ", ".join(f"{name} {athena_type_of_duckdb(ct)}" for name, ct in t.children) + ")"
    if tid == "map":
        return f"map({athena_type_of_duckdb(t.key)}, {athena_type_of_duckdb(t.value)})"
    if tid == "decimal":
        p, s = (v for _, v in t.children)
        return f"decimal({p},{s})"
    simple = {
        "varchar": "varchar",
        "boolean": "boolean",
        "tinyint": "tinyint",
        "smallint": "smallint",
        "integer": "integer",
        "bigint": "bigint",
        "hugeint": "decimal(38,0)",
        "utinyint": "smallint",
        "usmallint": "integer",
        "uinteger": "bigint",
        "ubigint": "decimal(20,0)",
        "float": "real",
        "double": "double",
        "date": "date",
        "timestamp": "timestamp",
        "timestamp_ms": "timestamp",
        "timestamp_s": "timestamp",
        "timestamp_ns": "timestamp",
        "timestamp with time zone": "timestamp(3) with time zone",
        "time": "time(3)",
        "interval": "interval day to second",
        "blob": "varbinary",
        "uuid": "uuid",
        "null": "unknown",
        '"null"': "unknown",
    }
    return simple.get(tid, tid)
