"""Read JSON Lines objects the way Athena's JSON SerDes do, into cached DuckDB tables.

Supported: ``org.openx.data.jsonserde.JsonSerDe`` (OpenX) and ``org.apache.hive.hcatalog.data.JsonSerDe``
(Hive JSON). Rules (Trino's ``openxjson`` README, the rcongiu SerDe, Athena's docs):

* Top-level keys match columns case-insensitively (``case.insensitive``, default true; the Hive SerDe
  always); ``mapping.<col>``='key' reads another key; ``dots.in.keys`` matches ``a.b`` to ``a_b``.
* A ``string`` column receives any JSON value as text: strings unquoted, numbers and booleans as written,
  objects and arrays as compact JSON whose keys the OpenX SerDe lower-cases (why the AWS docs query
  ``'$.instancedetails.instanceid'``); the Hive SerDe keeps them as written.
* A line whose first non-blank character is not ``{`` or ``[`` (blank lines included) is a row of NULLs;
  a ``[`` line maps its elements to the columns by position. A malformed line fails the query
  (``HIVE_CURSOR_ERROR`` naming the object) unless ``ignore.malformed.json``='true' (OpenX only): then a
  row of NULLs.
* ``struct``, ``array`` and ``map`` columns decode recursively (unknown keys ignored, field names matched
  case-insensitively, a lone value read into an array is a one-element array).

Speed. Lower-casing the nested keys of every finding is what made a naive reader slow (35k findings/s),
so nested JSON text is kept *as written* ("raw" columns) and the SQL translator resolves JSON paths
against the key spellings present instead (:meth:`LoadedTable.key_spellings`); only text that reaches the
output, or a function other than the JSON path functions, is lower-cased (``gdnb_lower_keys`` macro).
Objects are inflated by a thread pool (ISA-L when ``isal`` is installed), their lines counted (DuckDB
skips blank lines, which the SerDe turns into NULL rows) and written to a RAM-backed staging directory,
where DuckDB's ``read_json`` reads them in parallel, one batch while the next batch is being inflated.
Only an object whose line count disagrees, or that DuckDB rejects, takes the exact per-line path
(:func:`clean_lines`).

Loaded objects are cached per table definition and per object (bucket, key, etag, size): a repeated query
reads nothing; a changed object is read again; only the objects a query needs are visible to it. Each
batch is one DuckDB table ("segment"); a query reads the UNION ALL of the segments it needs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import json
import logging
import os
import re
import threading
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import duckdb
import orjson

from gdnb.sandbox.athena.errors import AthenaSqlError, QueryCancelled
from gdnb.sandbox.athena.model import ObjectRef, TableScan
from gdnb.sandbox.athena.sql.types import SqlType, parse_hive_type
from gdnb.sandbox.athena.storage import ObjectStore

log = logging.getLogger(__name__)

OPENX = "org.openx.data.jsonserde.JsonSerDe"
HIVE_JSON = "org.apache.hive.hcatalog.data.JsonSerDe"
TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
PSEUDO_COLUMNS = {"$path": SqlType("varchar"), "$file_size": SqlType("bigint")}
_UNSUPPORTED_CODECS = (".bz2", ".snappy", ".lz4", ".deflate", ".zst", ".lzo", ".br")
_BATCH_BYTES = 32 << 20  # compressed bytes per DuckDB read (~400 MB of text): fewer, larger reads are faster


def sql_str(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


@dataclasses.dataclass(frozen=True)
class ColumnSpec:
    """A data column: its name, type and the JSON keys it reads (first match wins)."""

    name: str
    type: SqlType
    keys: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class SerdeSpec:
    """What a table's SerDe and schema say about reading its objects."""

    library: str
    columns: tuple[ColumnSpec, ...]
    partition_keys: tuple[tuple[str, SqlType], ...]
    case_insensitive: bool
    ignore_malformed: bool
    lower_nested_keys: bool

    @property
    def fingerprint(self) -> str:
        return hashlib.sha1(repr(self).encode()).hexdigest()[:16]

    def all_columns(self) -> list[tuple[str, SqlType]]:
        """Data, partition and pseudo columns, as a query sees them."""
        cols = [(c.name, c.type) for c in self.columns]
        cols += list(self.partition_keys)
        cols += list(PSEUDO_COLUMNS.items())
        return cols


