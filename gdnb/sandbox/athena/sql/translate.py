"""Athena (Trino) SELECT -> DuckDB SQL that gives Trino's answer.

The pipeline (``reference/athena_emulation.md`` §3): name unnamed select items ``_col<i>``; resolve
tables; ``qualify`` (column resolution, Athena's lower-case output names) and ``annotate_types``; a tree
pass that rewrites what DuckDB would answer differently (integer division, strict casts, JSON
functions, date arithmetic, subscripts, UNNEST of maps and zipped UNNEST, ...) into DuckDB expressions
or the macros of ``macros.sql``; what cannot be emulated raises ``NOT_SUPPORTED``. JSON paths on the
OpenX SerDe's "raw" nested columns are resolved against the key spellings present (see ``serde``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
from collections.abc import Callable, Mapping

import sqlglot
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope

from gdnb.sandbox.athena.errors import AthenaSqlError
from gdnb.sandbox.athena.sql.jsonpath import Step, duckdb_path, parse_json_path
from gdnb.sandbox.athena.sql.types import SqlType

CATALOG = "awsdatacatalog"
_UNNAMED = "__gdnb_unnamed_"
T = exp.DataType.Type
_INTS = {T.TINYINT, T.SMALLINT, T.INT, T.BIGINT}
_FLOATS = {T.DOUBLE, T.FLOAT}
_NUMERIC = _INTS | _FLOATS | {T.DECIMAL}
_TEXT = {T.VARCHAR, T.TEXT, T.CHAR, T.NCHAR, T.NVARCHAR}
_TEMPORAL = {T.DATE, T.TIMESTAMP, T.TIMESTAMPTZ, T.TIMESTAMPLTZ, T.DATETIME}

# Trino functions sqlglot leaves as exp.Anonymous that the local Athena emulates.
_ANONYMOUS_OK = {
    "json_array_length",
    "json_size",
    "is_json_scalar",
    "json_array_get",
    "format_datetime",
    "histogram",
    "map_agg",
    "every",
    "to_iso8601",
    "url_extract_host",
    "url_extract_path",
    "url_extract_protocol",
    "map_values",
    "codepoint",
    "nan",
    "infinity",
    "with_timezone",
    "to_utf8",
    "from_utf8",
    "json_array_contains",
    "array_except",
    "array_intersect",
    "array_union",
    "arrays_overlap",
    "bitwise_or",
    "bitwise_xor",
    "cosine_similarity",
    "date_diff",
    "human_readable_seconds",
    "word_stem",
    "regexp_position",
    "regexp_count",
    "map_filter",
    "transform_keys",
    "transform_values",
    "map_concat",
    "array_min",
    "array_max",
    "multimap_agg",
    "none_match",
    "any_match",
    "all_match",
    "split_to_map",
    "strrev",
    "hamming_distance",
    "to_milliseconds",
    "parse_duration",
    "date_add",
    "current_timezone",
    "luhn_check",
    "json_extract_scalar",
    "json_extract",
    "typeof",
    "approx_set",
    "cardinality",
    "element_at",
}
# Known Trino functions the local Athena does not emulate (a clear NOT_SUPPORTED rather than "not registered").
_TRINO_NOT_EMULATED = {
    "ip_prefix",
    "ip_subnet_min",
    "ip_subnet_max",
    "ip_subnet_range",
    "is_subnet_of",
    "utf8",
    "from_big_endian_64",
    "to_big_endian_64",
    "geometry_from_text",
    "st_point",
    "st_distance",
    "st_contains",
    "st_geometryfromtext",
    "great_circle_distance",
    "approx_most_frequent",
    "qdigest_agg",
    "tdigest_agg",
    "make_set_digest",
    "merge",
    "numeric_histogram",
    "classify",
    "learn_classifier",
    "evaluate_classifier_predictions",
    "features",
    "bing_tile",
    "xxhash64",
    "murmur3",
    "spooky_hash_v2_32",
    "spooky_hash_v2_64",
    "hmac_sha256",
    "hmac_md5",
    "crc32",
    "normal_cdf",
    "inverse_normal_cdf",
    "beta_cdf",
    "wilson_interval_lower",
    "wilson_interval_upper",
    "json_query",
    "json_value",
    "json_exists",
    "json_object",
    "json_array",
    "value_at_quantile",
    "values_at_quantiles",
    "array_histogram",
    "kurtosis",
    "skewness",
    "reduce_agg",
    "checksum",
    "format_number",
    "parse_data_size",
    "from_iso8601_timestamp_nanos",
    "at_timezone",
    "timezone_hour",
    "timezone_minute",
    "combinations",
    "ngrams",
    "soundex",
    "translate",
    "to_ieee754_64",
    "from_ieee754_64",
    "sha1",
    "sha512",
    "date_format_ext",
}


@dataclasses.dataclass
class SourceTable:
    """A table as the translator sees it.

    ``relation`` is the DuckDB FROM item holding its rows; ``raw_columns`` the string columns whose
    object text keeps the keys as written (``spellings(column, names)`` resolves lower-case key names
    to the spellings present).
    """

    columns: list[tuple[str, SqlType]]
    relation: str
    raw_columns: set[str] = dataclasses.field(default_factory=set)
    pseudo_columns: set[str] = dataclasses.field(default_factory=set)
    spellings: Callable[[str, list[str]], Mapping[str, tuple[str, ...]]] | None = None


@dataclasses.dataclass
class Translation:
    """The DuckDB SQL and Athena's names for the result columns."""

    sql: str
    names: list[str]


def _pos(node: exp.Expression | None) -> tuple[int | None, int | None]:
    """Athena's 1-based ``line:column`` of a node's first token, when the parser kept it."""
    while node is not None:
        candidates = [node, *([node.this] if isinstance(node.this, exp.Expression) else [])]
        for n in candidates:
            meta = n.meta if isinstance(n, exp.Expression) else {}
            if "line" in meta and "col" in meta:
                length = meta.get("end", 0) - meta.get("start", 0)
                quoted = isinstance(n, exp.Identifier) and n.args.get("quoted")
                return meta["line"], meta["col"] - length - (1 if quoted else 0)
        children = [c for c in node.iter_expressions()]
        node = children[0] if children else None
    return None, None


def _err(kind: str, message: str, node: exp.Expression | None = None) -> AthenaSqlError:
    line, col = _pos(node)
    return AthenaSqlError(kind, message, line, col)


def _type(node: exp.Expression | None) -> exp.DataType | None:
    if node is None:
        return None
    t = node.type
    if t is None or t.this == T.UNKNOWN:
        return None
    return t


def _is(node: exp.Expression | None, kinds: set) -> bool:
    t = _type(node)
    return t is not None and t.this in kinds


def _is_json(node: exp.Expression | None) -> bool:
    return _is(node, {T.JSON})


def _lit(value: str) -> exp.Literal:
    return exp.Literal.string(value)


