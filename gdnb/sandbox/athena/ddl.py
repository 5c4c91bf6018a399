"""Athena's Hive DDL: databases, external tables, partitions, MSCK REPAIR TABLE.

Each statement changes the catalog the way Athena changes Glue (``EXTERNAL_TABLE`` with
``Parameters`` ``EXTERNAL=TRUE`` plus the TBLPROPERTIES, the SerDe in ``SerdeInfo``, partitions
carrying a copy of the table's storage descriptor) and returns the lines Athena writes to the
query's ``.txt`` result (none for most DDL). Failures carry Hive's wording, as Athena reports them
(``FAILED: SemanticException [Error 10001]: Table not found t``). A statement either applies
entirely or changes nothing.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from gdnb.sandbox.athena import statements
from gdnb.sandbox.athena.catalog import AlreadyExists, EntityNotFound
from gdnb.sandbox.athena.context import (
    StatementContext,
    database_not_found,
    drop_target,
    get_table,
    hive_failure,
    is_view,
    resolve_name,
    table_not_found,
)
from gdnb.sandbox.athena.errors import AthenaSqlError
from gdnb.sandbox.athena.hive_types import hive_type
from gdnb.sandbox.athena.listing import list_locations, location_prefix
from gdnb.sandbox.athena.partitions import (
    default_partition_location,
    discover_hive_partitions,
    partition_keys,
    partition_name,
    registered_partitions,
)
from gdnb.sandbox.athena.statements import TokenCursor

log = logging.getLogger(__name__)

TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
LAZY_SIMPLE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"

# STORED AS <format>: (InputFormat, OutputFormat, SerDe or None for LazySimpleSerDe).
STORED_AS = {
    "TEXTFILE": (TEXT_INPUT, TEXT_OUTPUT, None),
    "PARQUET": ("org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"),
    "ORC": ("org.apache.hadoop.hive.ql.io.orc.OrcInputFormat", "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat",
            "org.apache.hadoop.hive.ql.io.orc.OrcSerde"),
    "AVRO": ("org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat",
             "org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat",
             "org.apache.hadoop.hive.serde2.avro.AvroSerDe"),
    "SEQUENCEFILE": ("org.apache.hadoop.mapred.SequenceFileInputFormat",
                     "org.apache.hadoop.hive.ql.io.HiveSequenceFileOutputFormat", None),
    "RCFILE": ("org.apache.hadoop.hive.ql.io.RCFileInputFormat", "org.apache.hadoop.hive.ql.io.RCFileOutputFormat",
               "org.apache.hadoop.hive.serde2.columnar.LazyBinaryColumnarSerDe"),
    "JSONFILE": (TEXT_INPUT, TEXT_OUTPUT, "org.apache.hive.hcatalog.data.JsonSerDe"),
}

_DELIMITED = {"fields": "field.delim", "escaped": "escape.delim", "collection_items": "collection.delim",
              "map_keys": "mapkey.delim", "lines": "line.delim", "null": "serialization.null.format"}


def _ddl_time(ctx: StatementContext) -> str:
    return str(int(ctx.now.timestamp()))


def _java_map(items: list[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in items) + "}"


# ---------------------------------------------------------------------------------------------
# Databases
# ---------------------------------------------------------------------------------------------


def _properties(cur: TokenCursor) -> dict[str, str]:
    cur.expect_symbol(TokenType.L_PAREN, "(")
    out: dict[str, str] = {}
    while True:
        key = cur.string()
        cur.expect_symbol(TokenType.EQ, "=")
        out[key] = cur.string()
        if not cur.symbol(TokenType.COMMA):
            break
    cur.expect_symbol(TokenType.R_PAREN, ")")
    return out


def create_database(ctx: StatementContext) -> list[str]:
    """``CREATE (DATABASE|SCHEMA) [IF NOT EXISTS] d [COMMENT 'c'] [LOCATION 'l'] [WITH DBPROPERTIES (...)]``."""
    cur = TokenCursor(ctx.sql)
    cur.expect("CREATE")
    if not (cur.accept("DATABASE") or cur.accept("SCHEMA")):
        raise cur.error("expecting DATABASE")
    if_not_exists = cur.accept("IF", "NOT", "EXISTS")
    name = cur.name()
    database_input: dict[str, Any] = {"Name": name}
    while not cur.at_end():
        if cur.accept("COMMENT"):
            database_input["Description"] = cur.string()
        elif cur.accept("LOCATION"):
            database_input["LocationUri"] = cur.string()
        elif cur.accept("WITH", "DBPROPERTIES"):
            database_input["Parameters"] = _properties(cur)
        else:
            raise cur.error("expecting COMMENT, LOCATION or WITH DBPROPERTIES")
    database_input.setdefault("Parameters", {})
    try:
        ctx.catalog.create_database(database_input)
    except AlreadyExists as err:
        if if_not_exists:
            return []
        raise hive_failure(
            "Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. "
            f"AlreadyExistsException(message:Database {name} already exists)"
        ) from err
    return []


def drop_database(ctx: StatementContext) -> list[str]:
    """``DROP (DATABASE|SCHEMA) [IF EXISTS] d [RESTRICT|CASCADE]``."""
    cur = TokenCursor(ctx.sql)
    cur.expect("DROP")
    if not (cur.accept("DATABASE") or cur.accept("SCHEMA")):
        raise cur.error("expecting DATABASE")
    if_exists = cur.accept("IF", "EXISTS")
    name = cur.name()
    cascade = cur.accept("CASCADE")
    if not cascade:
        cur.accept("RESTRICT")
    cur.done()
    try:
        ctx.catalog.get_database(name)
    except EntityNotFound as err:
        if if_exists:
            return []
        raise database_not_found(name) from err
    if not cascade and ctx.catalog.list_tables(name):
        raise hive_failure(
            "Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. "
            f"InvalidOperationException(message:Database {name} is not empty. One or more tables exist.)"
        )
    ctx.catalog.drop_database(name)
    return []


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------


def _column(defn: exp.ColumnDef) -> dict[str, str]:
    col = {"Name": defn.name.lower(), "Type": hive_type(defn.args["kind"])}
    for constraint in defn.args.get("constraints") or []:
        kind = constraint.args.get("kind")
        if isinstance(kind, exp.CommentColumnConstraint):
            col["Comment"] = kind.this.name
    return col


def _columns(schema: exp.Schema) -> list[dict[str, str]]:
    cols = [_column(d) for d in schema.expressions if isinstance(d, exp.ColumnDef)]
    seen: set[str] = set()
    for col in cols:
        if col["Name"] in seen:
            raise hive_failure(f"SemanticException [Error 10036]: Duplicate column name: {col['Name']}")
        seen.add(col["Name"])
    return cols


def _literal(node: exp.Expression | None) -> str | None:
    if node is None:
        return None
    return node.name if isinstance(node, exp.Literal | exp.Identifier | exp.Var) else node.sql("hive").strip("'")


def table_input_from_create(ctx: StatementContext, create: exp.Create) -> tuple[list[str], dict[str, Any]]:
    """The name parts and the Glue ``TableInput`` Athena writes for a ``CREATE EXTERNAL TABLE``."""
    target = create.this
    schema = target if isinstance(target, exp.Schema) else None
    table = target.this if schema is not None else target
    parts = [p.name for p in table.parts]
    props = create.args.get("properties").expressions if create.args.get("properties") else []
    columns = _columns(schema) if schema is not None else []
    partition_cols: list[dict[str, str]] = []
    input_format, output_format, serde = TEXT_INPUT, TEXT_OUTPUT, LAZY_SIMPLE
    serde_params: dict[str, str] = {}
    location: str | None = None
    tblprops: dict[str, str] = {}
    external = False
    for prop in props:
        if isinstance(prop, exp.ExternalProperty):
            external = True
        elif isinstance(prop, exp.PartitionedByProperty):
            inner = prop.this
            if not isinstance(inner, exp.Schema):
                raise AthenaSqlError("NOT_SUPPORTED", "PARTITIONED BY needs column definitions in a Hive table")
            partition_cols = _columns(inner)
        elif isinstance(prop, exp.RowFormatSerdeProperty):
            serde = prop.this.name
            sp = prop.args.get("serde_properties")
            if sp is not None:
                serde_params.update({p.name: _literal(p.args.get("value")) or "" for p in sp.expressions})
        elif isinstance(prop, exp.RowFormatDelimitedProperty):
            serde = LAZY_SIMPLE
            for arg, key in _DELIMITED.items():
                value = _literal(prop.args.get(arg))
                if value is not None:
                    serde_params[key] = value
            if "field.delim" in serde_params:
                serde_params["serialization.format"] = serde_params["field.delim"]
        elif isinstance(prop, exp.FileFormatProperty):
            fmt = prop.this
            if isinstance(fmt, exp.InputOutputFormat):
                input_format = _literal(fmt.args.get("input_format")) or input_format
                output_format = _literal(fmt.args.get("output_format")) or output_format
            else:
                name = fmt.name.upper()
                if name not in STORED_AS:
                    raise AthenaSqlError("NOT_SUPPORTED", f"STORED AS {name} is not supported")
                input_format, output_format, stored_serde = STORED_AS[name]
                if stored_serde and not any(isinstance(p, exp.RowFormatSerdeProperty) for p in props):
                    serde = stored_serde
        elif isinstance(prop, exp.LocationProperty):
            location = _literal(prop.this)
        elif isinstance(prop, exp.SchemaCommentProperty):
            tblprops["comment"] = _literal(prop.this) or ""
        elif type(prop) is exp.Property:
            tblprops[prop.name] = _literal(prop.args.get("value")) or ""
        else:
            raise AthenaSqlError("NOT_SUPPORTED", f"{prop.sql('hive')} is not supported in CREATE TABLE")
    if not external:
        if (tblprops.get("table_type") or "").upper() == "ICEBERG":
            raise AthenaSqlError("NOT_SUPPORTED", "Iceberg tables are not supported by gdnb's local Athena")
        raise statements.InvalidRequest("NOT_SUPPORTED", "Only external table creation is supported.")
    if not location:
        raise statements.InvalidRequest(
            "NOT_SUPPORTED", "No location was specified for table. An S3 location must be specified",
            error_code="INVALID_INPUT",
        )
    data_names = {c["Name"] for c in columns}
    for col in partition_cols:
        if col["Name"] in data_names:
            raise hive_failure("SemanticException [Error 10035]: Column repeated in partitioning columns")
    serde_params.setdefault("serialization.format", "1")
    table_input = {
        "Name": parts[-1].lower(),
        "Owner": "hadoop",
        "Retention": 0,
        "StorageDescriptor": {
            "Columns": columns,
            "Location": location,
            "InputFormat": input_format,
            "OutputFormat": output_format,
            "Compressed": False,
            "NumberOfBuckets": -1,
            "SerdeInfo": {"SerializationLibrary": serde, "Parameters": serde_params},
            "BucketColumns": [],
            "SortColumns": [],
            "Parameters": {},
            "SkewedInfo": {"SkewedColumnNames": [], "SkewedColumnValues": [], "SkewedColumnValueLocationMaps": {}},
            "StoredAsSubDirectories": False,
        },
        "PartitionKeys": partition_cols,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"EXTERNAL": "TRUE", "transient_lastDdlTime": _ddl_time(ctx), **tblprops},
    }
    return parts, table_input


def precheck_create_table(create: exp.Create) -> None:
    """What Athena refuses about a Hive CREATE TABLE before running it."""
    if create.args.get("expression") is not None:
        return
    props = create.args.get("properties").expressions if create.args.get("properties") else []
    for prop in props:
        if isinstance(prop, exp.LocationProperty):
            location = prop.this.name if isinstance(prop.this, exp.Literal) else prop.this.sql()
            if not re.match(r"^s3://[a-z0-9.\-]", location):
                raise statements.InvalidRequest(
                    "INVALID_LOCATION", f"Invalid location {location} for table. Only S3 locations are allowed",
                    error_code="INVALID_INPUT")
    if not any(isinstance(p, exp.LocationProperty) for p in props):
        is_iceberg = any(type(p) is exp.Property and p.name.lower() == "table_type" for p in props)
        if not is_iceberg:
            raise statements.InvalidRequest(
                "NOT_SUPPORTED", "No location was specified for table. An S3 location must be specified",
                error_code="INVALID_INPUT")


def create_table(ctx: StatementContext, create: exp.Create) -> list[str]:
    """``CREATE EXTERNAL TABLE [IF NOT EXISTS] [db.]t (...) ... LOCATION '...'``."""
    if create.args.get("expression") is not None:
        raise AthenaSqlError("NOT_SUPPORTED", "CREATE TABLE AS SELECT is not supported by gdnb's local Athena")
    parts, table_input = table_input_from_create(ctx, create)
    database, name = resolve_name(ctx, parts)
    try:
        ctx.catalog.get_database(database)
    except EntityNotFound as err:
        raise database_not_found(database) from err
    try:
        ctx.catalog.create_table(database, table_input)
    except AlreadyExists as err:
        if create.args.get("exists"):
            return []
        raise hive_failure(
            "Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. "
            f"AlreadyExistsException(message:Table {name} already exist)"
        ) from err
    return []


def drop_table(ctx: StatementContext, drop: exp.Drop) -> list[str]:
    """``DROP TABLE [IF EXISTS] [db.]t`` (partitions go with it; the data stays)."""
    table = drop_target(drop)
    database, name = resolve_name(ctx, [p.name for p in table.parts])
    try:
        ctx.catalog.get_database(database)
        existing = ctx.catalog.get_table(database, name)
    except EntityNotFound as err:
        if drop.args.get("exists"):
            return []
        if isinstance(err, EntityNotFound) and err.what == "Database":
            raise database_not_found(database) from err
        raise table_not_found(name) from err
    if is_view(existing):
        raise hive_failure("SemanticException [Error 10131]: To drop a view, use DROP VIEW")
    ctx.catalog.drop_table(database, name)
    return []


# ---------------------------------------------------------------------------------------------
# ALTER TABLE
# ---------------------------------------------------------------------------------------------


def _partition_spec(cur: TokenCursor) -> list[tuple[str, str]]:
    cur.expect("PARTITION")
    cur.expect_symbol(TokenType.L_PAREN, "(")
    items: list[tuple[str, str]] = []
    while True:
        key = cur.name()
        if not cur.symbol(TokenType.EQ):
            tok = cur.peek()
            if tok is not None and tok.token_type in (TokenType.LT, TokenType.GT, TokenType.LTE, TokenType.GTE,
                                                      TokenType.NEQ):
                raise AthenaSqlError("NOT_SUPPORTED", "Partition specs with comparisons other than = are not supported")
            raise cur.error("expecting '='")
        items.append((key, cur.value()))
        if not cur.symbol(TokenType.COMMA):
            break
    cur.expect_symbol(TokenType.R_PAREN, ")")
    return items


def _check_spec(keys: list[str], spec: list[tuple[str, str]], full: bool) -> dict[str, str]:
    if not keys:
        raise hive_failure(
            f"ValidationFailureSemanticException table is not partitioned but partition spec exists: {_java_map(spec)}"
        )
    values: dict[str, str] = {}
    for key, value in spec:
        if key not in keys:
            raise hive_failure(
                f"ValidationFailureSemanticException Partition spec {_java_map(spec)} contains non-partition columns"
            )
        values[key] = value
    if full and len(values) != len(keys):
        raise hive_failure(
            f"SemanticException partition spec {_java_map(spec)} doesn't contain all ({len(keys)}) partition columns"
        )
    return values


def _partition_input(table: dict[str, Any], values: list[str], location: str) -> dict[str, Any]:
    sd = copy.deepcopy(table.get("StorageDescriptor") or {})
    sd["Location"] = location
    return {"Values": values, "StorageDescriptor": sd, "Parameters": {}}


def _columns_from_text(text: str) -> list[dict[str, str]]:
    try:
        create = sqlglot.parse_one(f"CREATE EXTERNAL TABLE __c ({text}) LOCATION 's3://x/'", read="athena")
    except (ParseError, TokenError) as err:
        raise AthenaSqlError("SYNTAX_ERROR", f"Invalid column list: {text}") from err
    return _columns(create.this)


def _paren_text(cur: TokenCursor) -> str:
    start_tok = cur.peek()
    if start_tok is None or start_tok.token_type != TokenType.L_PAREN:
        raise cur.error("expecting '('")
    depth = 0
    while True:
        tok = cur.next()
        if tok.token_type == TokenType.L_PAREN:
            depth += 1
        elif tok.token_type == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return cur.sql[start_tok.end + 1 : tok.start]


def alter_table(ctx: StatementContext) -> list[str]:
    """``ALTER TABLE`` ADD/DROP PARTITION (one or many), SET TBLPROPERTIES, SET LOCATION, ADD/REPLACE COLUMNS."""
    cur = TokenCursor(ctx.sql)
    cur.expect("ALTER", "TABLE")
    parts, _ = cur.qualified_name()
    database, name = resolve_name(ctx, parts)
    table = get_table(ctx, database, name)
    if is_view(table):
        raise hive_failure(f"SemanticException [Error 10131]: Cannot alter a view with ALTER TABLE: {name}")
    keys = partition_keys(table)
    if cur.word() == "ADD" and cur.word(1) != "COLUMNS":
        return _add_partitions(ctx, cur, database, table, keys)
    if cur.word() == "DROP" and cur.word(1) != "COLUMN":
        return _drop_partitions(ctx, cur, database, table, keys)
    if cur.word() == "PARTITION":
        spec = _check_spec(keys, _partition_spec(cur), full=True)
        cur.expect("SET", "LOCATION")
        location = cur.string()
        cur.done()
        values = [spec[k] for k in keys]
        old = next((p for p in ctx.catalog.get_partitions(database, name) if list(p["Values"]) == values), None)
        if old is None:
            raise hive_failure(f"SemanticException [Error 10006]: Partition not found {_java_map(list(spec.items()))}")
        new = {k: copy.deepcopy(v) for k, v in old.items() if k in ("Values", "StorageDescriptor", "Parameters")}
        new.setdefault("StorageDescriptor", {})["Location"] = location
        ctx.catalog.update_partition(database, name, values, new)
        return []
    updated = copy.deepcopy({k: v for k, v in table.items()
                             if k not in ("DatabaseName", "CreateTime", "UpdateTime", "VersionId", "CatalogId",
                                          "IsRegisteredWithLakeFormation", "CreatedBy")})
    if cur.accept("SET", "TBLPROPERTIES"):
        props = _properties(cur)
        updated.setdefault("Parameters", {}).update(props)
    elif cur.accept("SET", "LOCATION"):
        updated.setdefault("StorageDescriptor", {})["Location"] = cur.string()
    elif cur.accept("ADD", "COLUMNS"):
        new_cols = _columns_from_text(_paren_text(cur))
        existing = {c["Name"] for c in updated["StorageDescriptor"].get("Columns", [])} | set(keys)
        for col in new_cols:
            if col["Name"] in existing:
                raise hive_failure(f"SemanticException [Error 10036]: Duplicate column name: {col['Name']}")
        updated["StorageDescriptor"]["Columns"] = list(updated["StorageDescriptor"].get("Columns", [])) + new_cols
    elif cur.accept("REPLACE", "COLUMNS"):
        updated["StorageDescriptor"]["Columns"] = _columns_from_text(_paren_text(cur))
    else:
        what = " ".join(filter(None, (cur.word(), cur.word(1))))
        raise AthenaSqlError("NOT_SUPPORTED", f"ALTER TABLE ... {what} is not supported by gdnb's local Athena")
    cur.done()
    updated.setdefault("Parameters", {})["transient_lastDdlTime"] = _ddl_time(ctx)
    ctx.catalog.update_table(database, updated)
    return []


def _add_partitions(ctx: StatementContext, cur: TokenCursor, database: str, table: dict[str, Any],
                    keys: list[str]) -> list[str]:
    cur.expect("ADD")
    if_not_exists = cur.accept("IF", "NOT", "EXISTS")
    location = (table.get("StorageDescriptor") or {}).get("Location") or ""
    wanted: list[tuple[list[str], str]] = []
    while cur.word() == "PARTITION":
        spec = _check_spec(keys, _partition_spec(cur), full=True)
        values = [spec[k] for k in keys]
        part_location = cur.string() if cur.accept("LOCATION") else default_partition_location(location, keys, values)
        wanted.append((values, part_location))
    if not wanted:
        raise cur.error("expecting PARTITION")
    cur.done()
    existing = {tuple(values) for values, _loc in ctx.catalog.partition_locations(database, table["Name"])}
    fresh: dict[tuple[str, ...], str] = {}
    for values, part_location in wanted:
        key = tuple(values)
        if key in existing or key in fresh:
            if if_not_exists:
                continue
            raise hive_failure(
                "Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. "
                "AlreadyExistsException(message:Partition already exists.)"
            )
        fresh[key] = part_location
    ctx.catalog.batch_create_partitions(
        database, table["Name"], [_partition_input(table, list(v), loc) for v, loc in fresh.items()]
    )
    return []


def _drop_partitions(ctx: StatementContext, cur: TokenCursor, database: str, table: dict[str, Any],
                     keys: list[str]) -> list[str]:
    cur.expect("DROP")
    if_exists = cur.accept("IF", "EXISTS")
    specs = [_check_spec(keys, _partition_spec(cur), full=False)]
    while cur.symbol(TokenType.COMMA):
        specs.append(_check_spec(keys, _partition_spec(cur), full=False))
    cur.accept("PURGE")
    cur.done()
    existing = [values for values, _loc in ctx.catalog.partition_locations(database, table["Name"])]
    doomed: list[list[str]] = []
    for spec in specs:
        matches = [v for v in existing if all(v[keys.index(k)] == val for k, val in spec.items())]
        if not matches and not if_exists:
            shown = ", ".join(f"{k} = '{v}'" for k, v in spec.items())
            raise hive_failure(f"SemanticException [Error 10006]: Partition not found ({shown})")
        doomed += [m for m in matches if m not in doomed]
    if doomed:
        ctx.catalog.batch_delete_partitions(database, table["Name"], doomed)
    return []


# ---------------------------------------------------------------------------------------------
# MSCK REPAIR TABLE
# ---------------------------------------------------------------------------------------------


def msck_repair(ctx: StatementContext) -> list[str]:
    """``MSCK REPAIR TABLE [db.]t``: register the Hive-style ``k=v/`` folders Glue lacks.

    The result lines are Hive's: ``Partitions not in metastore:\\t<t>:<k=v>...`` and one
    ``Repair: Added partition to metastore <t>:<k=v>`` per partition added. A ``YYYY/MM/DD`` layout
    has no ``k=v`` folders, so nothing is found, as on Athena.
    """
    cur = TokenCursor(ctx.sql)
    cur.expect("MSCK")
    cur.expect("REPAIR")
    cur.expect("TABLE")
    parts, _ = cur.qualified_name()
    cur.done()
    written_name = ".".join(parts)
    database, name = resolve_name(ctx, parts)
    table = get_table(ctx, database, name)
    if is_view(table):
        raise hive_failure(
            "Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. "
            "Can not create a Path from an empty string"
        )
    keys = partition_keys(table)
    location = (table.get("StorageDescriptor") or {}).get("Location") or ""
    registered = registered_partitions(table, ctx.catalog.partition_locations(database, name))
    listed = list_locations(ctx.store, ctx.region, [location] + [p.location for p in registered])
    table_objects = listed[location]
    if not table_objects:
        return [f"Tables missing on filesystem:\t{name}"]
    lines: list[str] = []
    missing = [p for p in registered if not listed.get(p.location)]
    known = {p.values for p in registered}
    _, prefix = location_prefix(location)
    found = [v for v in discover_hive_partitions(keys, (o.key[len(prefix):] for o in table_objects)) if v not in known]
    if found:
        lines.append("Partitions not in metastore:" + "".join(f"\t{name}:{partition_name(keys, v)}" for v in found))
    if missing:
        lines.append("Partitions missing from filesystem:"
                     + "".join(f"\t{name}:{partition_name(keys, p.values)}" for p in missing))
    if found:
        ctx.catalog.batch_create_partitions(
            database, name,
            [_partition_input(table, list(v), default_partition_location(location, keys, v)) for v in found],
        )
        lines += [f"Repair: Added partition to metastore {written_name}:{partition_name(keys, v)}" for v in found]
    return lines