def serde_spec(scan: TableScan) -> SerdeSpec:
    """Read the SerDe, its properties and the schema from a Glue-shaped table.

    Raises
    ------
    AthenaSqlError
        ``NOT_SUPPORTED`` for a SerDe or input format the local Athena cannot read.
    """
    table = scan.table
    sd = table.get("StorageDescriptor") or {}
    serde = sd.get("SerdeInfo") or {}
    library = serde.get("SerializationLibrary") or ""
    params = {str(k).lower(): str(v) for k, v in (serde.get("Parameters") or {}).items()}
    input_format = sd.get("InputFormat") or TEXT_INPUT
    where = f"{scan.database}.{scan.name}"
    if library not in (OPENX, HIVE_JSON):
        raise AthenaSqlError(
            "NOT_SUPPORTED",
            f"Table {where} uses the SerDe {library or '(none)'!r}; the local Athena reads JSON tables only "
            f"({OPENX} or {HIVE_JSON}). Recreate the table with ROW FORMAT SERDE '{OPENX}'.",
        )
    if input_format != TEXT_INPUT:
        raise AthenaSqlError(
            "NOT_SUPPORTED", f"Table {where} has the input format {input_format!r}; only text (JSON Lines) is read."
        )
    openx = library == OPENX
    case_insensitive = (not openx) or params.get("case.insensitive", "true").strip().lower() != "false"
    dots = openx and params.get("dots.in.keys", "false").strip().lower() == "true"
    mappings = {k[len("mapping.") :]: v for k, v in params.items() if openx and k.startswith("mapping.")}
    ignore_malformed = openx and params.get("ignore.malformed.json", "false").strip().lower() == "true"
    # Athena's docs (and the GuardDuty query) rely on the OpenX SerDe lower-casing nested keys;
    # Trino's own reader keeps them. A table parameter switches to Trino's behaviour.
    table_params = {str(k).lower(): str(v).lower() for k, v in (table.get("Parameters") or {}).items()}
    lower_nested = openx and case_insensitive and table_params.get("gdnb.openx.nested.keys", "lowercase") != "original"

    columns = []
    for col in sd.get("Columns") or []:
        name = str(col["Name"]).lower()
        key = mappings.get(name, name)
        keys = [key]
        if dots and name not in mappings and "_" in name:
            parts = name.split("_")
            if len(parts) > 5:
                raise AthenaSqlError(
                    "NOT_SUPPORTED", f"dots.in.keys for the column {name!r} has too many '_' to emulate"
                )
            for seps in itertools.product("_.", repeat=len(parts) - 1):
                alt = parts[0] + "".join(s + p for s, p in zip(seps, parts[1:], strict=True))
                if alt != name:
                    keys.append(alt)
        columns.append(ColumnSpec(name, parse_hive_type(str(col["Type"])), tuple(keys)))
    parts_ = tuple(
        (str(p["Name"]).lower(), parse_hive_type(str(p.get("Type", "string"))))
        for p in table.get("PartitionKeys") or []
    )
    return SerdeSpec(library, tuple(columns), parts_, case_insensitive, ignore_malformed, lower_nested)


# ---------------------------------------------------------------------------------------------- decoding


def _text_of(j: str) -> str:
    """The Hive text of a scalar JSON value ``j`` (strings unquoted)."""
    return f"CASE WHEN json_type({j}) = 'VARCHAR' THEN json_extract_string({j}, '$') ELSE CAST({j} AS VARCHAR) END"


def _bad(kind: str, j: str) -> str:
    return (
        f"error('GDNB:HIVE_BAD_DATA:' || json_type({j}) || ' can not be coerced to {kind}: ' || CAST({j} AS VARCHAR))"
    )