def _fn(name: str, *args: exp.Expression) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _cast(node: exp.Expression, to: str) -> exp.Cast:
    return exp.Cast(this=node, to=exp.DataType.build(to, dialect="duckdb"))


def json_path_steps(node: exp.Expression) -> list[Step] | None:
    """The steps of a constant JSON path argument (a string literal, or the JSONPath sqlglot parsed it into).

    None when the path is computed at run time. Raises ``INVALID_FUNCTION_ARGUMENT`` for what Trino's
    JSON path does not accept (wildcards, recursive descent, negative subscripts).
    """
    if isinstance(node, exp.Literal) and node.is_string:
        return parse_json_path(node.this)
    if not isinstance(node, exp.JSONPath):
        return None
    steps: list[Step] = []
    text = []
    bad = False
    for part in node.expressions:
        if isinstance(part, exp.JSONPathRoot):
            text.append("$")
        elif isinstance(part, exp.JSONPathKey) and isinstance(part.this, str):
            steps.append(Step(key=part.this))
            text.append("." + part.this if re.fullmatch(r"[\w:-]+", part.this) else f'["{part.this}"]')
        elif isinstance(part, exp.JSONPathSubscript) and isinstance(part.this, int) and part.this >= 0:
            steps.append(Step(index=part.this))
            text.append(f"[{part.this}]")
        elif isinstance(part, exp.JSONPathSubscript) and isinstance(part.this, exp.JSONPathWildcard):
            text.append("[*]")
            bad = True
        elif isinstance(part, exp.JSONPathWildcard | exp.JSONPathKey):
            text.append(".*")
            bad = True
        else:
            text.append(part.sql() if hasattr(part, "sql") else "?")
            bad = True
    if bad:
        raise AthenaSqlError("INVALID_FUNCTION_ARGUMENT", f"Invalid JSON path: '{''.join(text)}'")
    return steps


def _trino_type_name(t: exp.DataType) -> str:
    text = t.sql("trino").lower()
    return {"int": "integer", "text": "varchar"}.get(text, text)


# ----------------------------------------------------------------------------------- date formats

_JODA = [
    ("yyyy", "%Y"),
    ("YYYY", "%Y"),
    ("yy", "%y"),
    ("MMMM", "%B"),
    ("MMM", "%b"),
    ("MM", "%m"),
    ("M", "%-m"),
    ("dd", "%d"),
    ("d", "%-d"),
    ("HH", "%H"),
    ("H", "%-H"),
    ("hh", "%I"),
    ("h", "%-I"),
    ("mm", "%M"),
    ("m", "%-M"),
    ("ss", "%S"),
    ("s", "%-S"),
    ("SSSSSS", "%f"),
    ("SSS", "%g"),
    ("a", "%p"),
    ("EEEE", "%A"),
    ("EEE", "%a"),
    ("ZZ", "%z"),
    ("Z", "%z"),
    ("z", "%Z"),
    ("DDD", "%j"),
    ("e", "%u"),
]


def joda_to_strftime(pattern: str) -> str:
    """Translate a Joda-Time pattern (format_datetime/parse_datetime) into strftime.

    Raises
    ------
    AthenaSqlError
        ``NOT_SUPPORTED`` for a pattern letter without a strftime equivalent.
    """
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "'":
            j = pattern.find("'", i + 1)
            if j == i + 1:
                out.append("'")
                i += 2
                continue
            if j < 0:
                raise AthenaSqlError("INVALID_FUNCTION_ARGUMENT", f"Invalid format: '{pattern}'")
            out.append(pattern[i + 1 : j].replace("%", "%%"))
            i = j + 1
            continue
        if c.isalpha():
            for token, repl in _JODA:
                if pattern.startswith(token, i) and (i + len(token) >= len(pattern) or pattern[i + len(token)] != c):
                    out.append(repl)
                    i += len(token)
                    break
            else:
                raise AthenaSqlError("NOT_SUPPORTED", f"The date pattern letter {c!r} in '{pattern}' is not emulated")
            continue
        out.append("%%" if c == "%" else c)
        i += 1
    return "".join(out)


def java_replacement(text: str) -> str:
    """Trino's regexp_replace replacement (``$1``, ``\\$``) as RE2's (``\\1``)."""
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append("\\\\" if nxt == "\\" else nxt)
            i += 2
        elif c == "$":
            m = re.match(r"\$(\d)", text[i:])
            if not m:
                raise AthenaSqlError("NOT_SUPPORTED", f"The replacement {text!r} (named groups) is not emulated")
            out.append("\\" + m.group(1))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


# ------------------------------------------------------------------------------------------ dialect


class AthenaDuck(DuckDB):
    """DuckDB generation with Athena's types: timestamps held at microsecond precision."""

    class Generator(DuckDB.Generator):
        def datatype_sql(self, expression: exp.DataType) -> str:
            if expression.this in (T.TIMESTAMP, T.TIMESTAMPTZ) and expression.expressions:
                expression = exp.DataType(this=expression.this)
            if expression.this in (T.VARCHAR, T.CHAR) and expression.expressions:
                expression = exp.DataType(this=T.VARCHAR)
            return super().datatype_sql(expression)


# ------------------------------------------------------------------------------------------ translator