def decode_expr(j: str, t: SqlType, lower_keys: bool, depth: int = 0) -> str:
    """A DuckDB expression turning the JSON value ``j`` into type ``t`` by Trino's OpenX rules."""
    isnull = f"({j} IS NULL OR json_type({j}) = 'NULL')"
    blank = f"(json_type({j}) = 'VARCHAR' AND trim(json_extract_string({j}, '$')) = '')"
    text = _text_of(j)
    structured = f"json_type({j}) IN ('OBJECT', 'ARRAY')"
    if t.is_string:
        obj = f"gdnb_lower_keys(CAST({j} AS VARCHAR))" if lower_keys else f"CAST({j} AS VARCHAR)"
        return f"CASE WHEN {isnull} THEN NULL WHEN {structured} THEN {obj} ELSE {text} END"
    if t.kind == "boolean":
        return f"CASE WHEN {isnull} THEN NULL WHEN {structured} THEN false ELSE lower(trim({text})) = 'true' END"
    if t.kind in ("tinyint", "smallint", "integer", "bigint"):
        duck = t.duck()
        num = (
            f"CASE WHEN regexp_full_match(trim({text}), '[+-]?[0-9]+') THEN TRY_CAST(trim({text}) AS {duck}) "
            f"WHEN TRY_CAST(trim({text}) AS DOUBLE) = trunc(TRY_CAST(trim({text}) AS DOUBLE)) "
            f"THEN TRY_CAST(TRY_CAST(trim({text}) AS DOUBLE) AS {duck}) END"
        )
        return f"CASE WHEN {isnull} THEN NULL WHEN {structured} THEN {_bad(t.kind.upper(), j)} ELSE {num} END"
    if t.kind in ("real", "double", "decimal"):
        number = f"TRY_CAST(trim({text}) AS {t.duck()})"
        return f"CASE WHEN {isnull} THEN NULL WHEN {structured} THEN {_bad(t.kind.upper(), j)} ELSE {number} END"
    if t.kind == "date":
        d = (
            f"COALESCE(TRY_CAST(split_part(trim({text}), ' ', 1) AS DATE), CASE WHEN regexp_full_match(trim({text}), "
            f"'[+-]?[0-9]+') THEN DATE '1970-01-01' + TRY_CAST(trim({text}) AS INTEGER) END)"
        )
        return f"CASE WHEN {isnull} THEN NULL WHEN {structured} THEN {_bad('DATE', j)} ELSE {d} END"
    if t.kind == "timestamp":
        s = f"trim({text})"
        ts = (
            f"CASE WHEN regexp_full_match({s}, '[+-]?[0-9]{{13,}}') "
            f"THEN make_timestamp(TRY_CAST({s} AS BIGINT) * 1000) "
            f"WHEN regexp_full_match({s}, '[+-]?[0-9]+(\\.[0-9]+)?') "
            f"THEN make_timestamp(CAST(round(TRY_CAST({s} AS DOUBLE) * 1000) AS BIGINT) * 1000) "
            f"ELSE COALESCE(TRY_CAST(TRY_CAST({s} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP), "
            f"TRY_CAST({s} AS TIMESTAMP)) END"
        )
        return f"CASE WHEN {isnull} THEN NULL WHEN {structured} THEN {_bad('TIMESTAMP', j)} ELSE {ts} END"
    if t.kind == "varbinary":
        return f"CASE WHEN {isnull} OR json_type({j}) <> 'VARCHAR' THEN NULL ELSE try(from_base64({text})) END"
    x = f"x{depth}"
    if t.kind == "array":
        elem = decode_expr(x, t.args[0], lower_keys, depth + 1)
        return (
            f"CASE WHEN {isnull} OR {blank} THEN NULL WHEN json_type({j}) = 'ARRAY' "
            f"THEN list_transform(CAST({j} AS JSON[]), lambda {x}: {elem}) "
            f"ELSE [{decode_expr(j, t.args[0], lower_keys, depth + 1)}] END"
        )
    if t.kind == "map":
        key_json = f"to_json(lower({x}.key))" if lower_keys else f"to_json({x}.key)"
        key = decode_expr(key_json, t.args[0], lower_keys, depth + 1)
        value = decode_expr(f"{x}.value", t.args[1], lower_keys, depth + 1)
        return (
            f"CASE WHEN {isnull} OR {blank} THEN NULL WHEN json_type({j}) = 'OBJECT' THEN map_from_entries("
            f"list_transform(map_entries(CAST({j} AS MAP(VARCHAR, JSON))), "
            f"lambda {x}: {{'key': {key}, 'value': {value}}})) "
            f"ELSE {_bad('MAP', j)} END"
        )
    if t.kind == "row":
        fields = []
        for name, ft in zip(t.fields, t.args, strict=True):
            # Struct fields match keys case-insensitively in both JSON SerDes; the last duplicate wins.
            lookup = (
                f"list_filter(map_entries(CAST({j} AS MAP(VARCHAR, JSON))), "
                f"lambda {x}: lower({x}.key) = {sql_str(name)})[-1].value"
            )
            fields.append(f"{sql_ident(name)} := {decode_expr(lookup, ft, lower_keys, depth + 1)}")
        return (
            f"CASE WHEN {isnull} OR {blank} THEN NULL "
            f"WHEN json_type({j}) = 'OBJECT' THEN struct_pack({', '.join(fields)}) "
            f"ELSE {_bad('ROW', j)} END"
        )
    raise AthenaSqlError("NOT_SUPPORTED", f"Reading {t.athena()} columns is not supported")


# ------------------------------------------------------------------------------------------- line checks


def _is_gzip_key(key: str) -> bool:
    return key.lower().endswith(".gz")


try:  # ISA-L inflates gzip ~2.5x faster than zlib; optional (pip install isal)
    from isal import igzip as _igzip
except ImportError:  # pragma: no cover - depends on the environment
    _igzip = None


class NotGzip(Exception):
    """An object named ``.gz`` that does not inflate."""


def decompress(data: bytes, gz: bool) -> bytes:
    """The object's text bytes (gzip by the key's extension; concatenated members are read).

    Raises
    ------
    NotGzip
        When ``gz`` and the bytes are not a complete gzip stream.
    """
    if not gz:
        return data
    if _igzip is not None:
        try:
            return _igzip.decompress(data)
        except Exception as e:  # isal raises several types for bad input
            raise NotGzip(str(e)) from None
    try:
        return _zlib_gunzip(data)
    except (zlib.error, EOFError) as e:
        raise NotGzip(str(e)) from None


def _zlib_gunzip(data: bytes) -> bytes:
    out = []
    rest = data
    while rest:
        d = zlib.decompressobj(zlib.MAX_WBITS | 16)
        out.append(d.decompress(rest))
        out.append(d.flush())
        if not d.eof:
            raise EOFError("Compressed file ended before the end-of-stream marker was reached")
        rest = d.unused_data
    return b"".join(out)


@dataclasses.dataclass
class _Staged:
    ref: ObjectRef
    file_id: int
    local: Path
    sample: bytes
    lines: int
    cleaned: bool = False


class MalformedJson(Exception):
    """A line the SerDe cannot parse (line number is 1-based)."""

    def __init__(self, line: int, detail: str) -> None:
        super().__init__(detail)
        self.line = line
        self.detail = detail


def clean_lines(text: bytes, spec: SerdeSpec) -> bytes:
    """Rewrite an object's lines so DuckDB reads them as the SerDe does, one output line per input line.

    Non-object lines become ``{}`` (a row of NULLs); ``[`` lines become objects keyed by column position;
    text after the closing brace is dropped. Raises :class:`MalformedJson` for a line that does not parse
    (unless ``ignore.malformed.json``).
    """
    out: list[bytes] = []
    lines = text.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    decoder = json.JSONDecoder()
    for number, raw in enumerate(lines, start=1):
        line = raw.strip(bytes(range(33)))  # Java's String.trim()
        if not line.startswith((b"{", b"[")):
            out.append(b"{}")
            continue
        try:
            value = orjson.loads(line)
            exact = True
        except orjson.JSONDecodeError as e:
            try:
                value, _end = decoder.raw_decode(line.decode("utf-8"))
                exact = False
            except (ValueError, UnicodeDecodeError):
                if spec.ignore_malformed:
                    out.append(b"{}")
                    continue
                raise MalformedJson(number, str(e)) from None
        if isinstance(value, list):
            keys = [c.keys[0] for c in spec.columns]
            value = {k: v for k, v in zip(keys, value, strict=False)}
            exact = False
        if not isinstance(value, dict):
            out.append(b"{}")
            continue
        out.append(line if exact else orjson.dumps(value))
    return b"\n".join(out) + b"\n"


# ------------------------------------------------------------------------------------------ the tables


@dataclasses.dataclass
class StringColumnState:
    """How a ``string`` column is held.

    ``read_as`` is ``VARCHAR`` (scalars only seen) or ``JSON`` (objects or arrays seen). ``mode`` is
    ``plain`` (the text is final), ``raw`` (object/array text keeps the keys as written; the translator
    lower-cases on output and resolves JSON paths against :meth:`LoadedTable.key_spellings`) or ``lowered``
    (object/array text already lower-cased).
    """

    read_as: str = "VARCHAR"
    mode: str = "plain"


@dataclasses.dataclass
class Segment:
    """One DuckDB table holding the rows of the objects loaded together (a batch)."""

    name: str
    file_ids: set[int]


class LoadedTable:
    """One table definition's rows in DuckDB, for every object loaded so far.

    Rows live in segments (one DuckDB table per loaded batch: appending to a large table is slower than
    creating a new one, and a segment is dropped as a whole); a query reads the UNION ALL of the
    segments holding its objects.
    """

    def __init__(self, name: str, spec: SerdeSpec) -> None:
        self.name = name
        self.spec = spec
        self.files: dict[tuple[str, str, str, int], int] = {}
        self.segments: list[Segment] = []
        self.string_state: dict[str, StringColumnState] = {
            c.name: StringColumnState() for c in spec.columns if c.type.is_string
        }
        self.version = 0
        self.rows = 0
        self.lock = threading.RLock()
        self._spellings: dict[tuple[str, str], tuple[str, ...]] = {}
        self._spellings_version = -1
        self._serial = itertools.count(1)

    def new_segment_name(self) -> str:
        return f"{self.name}_s{next(self._serial)}"

    @property
    def raw_columns(self) -> set[str]:
        """String columns whose object text still has the keys as written."""
        return {n for n, s in self.string_state.items() if s.mode == "raw"}

    def relation_sql(self, file_ids: Sequence[int]) -> str:
        """A DuckDB FROM item with the query-visible columns of these objects only."""
        cols = ", ".join(sql_ident(n) for n, _ in self.spec.all_columns())
        wanted = set(file_ids)
        parts = []
        for seg in self.segments:
            ids = sorted(seg.file_ids & wanted)
            if not ids:
                continue
            if len(ids) == len(seg.file_ids):
                parts.append(f"SELECT {cols} FROM {seg.name}")
            elif ids[-1] - ids[0] + 1 == len(ids):
                parts.append(f"SELECT {cols} FROM {seg.name} WHERE __file BETWEEN {ids[0]} AND {ids[-1]}")
            else:
                parts.append(f"SELECT {cols} FROM {seg.name} WHERE __file IN ({', '.join(map(str, ids))})")
        if not parts:
            empty = ", ".join(f"CAST(NULL AS {t.duck()}) AS {sql_ident(n)}" for n, t in self.spec.all_columns())
            return f"(SELECT {empty} WHERE false)"
        return "(" + " UNION ALL ".join(parts) + ")"

    def column_sql(self, column: str) -> str:
        """A FROM item with one column of every loaded row."""
        col = sql_ident(column)
        if not self.segments:
            return f"(SELECT CAST(NULL AS VARCHAR) AS {col} WHERE false)"
        return "(" + " UNION ALL ".join(f"SELECT {col} FROM {seg.name}" for seg in self.segments) + ")"

    def key_spellings(
        self, cur: duckdb.DuckDBPyConnection, column: str, segments: Iterable[str]
    ) -> dict[str, tuple[str, ...]]:
        """For each lower-case key name, the spellings present in ``column``'s JSON text (any depth).

        The spellings of a sample of rows are checked against the whole column with one regex that only
        matches *other* spellings (cheap: no match means a plain scan); if it matches, every key is
        collected from the whole column. Results are cached until more objects are loaded. A spelling
        found at another depth is harmless: the translator COALESCEs the candidate paths, and an object
        has at most one of them.
        """
        segments = list(segments)
        with self.lock:
            if self._spellings_version != self.version:
                self._spellings.clear()
                self._spellings_version = self.version
            wanted = sorted({s for s in segments if (column, s) not in self._spellings})
            if wanted:
                found = self._collect_spellings(cur, column, wanted, sample=2000)
                check = _other_spellings_regex(found)
                col = sql_ident(column)
                # count(*) rather than LIMIT 1: DuckDB scans the segments in parallel then.
                if (
                    check is None
                    or cur.execute(
                        f"SELECT count(*) FROM {self.column_sql(column)} WHERE regexp_matches({col}, ?)", [check]
                    ).fetchall()[0][0]
                ):
                    found = self._collect_spellings(cur, column, wanted, sample=None)
                for s, spellings in found.items():
                    self._spellings[(column, s)] = tuple(sorted(spellings))
            return {s: self._spellings[(column, s)] for s in segments}

    def _collect_spellings(
        self, cur: duckdb.DuckDBPyConnection, column: str, wanted: list[str], sample: int | None
    ) -> dict[str, set[str]]:
        alternatives = "|".join(_re2_escape(s) for s in wanted)
        pattern = f'"((?i:{alternatives}))"\\s*:'
        col = sql_ident(column)
        source = self.column_sql(column)
        if sample:
            source = f"(SELECT {col} FROM {source} LIMIT {sample})"
        rows = cur.execute(
            f"SELECT DISTINCT unnest(regexp_extract_all({col}, ?, 1)) FROM {source}", [pattern]
        ).fetchall()
        found: dict[str, set[str]] = {s: set() for s in wanted}
        for (spelling,) in rows:
            if spelling is not None and spelling.lower() in found:
                found[spelling.lower()].add(spelling)
        return found