class Translator:
    """Translate one Athena query.

    Parameters
    ----------
    sources
        ``(database, table)`` -> :class:`SourceTable` for every table the query may reference.
    default_database
        Resolves unqualified table names.
    now
        The statement's clock (UTC): ``current_date``, ``current_timestamp``, ``now()``.
    """

    def __init__(self, sources: Mapping[tuple[str, str], SourceTable], default_database: str, now: dt.datetime) -> None:
        self.sources = sources
        self.default_database = default_database.lower()
        self.now = now.astimezone(dt.UTC) if now.tzinfo else now.replace(tzinfo=dt.UTC)
        self._raw: dict[int, tuple[SourceTable, str]] = {}
        self._passthrough: set[int] = set()
        self._ids = itertools.count()

    # ------------------------------------------------------------------------------- entry point

    def translate(self, query: exp.Expression) -> Translation:
        if not isinstance(query, exp.Query | exp.Values):
            kind = type(query).__name__.upper()
            raise AthenaSqlError(
                "NOT_SUPPORTED", f"Only SELECT queries run on the local Athena's SQL engine (got {kind})"
            )
        tree = query.copy()
        if isinstance(tree, exp.Values):
            width = len(tree.expressions[0].expressions) if tree.expressions else 1
            tree = exp.select("*").from_(
                exp.Subquery(
                    this=tree,
                    alias=exp.TableAlias(
                        this=exp.to_identifier("_v"), columns=[exp.to_identifier(f"_col{i}") for i in range(width)]
                    ),
                )
            )
        self._check_functions(tree)
        self._original = tree.copy()
        self._mark_unnamed(tree)
        schema = self._resolve_tables(tree) or None
        try:
            tree = qualify(
                tree,
                schema=schema,
                dialect="athena",
                catalog=CATALOG,
                db=self.default_database,
                validate_qualify_columns=True,
                quote_identifiers=True,
            )
        except OptimizeError as e:
            raise self._qualify_error(e, tree) from None
        self._drop_star_pseudo_columns(tree)
        names = self._output_names(tree)
        tree = annotate_types(tree, schema=schema, dialect="athena")
        self._find_raw_columns(tree)
        self._prefetch_spellings(tree)
        tree = self._check_types(tree)
        self._decimal_scales(tree)
        tree = self._apply_rewrites(tree)
        tree = self._replace_tables(tree)
        return Translation(tree.sql(dialect=AthenaDuck), names)

    # -------------------------------------------------------------------------------- preparation

    def _check_functions(self, tree: exp.Expression) -> None:
        for node in tree.find_all(exp.Anonymous):
            name = str(node.this).lower()
            if isinstance(node.parent, exp.Dot):
                raise _err(
                    "SYNTAX_ERROR", f"Function '{node.parent.sql('athena').split('(')[0].lower()}' not registered", node
                )
            if name in _ANONYMOUS_OK:
                continue
            if name in _TRINO_NOT_EMULATED:
                raise _err("NOT_SUPPORTED", f"Function '{name}' is not emulated by the local Athena", node)
            raise _err("SYNTAX_ERROR", f"Function '{name}' not registered", node)
        for node in tree.find_all(exp.Cast, exp.TryCast):
            to = node.args.get("to")
            if isinstance(to, exp.DataType) and to.this == T.IPADDRESS:
                parent = node.parent
                if not (isinstance(parent, exp.ArrayContains) and parent.expression is node):
                    raise _err(
                        "NOT_SUPPORTED",
                        "IPADDRESS values are not emulated (the inet extension is not available offline); "
                        "contains('<cidr>', CAST(ip AS IPADDRESS)) is, for IPv4",
                        node,
                    )
        for node in tree.find_all(exp.Reduce):
            if node.args.get("finish") is not None and not isinstance(node.args["finish"], exp.Lambda):
                raise _err("NOT_SUPPORTED", "reduce() needs lambda expressions", node)

    def _mark_unnamed(self, tree: exp.Expression) -> None:
        for select in tree.find_all(exp.Select):
            new = []
            for proj in select.expressions:
                if isinstance(proj, exp.Alias | exp.Column | exp.Star) or (
                    isinstance(proj, exp.Dot) and isinstance(proj.expression, exp.Identifier)
                ):
                    if isinstance(proj, exp.Column) and proj.name.lower() in ("$path", "$file_size"):
                        proj.meta["gdnb_explicit"] = True
                    new.append(proj)
                    continue
                new.append(exp.alias_(proj, f"{_UNNAMED}{next(self._ids)}", quoted=True))
            select.set("expressions", new)
        for col in tree.find_all(exp.Column):
            if col.name.lower() in ("$path", "$file_size"):
                col.meta["gdnb_explicit"] = True
            if col.name.lower() == "$file_modified_time":
                raise _err("NOT_SUPPORTED", 'The pseudo-column "$file_modified_time" is not emulated', col)

    def _cte_names(self, tree: exp.Expression) -> set[str]:
        return {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}

    def _resolve_tables(self, tree: exp.Expression) -> dict:
        ctes = self._cte_names(tree)
        schema: dict = {CATALOG: {}}
        for table in tree.find_all(exp.Table):
            if not table.name or isinstance(table.this, exp.Func | exp.Unnest):
                continue
            catalog = table.catalog.lower() if table.catalog else CATALOG
            db = table.db.lower() if table.db else None
            name = table.name.lower()
            if db is None and name in ctes:
                continue
            if catalog != CATALOG:
                raise _err(
                    "NOT_SUPPORTED", f"Catalog '{catalog}' is not available; the local Athena has {CATALOG} only", table
                )
            db = db or self.default_database
            source = self.sources.get((db, name))
            if source is None:
                raise _err("TABLE_NOT_FOUND", f"Table '{CATALOG}.{db}.{name}' does not exist", table)
            table.set("catalog", exp.to_identifier(CATALOG))
            table.set("db", exp.to_identifier(db))
            table.set("this", exp.to_identifier(name))
            table.meta["gdnb_source"] = (db, name)
            wanted = {c.name.lower() for c in tree.find_all(exp.Column) if c.meta.get("gdnb_explicit")}
            cols = {n: t.athena() for n, t in source.columns if n not in source.pseudo_columns or n in wanted}
            schema[CATALOG].setdefault(db, {})[name] = cols
        return schema if schema[CATALOG] else {}

    def _qualify_error(self, e: OptimizeError, tree: exp.Expression) -> AthenaSqlError:
        message = str(e)
        m = re.match(r"Column '(.+?)' could not be resolved", message)
        if m:
            name = m.group(1).split(".")[-1].strip('"')
            node = next((c for c in self._original.find_all(exp.Column) if c.name.lower() == name.lower()), None)
            line, col = _pos(node)
            mm = re.search(r"Line: (\d+), Col: (\d+)", message)
            if line is None and mm:
                line, col = int(mm.group(1)), int(mm.group(2)) - len(name) + 1
            return AthenaSqlError("COLUMN_NOT_FOUND", f"Column '{name.lower()}' cannot be resolved", line, col)
        if "Ambiguous" in message or "ambiguous" in message:
            return AthenaSqlError("AMBIGUOUS_NAME", message)
        return AthenaSqlError("SYNTAX_ERROR", message)

    def _drop_star_pseudo_columns(self, tree: exp.Expression) -> None:
        for select in tree.find_all(exp.Select):
            keep = []
            for proj in select.expressions:
                col = proj.this if isinstance(proj, exp.Alias) else proj
                if (
                    isinstance(col, exp.Column)
                    and col.name in ("$path", "$file_size")
                    and not col.meta.get("gdnb_explicit")
                ):
                    continue
                keep.append(proj)
            select.set("expressions", keep)

    def _output_names(self, tree: exp.Expression) -> list[str]:
        for select in tree.find_all(exp.Select):
            for i, proj in enumerate(select.expressions):
                if isinstance(proj, exp.Alias) and proj.alias.startswith(_UNNAMED):
                    proj.set("alias", exp.to_identifier(f"_col{i}", quoted=True))
        head = tree
        while isinstance(head, exp.SetOperation):
            head = head.this
        if isinstance(head, exp.Subquery):
            head = head.unnest()
        return [p.alias_or_name.lower() for p in head.expressions] if isinstance(head, exp.Select) else []

    def _find_raw_columns(self, tree: exp.Expression) -> None:
        """Find the references to raw nested columns, through CTEs and subqueries that only pass them on.

        ``WITH v AS (SELECT *, row_number() OVER (...) FROM t) SELECT json_extract_scalar(v.resource, ...)``
        keeps ``resource`` raw inside ``v`` (no lower-casing of every row) and resolves the path outside.
        A subquery that groups, de-duplicates, orders or is part of a set operation lowers its copy.
        """
        for scope in traverse_scope(tree):  # inner scopes first
            for col in scope.columns:
                source = scope.sources.get(col.table)
                if isinstance(source, exp.Table) and "gdnb_source" in source.meta:
                    src = self.sources[source.meta["gdnb_source"]]
                    if col.name in src.raw_columns:
                        self._raw[id(col)] = (src, col.name)
                    continue
                inner = getattr(source, "expression", None)
                if not isinstance(inner, exp.Select) or not isinstance(inner.parent, exp.Subquery | exp.CTE):
                    continue
                if inner.args.get("distinct") or inner.args.get("group") or inner.args.get("order"):
                    continue
                for proj in inner.expressions:
                    if proj.alias_or_name != col.name:
                        continue
                    value = proj.this if isinstance(proj, exp.Alias) else proj
                    if isinstance(value, exp.Column) and id(value) in self._raw:
                        self._raw[id(col)] = self._raw[id(value)]
                        self._passthrough.add(id(value))
                    break

    def _prefetch_spellings(self, tree: exp.Expression) -> None:
        """Ask for the key spellings of every raw column once, for all the paths the query reads."""
        wanted: dict[tuple[int, str], tuple[SourceTable, set[str]]] = {}
        for node in tree.walk():
            if isinstance(node, exp.JSONExtract | exp.JSONExtractScalar):
                doc, path = node.this, node.expression
            elif (
                isinstance(node, exp.Anonymous) and str(node.this).lower() == "json_size" and len(node.expressions) == 2
            ):
                doc, path = node.expressions
            else:
                continue
            raw = self._raw.get(id(doc))
            if raw is None:
                continue
            source, column = raw
            try:
                steps = json_path_steps(path)
            except AthenaSqlError:
                continue
            keys = {s.key for s in steps or [] if s.key is not None and s.key == s.key.lower()}
            wanted.setdefault((id(source), column), (source, set()))[1].update(keys)
        for (_sid, column), (source, keys) in wanted.items():
            if keys and source.spellings is not None:
                source.spellings(column, sorted(keys))

    def _replace_tables(self, tree: exp.Expression) -> exp.Expression:
        for table in list(tree.find_all(exp.Table)):
            key = table.meta.get("gdnb_source")
            if key is None:
                continue
            relation = (
                sqlglot.parse_one(f"SELECT * FROM {self.sources[key].relation}", read="duckdb").args["from_"].this
            )
            relation.set("alias", exp.TableAlias(this=exp.to_identifier(table.alias_or_name, quoted=True)))
            table.replace(relation)
        return tree

    # ------------------------------------------------------------------------------ type checks

    def _check_types(self, tree: exp.Expression) -> exp.Expression:
        ops = {
            exp.EQ: "=",
            exp.NEQ: "<>",
            exp.GT: ">",
            exp.GTE: ">=",
            exp.LT: "<",
            exp.LTE: "<=",
            exp.Add: "+",
            exp.Sub: "-",
            exp.Mul: "*",
            exp.Div: "/",
            exp.Mod: "%",
        }
        for node in tree.find_all(*ops):
            left, right = node.this, node.expression
            lt, rt = _type(left), _type(right)
            if lt is None or rt is None:
                continue
            if isinstance(node, exp.Add | exp.Sub) and (lt.this in _TEMPORAL or rt.this in _TEMPORAL):
                continue
            a, b = lt.this, rt.this
            mismatch = (
                (a in _TEXT and b in _NUMERIC | _TEMPORAL | {T.BOOLEAN})
                or (b in _TEXT and a in _NUMERIC | _TEMPORAL | {T.BOOLEAN})
                or (a == T.BOOLEAN and b in _NUMERIC)
                or (b == T.BOOLEAN and a in _NUMERIC)
            )
            if isinstance(node, exp.Add | exp.Sub | exp.Mul | exp.Div | exp.Mod) and (a in _TEXT or b in _TEXT):
                mismatch = True
            if mismatch:
                raise _err(
                    "SYNTAX_ERROR",
                    f"Cannot apply operator: {self._tname(left, lt)} {ops[type(node)]} {self._tname(right, rt)}",
                    node,
                )
        for node in tree.find_all(exp.DPipe, exp.Concat):
            args = [node.this, node.expression] if isinstance(node, exp.DPipe) else list(node.expressions)
            types = [_type(a) for a in args]
            if (
                all(t is not None for t in types)
                and any(t.this in _TEXT for t in types)
                and any(t.this in _NUMERIC | _TEMPORAL | {T.BOOLEAN} for t in types)
            ):
                shown = ", ".join(self._tname(a, t) for a, t in zip(args, types, strict=True))
                raise _err("SYNTAX_ERROR", f"Unexpected parameters ({shown}) for function concat", node)
        return tree

    @staticmethod
    def _tname(node: exp.Expression, t: exp.DataType) -> str:
        if isinstance(node, exp.Literal) and node.is_string:
            return f"varchar({len(node.this)})"
        return _trino_type_name(t)

    # --------------------------------------------------------------------------------- rewrites

    def _apply_rewrites(self, tree: exp.Expression) -> exp.Expression:
        """Rewrite children before parents (handlers see their children's types, and raw columns their parent)."""
        for node in reversed(list(tree.walk(bfs=False))):
            new = self._rewrite(node)
            if new is not node:
                if node is tree:
                    tree = new
                else:
                    node.replace(new)
        return tree

    def _rewrite(self, node: exp.Expression) -> exp.Expression:
        handler = getattr(self, f"_rw_{type(node).__name__}", None)
        if handler is not None:
            new = handler(node)
            if new is not node and new is not None:
                if new.type is None and node.type is not None:
                    new.type = node.type
                return new
        if (
            isinstance(node, exp.Column)
            and id(node) in self._raw
            and id(node) not in self._passthrough
            and not self._json_arg(node)
        ):
            return self._lowered(node)
        return node

    def _json_arg(self, col: exp.Column) -> bool:
        """Whether a raw column is the document argument of a JSON function (paths get resolved there)."""
        parent = col.parent
        if isinstance(parent, exp.JSONExtract | exp.JSONExtractScalar) and parent.this is col:
            return True
        if (
            isinstance(parent, exp.Anonymous)
            and str(parent.this).lower()
            in ("json_array_length", "json_size", "is_json_scalar", "json_extract_scalar", "json_extract")
            and parent.expressions
            and parent.expressions[0] is col
        ):
            return True
        # IS NULL and count() do not look at the text
        return isinstance(parent, exp.Is | exp.Count) or (
            isinstance(parent, exp.Distinct) and isinstance(parent.parent, exp.Count)
        )

    def _lowered(self, col: exp.Column) -> exp.Expression:
        new = _fn("gdnb_lower_keys", col.copy())
        new.type = exp.DataType.build("VARCHAR")
        return new

    # JSON -------------------------------------------------------------------------------------

    def _json_paths(self, doc: exp.Expression, path_node: exp.Expression) -> tuple[exp.Expression, list[str] | None]:
        """The document and the DuckDB path(s) to read; None paths when nothing can match."""
        steps = json_path_steps(path_node)
        if steps is None:
            if id(doc) in self._raw:
                return self._lowered(doc), []
            return doc, []
        raw = self._raw.get(id(doc))
        if raw is None:
            return doc, [duckdb_path(steps)]
        source, column = raw
        keys = [s.key for s in steps if s.key is not None]
        if any(k != k.lower() or '"' in k or "\\" in k for k in keys):
            # A path with upper case never matches lower-cased keys (Athena returns NULL); odd keys: lower the text.
            if any(k != k.lower() for k in keys):
                return doc, None
            return self._lowered(doc), [duckdb_path(steps)]
        spellings = source.spellings(column, sorted(set(keys))) if keys and source.spellings else {}
        options: list[list[Step]] = []
        for step in steps:
            if step.key is None:
                options.append([step])
            else:
                found = spellings.get(step.key, ())
                if not found:
                    return doc, None
                options.append([Step(key=s) for s in found])
        combos = list(itertools.islice(itertools.product(*options), 65))
        if len(combos) > 64:
            return self._lowered(doc), [duckdb_path(steps)]
        return doc, [duckdb_path(list(c)) for c in combos]

    def _json_call(
        self, single: str, many: str, node: exp.Expression, doc: exp.Expression, path: exp.Expression, result: str
    ) -> exp.Expression:
        doc, paths = self._json_paths(doc, path)
        if paths is None:
            return _cast(exp.Null(), result)
        if not paths:  # a path computed at run time
            return _fn(single, doc, path)
        if len(paths) == 1:
            return _fn(single, doc, _lit(paths[0]))
        return _fn(many, doc, exp.Array(expressions=[_lit(p) for p in paths]))

    def _rw_JSONExtractScalar(self, node: exp.JSONExtractScalar) -> exp.Expression:
        out = self._json_call(
            "gdnb_json_extract_scalar", "gdnb_json_extract_scalar_any", node, node.this, node.expression, "VARCHAR"
        )
        out.type = exp.DataType.build("VARCHAR")
        return out

    def _rw_JSONExtract(self, node: exp.JSONExtract) -> exp.Expression:
        if node.expressions:
            raise _err("NOT_SUPPORTED", "json_extract with several paths is not emulated", node)
        raw = id(node.this) in self._raw
        out = self._json_call("gdnb_json_extract", "gdnb_json_extract_any", node, node.this, node.expression, "JSON")
        if raw:
            out = _cast(_fn("gdnb_lower_keys", _cast(out, "VARCHAR")), "JSON")
        out.type = exp.DataType.build("JSON")
        return out

    def _rw_ParseJSON(self, node: exp.ParseJSON) -> exp.Expression:
        out = _fn("json", node.this)  # canonical (minified) JSON text, as Trino's json_parse
        out.type = exp.DataType.build("JSON")
        return out

    def _rw_JSONFormat(self, node: exp.JSONFormat) -> exp.Expression:
        out = _cast(node.this, "VARCHAR")
        out.type = exp.DataType.build("VARCHAR")
        return out

    def _rw_JSONArrayContains(self, node: exp.JSONArrayContains) -> exp.Expression:
        return _fn("gdnb_json_array_contains", node.this, node.expression)

    # casts --------------------------------------------------------------------------------------

    def _rw_Cast(self, node: exp.Cast, try_: bool = False) -> exp.Expression:
        to = node.args["to"]
        src = node.this
        target = to.this
        st = _type(src)
        if target in _INTS:
            name = {T.TINYINT: "TINYINT", T.SMALLINT: "SMALLINT", T.INT: "INT", T.BIGINT: "BIGINT"}[target]
            if st is not None and st.this in _TEXT:
                inner = _fn("gdnb_try_cast_integer", src) if try_ else _fn("gdnb_cast_integer", src, _lit(name))
                return (exp.TryCast if try_ else exp.Cast)(this=inner, to=to)
            if st is not None and st.this in _FLOATS:
                return (exp.TryCast if try_ else exp.Cast)(this=exp.Round(this=src), to=to)
            if st is not None and st.this == T.JSON:
                return (exp.TryCast if try_ else exp.Cast)(this=_fn("gdnb_json_to_varchar", src), to=to)
            return node
        if target == T.BOOLEAN and st is not None and st.this in _TEXT:
            return _fn("gdnb_try_cast_boolean" if try_ else "gdnb_cast_boolean", src)
        if target in (T.VARCHAR, T.TEXT, T.CHAR):
            if st is not None and st.this == T.JSON:
                return _fn("gdnb_json_to_varchar", src)
            if st is not None and st.this == T.TIMESTAMPTZ:
                return exp.DPipe(this=_fn("strftime", src, _lit("%Y-%m-%d %H:%M:%S.%g")), expression=_lit(" UTC"))
            if st is not None and st.this in (T.TIMESTAMP, T.DATETIME):
                return _fn("strftime", src, _lit("%Y-%m-%d %H:%M:%S.%g"))
            if st is not None and st.this in _FLOATS:
                return _fn("gdnb_double_to_varchar", src)
            if to.expressions:  # varchar(n) truncates
                size = to.expressions[0].this
                return _fn(
                    "left",
                    exp.Cast(this=src, to=exp.DataType.build("VARCHAR")),
                    size.copy() if isinstance(size, exp.Expression) else exp.Literal.number(int(str(size))),
                )
            return node
        if target == T.JSON:
            if st is not None and st.this == T.JSON:
                return src
            return _fn("to_json", src)
        if target == T.IPADDRESS:
            return node  # only inside contains(cidr, ...), handled there
        return node

    def _rw_TryCast(self, node: exp.TryCast) -> exp.Expression:
        return self._rw_Cast(node, try_=True)

    # arithmetic, aggregates ---------------------------------------------------------------------

    def _rw_Div(self, node: exp.Div) -> exp.Expression:
        left, right = node.args.get("gdnb_scales") or (None, None)
        if _is(node.this, _INTS) and _is(node.expression, _INTS):
            return exp.IntDiv(this=node.this, expression=node.expression)
        if left is not None and right is not None and (left > 0 or right > 0):
            # Trino divides decimals exactly and rounds to the larger scale (1.0 / 3 = 0.3); DuckDB gives a double.
            scale = max(left, right)
            quotient = exp.Div(
                this=_cast(node.this, "DOUBLE"), expression=_cast(node.expression, "DOUBLE"), typed=False, safe=False
            )
            zero = exp.EQ(this=node.expression.copy(), expression=exp.Literal.number(0))
            rounded = _cast(_fn("round", quotient, exp.Literal.number(scale)), f"DECIMAL(38,{scale})")
            return exp.Case(
                ifs=[exp.If(this=zero, true=_fn("error", _lit("GDNB:DIVISION_BY_ZERO:Division by zero")))],
                default=rounded,
            )
        return exp.Div(this=node.this, expression=node.expression, typed=False, safe=False)

    def _decimal_scales(self, tree: exp.Expression) -> None:
        """Remember, for each division, the decimal scales of its operands as Trino types them (None: not decimal).

        sqlglot types ``1.0`` as DOUBLE; in Trino it is DECIMAL(2,1), and ``x * 100.0 / n`` stays decimal.
        """

        def scale(n: exp.Expression) -> int | None:
            if isinstance(n, exp.Paren | exp.Neg):
                return scale(n.this)
            if isinstance(n, exp.Literal) and not n.is_string:
                text = str(n.this).lower()
                if "e" in text:
                    return None
                return len(text.split(".", 1)[1]) if "." in text else 0
            if isinstance(n, exp.Cast | exp.TryCast):
                to = n.args["to"]
                if to.this == T.DECIMAL:
                    params = [int(p.this.this) if isinstance(p.this, exp.Literal) else 0 for p in to.expressions]
                    return params[1] if len(params) > 1 else 0
                return 0 if to.this in _INTS else None
            if isinstance(n, exp.Add | exp.Sub | exp.Mul):
                a, b = scale(n.this), scale(n.expression)
                if a is None or b is None:
                    return None
                return a + b if isinstance(n, exp.Mul) else max(a, b)
            if isinstance(n, exp.Div):
                a, b = scale(n.this), scale(n.expression)
                return None if a is None or b is None else max(a, b)
            if isinstance(n, exp.Sum | exp.Avg | exp.Max | exp.Min):
                return scale(n.this) if not isinstance(n, exp.Avg) or not _is(n.this, _INTS) else None
            t = _type(n)
            if t is not None and t.this == T.DECIMAL:
                params = [p for p in t.expressions]
                return int(params[1].this.this) if len(params) > 1 and isinstance(params[1].this, exp.Literal) else 0
            if t is not None and t.this in _INTS:
                return 0
            return None

        for div in tree.find_all(exp.Div):
            div.set("gdnb_scales", (scale(div.this), scale(div.expression)))

    def _rw_Sum(self, node: exp.Sum) -> exp.Expression:
        if _is(node.this, _INTS):
            out = _cast(exp.Sum(this=node.this), "BIGINT")
            out.type = exp.DataType.build("BIGINT")
            return out
        return node

    def _rw_ApproxDistinct(self, node: exp.ApproxDistinct) -> exp.Expression:
        # Trino's estimate is exact for small sets; an exact count is the deterministic answer.
        if node.args.get("accuracy") is not None:
            raise _err("NOT_SUPPORTED", "approx_distinct with a maximum standard error is not emulated", node)
        return exp.Count(this=exp.Distinct(expressions=[node.this]))

    def _rw_ApproxQuantile(self, node: exp.ApproxQuantile) -> exp.Expression:
        if node.args.get("weight") is not None or node.args.get("accuracy") is not None:
            raise _err("NOT_SUPPORTED", "weighted approx_percentile is not emulated", node)
        return _fn("quantile_disc", node.this, node.args["quantile"])

    def _rw_Typeof(self, node: exp.Typeof) -> exp.Expression:
        if isinstance(node.this, exp.Literal) and node.this.is_string:
            return _lit(f"varchar({len(node.this.this)})")
        return _fn("gdnb_typeof", exp.Typeof(this=node.this))

    # dates ---------------------------------------------------------------------------------------

    def _rw_CurrentDate(self, node: exp.Expression) -> exp.Expression:
        out = _cast(_lit(self.now.date().isoformat()), "DATE")
        out.type = exp.DataType.build("DATE")
        return out

    def _now_ms(self) -> dt.datetime:
        return self.now.replace(microsecond=self.now.microsecond // 1000 * 1000)

    def _rw_CurrentTimestamp(self, node: exp.Expression) -> exp.Expression:
        out = _cast(_lit(self._now_ms().strftime("%Y-%m-%d %H:%M:%S.%f+00")), "TIMESTAMPTZ")
        out.type = exp.DataType.build("TIMESTAMPTZ")
        return out

    def _rw_Localtimestamp(self, node: exp.Expression) -> exp.Expression:
        out = _cast(_lit(self._now_ms().strftime("%Y-%m-%d %H:%M:%S.%f")), "TIMESTAMP")
        out.type = exp.DataType.build("TIMESTAMP")
        return out

    def _rw_CurrentTime(self, node: exp.Expression) -> exp.Expression:
        raise _err("NOT_SUPPORTED", "current_time (time with time zone) is not emulated", node)

    def _date_unit(self, unit: exp.Expression | None) -> str:
        return (unit.name if unit is not None else "day").lower()

    def _rw_DateDiff(self, node: exp.DateDiff) -> exp.Expression:
        unit = self._date_unit(node.args.get("unit"))
        out = _cast(_fn("date_sub", _lit(unit), node.expression, node.this), "BIGINT")
        out.type = exp.DataType.build("BIGINT")
        return out

    def _rw_DateAdd(self, node: exp.DateAdd) -> exp.Expression:
        unit = self._date_unit(node.args.get("unit"))
        if _is(node.this, {T.DATE}):
            if unit not in ("day", "week", "month", "quarter", "year"):
                raise _err("INVALID_FUNCTION_ARGUMENT", f"'{unit}' is not a valid DATE field", node)
            out = _cast(exp.DateAdd(this=node.this, expression=node.expression, unit=node.args.get("unit")), "DATE")
            out.type = exp.DataType.build("DATE")
            return out
        return node

    def _date_interval(self, node: exp.Add | exp.Sub) -> exp.Expression:
        if _is(node.this, {T.DATE}) and isinstance(node.expression, exp.Interval):
            unit = (node.expression.unit.name if node.expression.unit else "").lower()
            if unit in ("day", "days", "month", "months", "year", "years", "week", "weeks"):
                out = _cast(type(node)(this=node.this, expression=node.expression), "DATE")
                out.type = exp.DataType.build("DATE")
                return out
        return node

    def _rw_Add(self, node: exp.Add) -> exp.Expression:
        return self._date_interval(node)

    def _rw_Sub(self, node: exp.Sub) -> exp.Expression:
        return self._date_interval(node)

    def _rw_TimestampTrunc(self, node: exp.TimestampTrunc) -> exp.Expression:
        if _is(node.this, {T.DATE}):
            out = _cast(node, "DATE")
            out.type = exp.DataType.build("DATE")
            return out
        return node

    def _rw_FromISO8601Timestamp(self, node: exp.Expression) -> exp.Expression:
        out = _fn("gdnb_from_iso8601_timestamp", node.this)
        out.type = exp.DataType.build("TIMESTAMPTZ")
        return out

    def _rw_FromISO8601Date(self, node: exp.Expression) -> exp.Expression:
        out = _fn("gdnb_from_iso8601_date", node.this)
        out.type = exp.DataType.build("DATE")
        return out

    def _rw_ParseDatetime(self, node: exp.Expression) -> exp.Expression:
        fmt = node.args.get("format") or node.expression
        if not isinstance(fmt, exp.Literal):
            raise _err("NOT_SUPPORTED", "parse_datetime needs a literal pattern", node)
        pattern = joda_to_strftime(fmt.this)
        parsed = _fn("strptime", node.this, _lit(pattern))
        out = parsed if "%z" in pattern or "%Z" in pattern else _cast(parsed, "TIMESTAMPTZ")
        out.type = exp.DataType.build("TIMESTAMPTZ")
        return out

    def _rw_AtTimeZone(self, node: exp.AtTimeZone) -> exp.Expression:
        zone = node.args.get("zone")
        if isinstance(zone, exp.Literal) and zone.this.upper() in ("UTC", "Z", "+00:00", "GMT", "ETC/UTC"):
            if _is(node.this, {T.TIMESTAMP}):
                return _cast(node.this, "TIMESTAMPTZ")
            return node.this
        raise _err(
            "NOT_SUPPORTED",
            "AT TIME ZONE other than 'UTC' is not emulated (the local Athena keeps timestamps with time zone in UTC)",
            node,
        )

    _LENIENT = frozenset(
        {
            "gdnb_cast_integer",
            "gdnb_cast_boolean",
            "gdnb_array_subscript",
            "gdnb_map_subscript",
            "gdnb_element_at",
            "gdnb_json_to_varchar",
            "gdnb_split_part",
            "gdnb_from_iso8601_date",
            "gdnb_from_iso8601_timestamp",
            "gdnb_is_json_scalar",
        }
    )

    def _rw_Try(self, node: exp.Try) -> exp.Expression:
        """try(x): Trino's errors become NULL. DuckDB's try() refuses error(), so use the lenient macros inside."""
        for inner in list(node.this.walk()):
            if not isinstance(inner, exp.Anonymous):
                continue
            name = str(inner.this).lower()
            if name in self._LENIENT:
                inner.set("this", f"{name}_or_null")
            elif name == "error":
                inner.replace(exp.Null())
        return node

    # strings and regex ---------------------------------------------------------------------------

    def _rw_Format(self, node: exp.Format) -> exp.Expression:
        return _fn("printf", node.this, *node.expressions)

    def _rw_RegexpReplace(self, node: exp.RegexpReplace) -> exp.Expression:
        repl = node.args.get("replacement")
        if repl is None:
            repl = _lit("")
        elif isinstance(repl, exp.Literal) and repl.is_string:
            repl = _lit(java_replacement(repl.this))
        elif not isinstance(repl, exp.Lambda):
            raise _err("NOT_SUPPORTED", "regexp_replace with a computed replacement is not emulated", node)
        if isinstance(repl, exp.Lambda):
            raise _err("NOT_SUPPORTED", "regexp_replace with a lambda is not emulated", node)
        return _fn("regexp_replace", node.this, node.expression, repl, _lit("g"))

    def _rw_SplitPart(self, node: exp.SplitPart) -> exp.Expression:
        return _fn("gdnb_split_part", node.this, node.args["delimiter"], node.args["part_index"])

    def _rw_RegexpExtract(self, node: exp.RegexpExtract) -> exp.Expression:
        group = node.args.get("group") or exp.Literal.number(0)
        return _fn("gdnb_regexp_extract", node.this, node.expression, group)

    # arrays, maps --------------------------------------------------------------------------------

    def _rw_Bracket(self, node: exp.Bracket) -> exp.Expression:
        if len(node.expressions) != 1:
            return node
        base, index = node.this, node.expressions[0]
        literal = index.this if isinstance(index, exp.Neg) else index
        if not node.args.get("offset") and isinstance(literal, exp.Literal) and literal.is_int:
            value = -int(literal.this) if isinstance(index, exp.Neg) else int(literal.this)
            index = exp.Literal.number(value + 1)  # sqlglot keeps literal subscripts 0-based
        is_map = _is(base, {T.MAP}) or (
            _type(base) is None and (_is(index, _TEXT) or (isinstance(index, exp.Literal) and index.is_string))
        )
        if node.args.get("safe"):  # element_at
            if is_map:
                return exp.Bracket(this=base, expressions=[index])
            return _fn("gdnb_element_at", base, index)
        if is_map:
            return _fn("gdnb_map_subscript", base, index)
        if _is(base, {T.ARRAY}):
            return _fn("gdnb_array_subscript", base, index)
        return node

    def _rw_ArrayContains(self, node: exp.ArrayContains) -> exp.Expression:
        needle = node.expression
        if isinstance(needle, exp.Cast) and needle.args["to"].this == T.IPADDRESS:
            return _fn("gdnb_ipv4_in_cidr", node.this, needle.this)
        return _fn("list_contains", node.this, needle)

    def _rw_ArraySlice(self, node: exp.ArraySlice) -> exp.Expression:
        start, length = node.args.get("start"), node.args.get("end")
        if start is None or length is None:
            return node
        end = exp.Sub(this=exp.Add(this=start.copy(), expression=length), expression=exp.Literal.number(1))
        return _fn("list_slice", node.this, start, end)

    def _rw_GenerateSeries(self, node: exp.GenerateSeries) -> exp.Expression:
        start, end, step = node.args.get("start"), node.args.get("end"), node.args.get("step")
        if _is(start, {T.DATE}):
            step = step or exp.Interval(this=_lit("1"), unit=exp.Var(this="DAY"))
            out = _cast(_fn("generate_series", start, end, step), "DATE[]")
            out.type = exp.DataType.build("ARRAY<DATE>")
            return out
        args = [start, end] + ([step] if step is not None else [])
        return _fn("generate_series", *args)

    def _rw_Reduce(self, node: exp.Reduce) -> exp.Expression:
        merge = node.args["merge"]
        finish = node.args.get("finish")
        reduced = _fn("list_reduce", node.this, merge, node.args["initial"])
        if finish is None:
            return reduced
        params = [p.name for p in finish.expressions]
        body = finish.this.copy()
        for ident in list(body.find_all(exp.Column, exp.Identifier)):
            if ident.name == params[0] and not isinstance(ident.parent, exp.Column):
                ident.replace(reduced.copy())
        return body

    def _rw_Unnest(self, node: exp.Unnest) -> exp.Expression:
        if not isinstance(node.parent, exp.From | exp.Join):
            return node
        args = node.expressions
        alias = node.args.get("alias")
        offset = node.args.get("offset")
        simple = len(args) == 1 and not _is(args[0], {T.MAP}) and not self._row_array(args[0])
        if simple:
            return node
        # Zipped UNNEST, maps and arrays of rows: a LATERAL subquery of DuckDB unnest() calls (zipped, NULL-padded).
        inner, outer, lengths = [], [], []
        for i, arg in enumerate(args):
            if _is(arg, {T.MAP}):
                inner.append(exp.alias_(_fn("unnest", _fn("map_keys", arg.copy())), f"__k{i}", quoted=True))
                inner.append(exp.alias_(_fn("unnest", _fn("map_values", arg.copy())), f"__v{i}", quoted=True))
                outer += [exp.column(f"__k{i}", quoted=True), exp.column(f"__v{i}", quoted=True)]
                lengths.append(_fn("cardinality", arg.copy()))
            else:
                inner.append(exp.alias_(_fn("unnest", arg.copy()), f"__u{i}", quoted=True))
                if self._row_array(arg):
                    outer.append(exp.Column(this=exp.Star(), table=exp.to_identifier(f"__u{i}", quoted=True)))
                else:
                    outer.append(exp.column(f"__u{i}", quoted=True))
                lengths.append(_fn("len", arg.copy()))
        if offset:
            longest = lengths[0] if len(lengths) == 1 else exp.Greatest(this=lengths[0], expressions=lengths[1:])
            inner.append(
                exp.alias_(
                    _fn(
                        "unnest",
                        _fn("range", exp.Literal.number(1), exp.Add(this=longest, expression=exp.Literal.number(1))),
                    ),
                    "__ord",
                    quoted=True,
                )
            )
            outer.append(exp.column("__ord", quoted=True))
        sub = exp.select(*outer).from_(
            exp.Subquery(this=exp.select(*inner), alias=exp.TableAlias(this=exp.to_identifier("__z", quoted=True)))
        )
        columns = list(alias.columns) if alias is not None else []
        if offset and isinstance(offset, exp.Identifier):
            columns.append(offset)
        table_alias = exp.TableAlias(
            this=alias.this if alias is not None and alias.this else exp.to_identifier("_unnest"), columns=columns
        )
        return exp.Lateral(this=exp.Subquery(this=sub), alias=table_alias)

    @staticmethod
    def _row_array(arg: exp.Expression) -> bool:
        t = _type(arg)
        return bool(t is not None and t.this == T.ARRAY and t.expressions and t.expressions[0].this == T.STRUCT)

    # functions sqlglot does not know -------------------------------------------------------------

    def _rw_Anonymous(self, node: exp.Anonymous) -> exp.Expression:
        name = str(node.this).lower()
        args = node.expressions
        if name == "json_array_length":
            return _fn("gdnb_json_array_length", *args)
        if name == "json_size":
            doc, path = args
            doc, paths = self._json_paths(doc, path)
            if paths is None:
                return _cast(exp.Null(), "BIGINT")
            return _fn("gdnb_json_size", doc, _lit(paths[0]) if paths else path)
        if name == "is_json_scalar":
            return _fn("gdnb_is_json_scalar", *args)
        if name == "json_array_get":
            return _fn("gdnb_json_array_get", *args)
        if name == "json_array_contains":
            return _fn("gdnb_json_array_contains", *args)
        if name == "format_datetime":
            if len(args) != 2 or not isinstance(args[1], exp.Literal):
                raise _err("NOT_SUPPORTED", "format_datetime needs a literal pattern", node)
            return _fn("strftime", args[0], _lit(joda_to_strftime(args[1].this)))
        if name == "histogram":
            t = _type(args[0])
            key = t.sql("duckdb") if t is not None else "VARCHAR"
            return _cast(_fn("histogram", *args), f"MAP({key}, BIGINT)")
        if name == "map_agg":
            k, v = args
            out = _fn("map", _fn("list", k), _fn("list", v))
            kt, vt = _type(k), _type(v)
            out.type = exp.DataType(
                this=T.MAP,
                expressions=[kt or exp.DataType.build("VARCHAR"), vt or exp.DataType.build("VARCHAR")],
                nested=True,
            )
            return out
        if name == "every":
            return _fn("bool_and", *args)
        if name == "to_iso8601":
            if _is(args[0], {T.DATE}):
                return _fn("strftime", args[0], _lit("%Y-%m-%d"))
            if _is(args[0], {T.TIMESTAMP}):
                return _fn("gdnb_to_iso8601_ts", args[0])
            return _fn("gdnb_to_iso8601_tz", args[0])
        if name in ("url_extract_host", "url_extract_path", "url_extract_protocol"):
            return _fn(f"gdnb_{name}", *args)
        if name == "codepoint":
            return _fn("unicode", *args)
        if name == "nan":
            return _cast(_lit("NaN"), "DOUBLE")
        if name == "infinity":
            return _cast(_lit("Infinity"), "DOUBLE")
        if name == "with_timezone":
            zone = args[1] if len(args) > 1 else None
            if isinstance(zone, exp.Literal) and zone.this.upper() == "UTC":
                return _cast(args[0], "TIMESTAMPTZ")
            raise _err("NOT_SUPPORTED", "with_timezone to a zone other than 'UTC' is not emulated", node)
        if name == "to_utf8":
            return _fn("encode", *args)
        if name == "from_utf8":
            return _fn("decode", *args)
        if name in ("array_min", "array_max"):
            return _fn("list_" + name.split("_")[1], *args)
        if name == "array_except":
            a, b = args
            return _fn(
                "list_distinct",
                _fn(
                    "list_filter",
                    a,
                    exp.Lambda(
                        this=exp.Not(this=_fn("list_contains", b, exp.column("__x"))),
                        expressions=[exp.to_identifier("__x")],
                    ),
                ),
            )
        if name == "array_intersect":
            return _fn("list_intersect", *args)
        if name == "array_union":
            return _fn("list_distinct", _fn("list_concat", *args))
        if name == "arrays_overlap":
            return _fn("list_has_any", *args)
        if name in ("any_match", "all_match", "none_match"):
            arr, fn = args
            mapped = _fn("list_transform", arr, fn)
            if name == "any_match":
                return _fn("list_bool_or", mapped)
            if name == "all_match":
                return _fn("list_bool_and", mapped)
            return exp.Not(this=_fn("list_bool_or", mapped))
        if name == "map_values":
            return _fn("map_values", *args)
        if name == "map_concat":
            return _fn("map_concat", *args)
        if name == "current_timezone":
            return _lit("UTC")
        if name == "regexp_count":
            return _fn("len", _fn("regexp_extract_all", *args))
        if name == "cardinality":
            return _fn("len", *args)
        raise _err("NOT_SUPPORTED", f"Function '{name}' is not emulated by the local Athena", node)

    # misc ----------------------------------------------------------------------------------------

    def _rw_ArraySize(self, node: exp.ArraySize) -> exp.Expression:
        out = _cast(_fn("cardinality" if _is(node.this, {T.MAP}) else "len", node.this), "BIGINT")
        out.type = exp.DataType.build("BIGINT")
        return out

    def _rw_Length(self, node: exp.Length) -> exp.Expression:
        out = _cast(_fn("length", node.this), "BIGINT")
        out.type = exp.DataType.build("BIGINT")
        return out

    def _rw_StrPosition(self, node: exp.StrPosition) -> exp.Expression:
        out = _cast(_fn("strpos", node.this, node.args["substr"]), "BIGINT")
        out.type = exp.DataType.build("BIGINT")
        return out


def translate(
    query: exp.Expression, sources: Mapping[tuple[str, str], SourceTable], default_database: str, now: dt.datetime
) -> Translation:
    """Translate an Athena query into DuckDB SQL (see :class:`Translator`)."""
    return Translator(sources, default_database, now).translate(query)