def _re2_escape(text: str) -> str:
    return re.sub(r"([^A-Za-z0-9_])", r"\\\1", text)


def _other_spellings_regex(found: dict[str, set[str]]) -> str | None:
    """A regex matching a JSON key that lower-cases to a wanted name but is none of the spellings found.

    None when a name has several spellings (then the whole column is scanned anyway).
    """
    branches = []
    for name, spellings in found.items():
        if not spellings:
            branches.append(f"(?i:{_re2_escape(name)})")
            continue
        if len(spellings) > 1:
            return None
        (known,) = spellings
        for i, ch in enumerate(known):
            if ch.lower() == ch.upper():
                continue
            other = ch.lower() if ch.isupper() else ch.upper()
            head = f"(?i:{_re2_escape(name[:i])})" if i else ""
            tail = f"(?i:{_re2_escape(name[i + 1 :])})" if i + 1 < len(name) else ""
            branches.append(head + _re2_escape(other) + tail)
    if not branches:
        return "$^"  # names without letters: nothing else can spell them
    return '"(?:' + "|".join(branches) + ')"\\s*:'


class TableCache:
    """Loads TableScans into DuckDB tables and keeps them while their objects are unchanged.

    Parameters
    ----------
    db
        The root DuckDB connection (tables are shared by its cursors).
    store
        Where objects are read.
    staging_dir
        Where decompressed objects are written as files for DuckDB's reader (removed batch by batch).
    max_rows
        When the loaded tables hold more rows than this, segments no query needs are dropped.
    """

    def __init__(
        self, db: duckdb.DuckDBPyConnection, store: ObjectStore, staging_dir: Path, max_rows: int = 1_000_000
    ) -> None:
        self.db = db
        self.store = store
        self.staging_dir = Path(staging_dir)
        self.max_rows = max_rows
        self._tables: dict[str, LoadedTable] = {}
        self._lock = threading.Lock()
        self._serial = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._pool = ThreadPoolExecutor(max(2, min(4, os.cpu_count() or 1)), thread_name_prefix="gdnb-inflate")

    def close(self) -> None:
        """Stop the decompression threads."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def table_for(self, scan: TableScan, cur: duckdb.DuckDBPyConnection) -> LoadedTable:
        """The cached DuckDB table for ``scan``'s definition (created empty the first time)."""
        spec = serde_spec(scan)
        with self._lock:
            table = self._tables.get(spec.fingerprint)
            if table is None:
                table = LoadedTable(f"gdnb_t{next(self._serial)}", spec)
                self._tables[spec.fingerprint] = table
            return table

    def ensure_loaded(
        self,
        table: LoadedTable,
        scan: TableScan,
        cur: duckdb.DuckDBPyConnection,
        cancel: threading.Event | None = None,
    ) -> list[int]:
        """Load the objects of ``scan`` that are not in ``table`` yet; return the file ids of all of them.

        The caller holds ``table.lock`` for as long as it queries the ids returned.
        """
        with table.lock:
            refs = [r for r in scan.objects if r.size > 0]
            missing = list({self._object_key(r): r for r in refs if self._object_key(r) not in table.files}.values())
            if missing:
                self._make_room(table, refs, cur)
                self._load_objects(table, missing, cur, cancel)
            return [table.files[self._object_key(r)] for r in refs]

    @staticmethod
    def _object_key(ref: ObjectRef) -> tuple[str, str, str, int]:
        return (ref.bucket, ref.key, ref.etag, ref.size)

    def _make_room(self, keep: LoadedTable, refs: list[ObjectRef], cur: duckdb.DuckDBPyConnection) -> None:
        with self._lock:
            if sum(t.rows for t in self._tables.values()) <= self.max_rows:
                return
            for t in list(self._tables.values()):
                if t is keep or not t.rows or not t.lock.acquire(blocking=False):
                    continue
                try:  # emptied, not forgotten: a query that already holds it reloads what it needs
                    log.info("dropping the cached rows of %s (%d rows)", t.name, t.rows)
                    for seg in t.segments:
                        cur.execute(f"DROP TABLE IF EXISTS {seg.name}")
                    t.segments.clear()
                    t.files.clear()
                    t.rows = 0
                    t.version += 1
                finally:
                    t.lock.release()
        if keep.rows > self.max_rows:  # segments holding only objects of earlier queries go first
            wanted = {keep.files.get(self._object_key(r)) for r in refs}
            for seg in list(keep.segments):
                if not seg.file_ids & wanted:
                    cur.execute(f"DROP TABLE IF EXISTS {seg.name}")
                    keep.segments.remove(seg)
                    keep.files = {k: fid for k, fid in keep.files.items() if fid not in seg.file_ids}
            keep.rows = self._count_rows(keep, cur)
            keep.version += 1

    @staticmethod
    def _count_rows(table: LoadedTable, cur: duckdb.DuckDBPyConnection) -> int:
        if not table.segments:
            return 0
        union = " UNION ALL ".join(f"SELECT count(*) AS n FROM {seg.name}" for seg in table.segments)
        return int(cur.execute(f"SELECT sum(n) FROM ({union})").fetchall()[0][0] or 0)

    # -------------------------------------------------------------------------------------- loading

    def _load_objects(
        self, table: LoadedTable, refs: list[ObjectRef], cur: duckdb.DuckDBPyConnection, cancel: threading.Event | None
    ) -> None:
        # The staging directory (RAM-backed) exists only while objects are being loaded.
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._load_batches(table, refs, cur, cancel)
        finally:
            with contextlib.suppress(OSError):
                self.staging_dir.rmdir()

    def _load_batches(
        self, table: LoadedTable, refs: list[ObjectRef], cur: duckdb.DuckDBPyConnection, cancel: threading.Event | None
    ) -> None:
        for ref in refs:
            if ref.key.lower().endswith(_UNSUPPORTED_CODECS):
                raise AthenaSqlError(
                    "NOT_SUPPORTED",
                    f"s3://{ref.bucket}/{ref.key}: only gzip (.gz) and uncompressed JSON objects are read "
                    "by the local Athena",
                )
        batches: list[list[ObjectRef]] = [[]]
        size = 0
        for ref in refs:
            # a small first batch: DuckDB starts reading while the next batch is being decompressed
            if size >= (_BATCH_BYTES if len(batches) > 1 else _BATCH_BYTES // 4):
                batches.append([])
                size = 0
            batches[-1].append(ref)
            size += ref.size if _is_gzip_key(ref.key) else ref.size // 8
        # Pipeline: the next batch is decompressed and staged while DuckDB reads the current one.
        pending = self._submit(table, batches[0], cancel)
        for i in range(len(batches)):
            staged = self._collect(pending)
            pending = self._submit(table, batches[i + 1], cancel) if i + 1 < len(batches) else []
            try:
                self._load_batch(table, staged, cur, cancel)
            except BaseException:
                self._collect(pending, discard=True)
                raise

    def _submit(self, table: LoadedTable, refs: list[ObjectRef], cancel: threading.Event | None) -> list[Future]:
        return [self._pool.submit(self._stage, table, ref, cancel) for ref in refs]

    @staticmethod
    def _collect(futures: list[Future], discard: bool = False) -> list[_Staged]:
        staged: list[_Staged] = []
        failure: BaseException | None = None
        for fut in futures:
            try:
                staged.append(fut.result())
            except BaseException as e:
                failure = failure or e
        if failure is not None or discard:
            for s in staged:
                s.local.unlink(missing_ok=True)
            if failure is not None and not discard:
                raise failure
            return []
        return sorted(staged, key=lambda s: s.file_id)

    def _stage(self, table: LoadedTable, ref: ObjectRef, cancel: threading.Event | None) -> _Staged:
        """Read, decompress, count lines and write one object for DuckDB (runs in the inflate pool)."""
        if cancel is not None and cancel.is_set():
            raise QueryCancelled()
        try:
            data = self.store.read(ref.bucket, ref.key)
        except KeyError as e:
            raise AthenaSqlError(
                "HIVE_CURSOR_ERROR", f"The object s3://{ref.bucket}/{ref.key} no longer exists ({e})"
            ) from None
        try:
            text = decompress(data, _is_gzip_key(ref.key))
        except NotGzip as e:
            raise AthenaSqlError(
                "HIVE_CURSOR_ERROR", f"Not in GZIP format: s3://{ref.bucket}/{ref.key} ({e})"
            ) from None
        del data
        lines = text.count(b"\n") + (1 if text and not text.endswith(b"\n") else 0)
        file_id = next(self._file_ids)
        local = self.staging_dir / f"{table.name}_{file_id}.json"
        local.write_bytes(text)
        return _Staged(ref, file_id, local, text[:65536], lines)

    def _sample_structured_keys(self, table: LoadedTable, batch: list[_Staged]) -> None:
        """Read string columns as JSON when a sample shows objects or arrays in them."""
        pending = [
            c for c in table.spec.columns if c.type.is_string and table.string_state[c.name].read_as == "VARCHAR"
        ]
        if not pending or table.rows > 0:
            return
        for staged in batch[:2]:
            for line in staged.sample.split(b"\n", 50)[:50]:
                try:
                    obj = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if not isinstance(obj, dict):
                    continue
                lowered = {str(k).lower(): v for k, v in obj.items()} if table.spec.case_insensitive else obj
                for col in pending:
                    for key in col.keys:
                        value = lowered.get(key.lower() if table.spec.case_insensitive else key)
                        if isinstance(value, dict | list):
                            table.string_state[col.name].read_as = "JSON"

    def _read_columns(self, table: LoadedTable) -> tuple[dict[str, str], list[str]]:
        """``read_json``'s ``columns`` and the SELECT expressions producing the table's data columns."""
        spec = table.spec
        reads: dict[str, str] = {}
        aliases: dict[str, str] = {}

        def ident(key: str) -> str:
            return key.lower() if spec.case_insensitive else key

        for col in spec.columns:
            state = table.string_state.get(col.name)
            read_type = state.read_as if state is not None else "JSON"
            for key in col.keys:
                if ident(key) not in aliases:
                    aliases[ident(key)] = key
                    reads[key] = read_type
                elif reads[aliases[ident(key)]] != read_type:
                    reads[aliases[ident(key)]] = "JSON"  # shared by a string and a typed column
        exprs = []
        for col in spec.columns:
            state = table.string_state.get(col.name)
            refs = [f"r.{sql_ident(aliases[ident(k)])}" for k in col.keys]
            if state is not None:
                if any(reads[aliases[ident(k)]] == "JSON" for k in col.keys):
                    state.read_as = "JSON"
                value = refs[0] if len(refs) == 1 else f"COALESCE({', '.join(refs)})"
            else:
                decoded = [decode_expr(f"CAST({r} AS JSON)", col.type, spec.lower_nested_keys) for r in refs]
                value = decoded[0] if len(decoded) == 1 else f"COALESCE({', '.join(decoded)})"
            exprs.append(f"CAST({value} AS {col.type.duck()}) AS {sql_ident(col.name)}")
        return reads, exprs

    def _select_sql(self, table: LoadedTable, staged: list[_Staged]) -> str:
        """The SELECT producing a segment's rows from the staged files."""
        spec = table.spec
        reads, exprs = self._read_columns(table)
        columns = "{" + ", ".join(f"{sql_str(k)}: {sql_str(v)}" for k, v in reads.items()) + "}"
        files = "[" + ", ".join(sql_str(str(s.local)) for s in staged) + "]"
        values = []
        for s in staged:
            part = dict(s.ref.partition)
            pv = [sql_str(part[n]) if part.get(n) is not None else "NULL" for n, _ in spec.partition_keys]
            uri = sql_str(f"s3://{s.ref.bucket}/{s.ref.key}")
            values.append("(" + ", ".join([sql_str(str(s.local)), uri, str(s.ref.size), str(s.file_id), *pv]) + ")")
        part_names = [f"p{i}" for i in range(len(spec.partition_keys))]
        f_cols = ", ".join(["local", "path", "size", "file_id", *part_names])
        part_exprs = [
            f"TRY_CAST(f.{p} AS {t.duck()}) AS {sql_ident(n)}"
            for p, (n, t) in zip(part_names, spec.partition_keys, strict=True)
        ]
        pseudo = [
            'CAST(f.path AS VARCHAR) AS "$path"',
            'CAST(f.size AS BIGINT) AS "$file_size"',
            "CAST(f.file_id AS INTEGER) AS __file",
        ]
        select = ", ".join([*exprs, *part_exprs, *pseudo])
        return (
            f"SELECT {select} FROM read_json({files}, format='newline_delimited', "
            f"records=true, case_insensitive_keys={'true' if spec.case_insensitive else 'false'}, columns={columns}, "
            f"filename=true, compression='none') r "
            f"JOIN (VALUES {', '.join(values)}) f({f_cols}) ON r.filename = f.local"
        )

    def _load_batch(
        self, table: LoadedTable, batch: list[_Staged], cur: duckdb.DuckDBPyConnection, cancel: threading.Event | None
    ) -> None:
        if not batch:
            return
        segment = Segment(table.new_segment_name(), {s.file_id for s in batch})
        try:
            self._sample_structured_keys(table, batch)
            self._fill_segment(table, segment, batch, cur, cancel)
            got = dict(cur.execute(f"SELECT __file, count(*) FROM {segment.name} GROUP BY 1").fetchall())
            for s in batch:
                if not s.cleaned and got.get(s.file_id, 0) != s.lines:
                    # Blank or non-object lines DuckDB skipped: read this object line by line.
                    cur.execute(f"DELETE FROM {segment.name} WHERE __file = ?", [s.file_id])
                    self._clean(table, s)
                    self._insert_with_repairs(table, segment, [s], cur, cancel)
            self._finish_string_columns(table, segment, batch, cur, cancel)
        except BaseException:
            cur.execute(f"DROP TABLE IF EXISTS {segment.name}")
            raise
        finally:
            for s in batch:
                s.local.unlink(missing_ok=True)
        table.segments.append(segment)
        for s in batch:
            table.files[self._object_key(s.ref)] = s.file_id
        table.rows += int(cur.execute(f"SELECT count(*) FROM {segment.name}").fetchall()[0][0])
        table.version += 1

    def _clean(self, table: LoadedTable, s: _Staged) -> None:
        """Rewrite a staged object line by line (the SerDe's exact rules), or fail naming it."""
        text = s.local.read_bytes()
        try:
            cleaned = clean_lines(text, table.spec)
        except MalformedJson as e:
            raise AthenaSqlError(
                "HIVE_CURSOR_ERROR",
                f"Row is not a valid JSON Object - JSONException: {e.detail} "
                f"(line {e.line} of s3://{s.ref.bucket}/{s.ref.key})",
            ) from None
        s.local.write_bytes(cleaned)
        s.cleaned = True

    def _fill_segment(
        self,
        table: LoadedTable,
        segment: Segment,
        batch: list[_Staged],
        cur: duckdb.DuckDBPyConnection,
        cancel: threading.Event | None,
    ) -> None:
        self._run_with_repairs(table, batch, cur, cancel, lambda sql: f"CREATE TABLE {segment.name} AS {sql}")

    def _insert_with_repairs(
        self,
        table: LoadedTable,
        segment: Segment,
        batch: list[_Staged],
        cur: duckdb.DuckDBPyConnection,
        cancel: threading.Event | None,
    ) -> None:
        self._run_with_repairs(table, batch, cur, cancel, lambda sql: f"INSERT INTO {segment.name} {sql}")

    def _run_with_repairs(
        self,
        table: LoadedTable,
        batch: list[_Staged],
        cur: duckdb.DuckDBPyConnection,
        cancel: threading.Event | None,
        statement: Callable[[str], str],
    ) -> None:
        """Run the load; an object DuckDB rejects is read line by line and the load retried."""
        while True:
            if cancel is not None and cancel.is_set():
                raise QueryCancelled()
            by_local = {str(s.local): s for s in batch}
            try:
                cur.execute(statement(self._select_sql(table, batch)))
                return
            except duckdb.InterruptException:
                raise QueryCancelled() from None
            except duckdb.Error as e:
                message = str(e)
                m = re.search(r'in file "([^"]+)"', message)
                bad = by_local.get(m.group(1)) if m else None
                if bad is None or bad.cleaned:
                    kind, text = _gdnb_error(message)
                    if kind:
                        raise AthenaSqlError(kind, text) from None
                    where = f" reading s3://{bad.ref.bucket}/{bad.ref.key}" if bad else ""
                    raise AthenaSqlError("HIVE_CURSOR_ERROR", f"Cannot read the table{where}: {message}") from None
                log.debug("object %s needs line-by-line reading: %s", bad.ref.key, message)
                self._clean(table, bad)

    def _finish_string_columns(
        self,
        table: LoadedTable,
        segment: Segment,
        batch: list[_Staged],
        cur: duckdb.DuckDBPyConnection,
        cancel: threading.Event | None,
    ) -> None:
        """Turn JSON-read string columns into Hive text; decide raw vs lowered; catch objects in VARCHAR reads."""
        spec = table.spec
        states = [(col, table.string_state[col.name]) for col in spec.columns if col.name in table.string_state]
        if not states:
            return
        checks = []
        for col, state in states:
            c = sql_ident(col.name)
            if state.read_as == "VARCHAR":
                checks.append(f"count(*) FILTER (WHERE prefix({c}, '{{') OR prefix({c}, '['))")
            else:
                checks.append(f"count(*) FILTER (WHERE prefix({c}, '\"'))")
                checks.append(f"count(*) FILTER (WHERE prefix({c}, '\"{{') OR prefix({c}, '\"['))")
        counts = list(cur.execute(f"SELECT {', '.join(checks)} FROM {segment.name}").fetchall()[0])
        reread = False
        for col, state in states:
            c = sql_ident(col.name)
            if state.read_as == "VARCHAR":
                if counts.pop(0) and spec.lower_nested_keys:
                    # Objects (or strings that look like them) in a column sampled as scalar: read again as JSON.
                    state.read_as = "JSON"
                    reread = True
                continue
            strings, jsonish = counts.pop(0), counts.pop(0)
            if spec.lower_nested_keys and (jsonish or state.mode == "lowered"):
                if state.mode == "raw":  # earlier segments: object text starts with { or [, strings never do
                    for seg in table.segments:
                        cur.execute(
                            f"UPDATE {seg.name} SET {c} = gdnb_lower_keys({c}) WHERE left({c}, 1) IN ('{{', '[')"
                        )
                cur.execute(
                    f"UPDATE {segment.name} SET {c} = CASE WHEN left({c}, 1) IN ('{{', '[') THEN gdnb_lower_keys({c}) "
                    f"ELSE json_extract_string({c}, '$') END WHERE left({c}, 1) IN ('{{', '[', '\"')"
                )
                state.mode = "lowered"
                continue
            state.mode = "raw" if spec.lower_nested_keys else "plain"
            if strings:
                cur.execute(f"UPDATE {segment.name} SET {c} = json_extract_string({c}, '$') WHERE left({c}, 1) = '\"'")
        if reread:
            cur.execute(f"DROP TABLE {segment.name}")
            self._fill_segment(table, segment, batch, cur, cancel)
            self._finish_string_columns(table, segment, batch, cur, cancel)


def _gdnb_error(message: str) -> tuple[str | None, str]:
    m = re.search(r"GDNB:([A-Z_]+):(.*)", message, re.S)
    if not m:
        return None, message
    return m.group(1), m.group(2).strip()
