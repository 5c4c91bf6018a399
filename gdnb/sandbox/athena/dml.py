"""Run Athena SELECT queries (engine v3 = Trino SQL) over the objects the engine hands over.

:class:`DmlExecutor` is the SQL engine of the local Athena: it loads each table's objects with the
JSON SerDe's semantics into a cached DuckDB table (:mod:`gdnb.sandbox.athena.sql.serde`), translates
the query so DuckDB gives Trino's answer (:mod:`gdnb.sandbox.athena.sql.translate`), and renders the
values as Athena does (:mod:`gdnb.sandbox.athena.sql.render`). Failures are :class:`AthenaSqlError`
with Athena's error kinds; a set ``cancel`` event stops the query with :class:`QueryCancelled`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import os
import re
import shutil
import tempfile
import threading
import uuid
import weakref
from collections.abc import Mapping
from pathlib import Path

import duckdb
import sqlglot

from gdnb.sandbox.athena.errors import AthenaSqlError, QueryCancelled
from gdnb.sandbox.athena.model import Column, TableScan
from gdnb.sandbox.athena.sql.render import render_rows
from gdnb.sandbox.athena.sql.serde import PSEUDO_COLUMNS, TableCache
from gdnb.sandbox.athena.sql.session import open_database
from gdnb.sandbox.athena.sql.translate import SourceTable, translate
from gdnb.sandbox.athena.sql.types import athena_type_of_duckdb
from gdnb.sandbox.athena.storage import ObjectStore

log = logging.getLogger(__name__)


def _sweep_stale_staging(shm: Path) -> None:
    """Remove staging directories left by processes that no longer run (they hold RAM in /dev/shm)."""
    for path in shm.glob("gdnb-athena-*"):
        parts = path.name.split("-")
        if len(parts) < 4 or not parts[2].isdigit():
            continue
        pid = int(parts[2])
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except PermissionError:
            continue


def _remove_dirs(paths: list[Path]) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def _work_dirs(cache_dir: Path | None) -> tuple[Path, Path, bool]:
    """Staging (decompressed objects waiting for DuckDB: RAM-backed /dev/shm when there is one) and spill dirs.

    Returns the two directories and whether the spill directory is ours to remove.
    """
    name = f"gdnb-athena-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    shm = Path("/dev/shm")
    base = Path(cache_dir) if cache_dir is not None else Path(tempfile.gettempdir())
    if shm.is_dir() and os.access(shm, os.W_OK):
        _sweep_stale_staging(shm)
        staging = shm / name
    else:
        staging = base / f"{name}-staging"
    spill = base / "duckdb_spill" if cache_dir is not None else base / f"{name}-spill"
    return staging, spill, cache_dir is None


class DmlExecutor:
    """Execute SELECT / WITH / VALUES / UNION queries for the local Athena.

    Parameters
    ----------
    store
        Where the tables' objects are read (``store.read(bucket, key)``).
    cache_dir
        Where DuckDB spills what does not fit in memory. Loaded tables are cached (per table
        definition and per object: bucket, key, etag, size) in the executor's DuckDB database.
    """

    def __init__(self, store: ObjectStore, cache_dir: Path | None = None) -> None:
        self.store = store
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._staging, self._spill, self._own_spill = _work_dirs(self.cache_dir)
        self._db = open_database(self._spill)
        self._cache = TableCache(self._db, store, self._staging)
        # An executor that is never closed still leaves no staged text behind when the process exits.
        self._finalizer = weakref.finalize(
            self, _remove_dirs, [self._staging, *([self._spill] if self._own_spill else [])]
        )

    def close(self) -> None:
        """Release the DuckDB database and the staging directory."""
        self._cache.close()
        with contextlib.suppress(duckdb.Error):
            self._db.close()
        self._finalizer()

    def __enter__(self) -> DmlExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def execute(
        self,
        query: sqlglot.exp.Expression,
        tables: Mapping[tuple[str, str], TableScan],
        *,
        default_database: str,
        cancel: threading.Event | None = None,
        now: dt.datetime | None = None,
    ) -> tuple[list[Column], list[tuple[str | None, ...]]]:
        """Run one query.

        Parameters
        ----------
        query
            ``sqlglot.parse_one(sql, read="athena")``, views inlined, parameters substituted.
        tables
            ``(database, table)`` (lower case) -> the TableScan with the objects to read.
        default_database
            The database unqualified table names belong to.
        cancel
            Set it to stop the query (checked between objects; DuckDB is interrupted).
        now
            The statement time (``current_date``, ``current_timestamp``); defaults to the clock.

        Returns
        -------
        tuple
            Result columns (Athena names and types) and rows rendered as Athena renders them.

        Raises
        ------
        AthenaSqlError
            With Athena's error kind and, where it applies, the position in the query.
        QueryCancelled
            When ``cancel`` was set.
        """
        now = now or dt.datetime.now(dt.UTC)
        cur = self._db.cursor()
        done = threading.Event()
        if cancel is not None:
            threading.Thread(target=self._watch, args=(cancel, done, cur), name="gdnb-cancel", daemon=True).start()
        try:
            with contextlib.ExitStack() as stack:
                sources: dict[tuple[str, str], SourceTable] = {}
                loaded = {key: self._cache.table_for(scan, cur) for key, scan in tables.items()}
                for table in sorted(set(loaded.values()), key=lambda t: t.name):  # one order: no deadlock
                    stack.enter_context(table.lock)
                for key in sorted(tables):
                    scan, table = tables[key], loaded[key]
                    ids = self._cache.ensure_loaded(table, scan, cur, cancel)
                    sources[(key[0].lower(), key[1].lower())] = SourceTable(
                        columns=table.spec.all_columns(),
                        relation=table.relation_sql(ids),
                        raw_columns=table.raw_columns,
                        pseudo_columns=set(PSEUDO_COLUMNS),
                        spellings=functools.partial(table.key_spellings, cur),
                    )
                if cancel is not None and cancel.is_set():
                    raise QueryCancelled()
                translation = translate(query, sources, default_database, now)
                log.debug("duckdb sql: %s", translation.sql)
                relation = cur.sql(translation.sql)
                types = relation.types
                rows = relation.fetchall()
            names = translation.names if len(translation.names) == len(types) else relation.columns
            columns = [Column(n.lower(), athena_type_of_duckdb(t)) for n, t in zip(names, types, strict=True)]
            return columns, render_rows(rows, types)
        except duckdb.InterruptException:
            raise QueryCancelled() from None
        except duckdb.Error as e:
            if cancel is not None and cancel.is_set():
                raise QueryCancelled() from None
            raise athena_error(e) from None
        finally:
            # The watcher sees `done` within one poll and exits; joining it would add that poll to
            # every query, and a late interrupt of the closed cursor is harmless.
            done.set()
            with contextlib.suppress(duckdb.Error):
                cur.close()

    @staticmethod
    def _watch(cancel: threading.Event, done: threading.Event, cur: duckdb.DuckDBPyConnection) -> None:
        # Keep interrupting until the query ends: an interrupt sent before DuckDB starts executing (while the
        # query is still being translated) is lost, and a lone one would let the query run to its end.
        while not done.is_set():
            if cancel.wait(0.05):
                with contextlib.suppress(duckdb.Error):
                    cur.interrupt()
                done.wait(0.05)


_REGEX_HINTS = (
    "regular expression",
    "perl operator",
    "missing )",
    "invalid escape",
    "bad repetition",
    "invalid character class",
)


def athena_error(e: duckdb.Error) -> AthenaSqlError:
    """Athena's error for a DuckDB failure (macros raise ``GDNB:<KIND>:<message>``)."""
    message = str(e)
    m = re.search(r"GDNB:([A-Z_]+):(.*)", message, re.S)
    if m:
        return AthenaSqlError(m.group(1), m.group(2).strip())
    first = message.split("\n", 1)[0]
    detail = re.sub(r"^[A-Za-z ]*Error: ", "", first)
    if "Division by zero" in message:
        return AthenaSqlError("DIVISION_BY_ZERO", "Division by zero")
    if isinstance(e, duckdb.ConversionException) or first.startswith("Conversion Error"):
        return AthenaSqlError("INVALID_CAST_ARGUMENT", detail)
    if isinstance(e, duckdb.OutOfRangeException):
        return AthenaSqlError("NUMERIC_VALUE_OUT_OF_RANGE", detail)
    if any(h in message.lower() for h in _REGEX_HINTS):
        return AthenaSqlError(
            "NOT_SUPPORTED", f"The regular expression is not supported by the local Athena (RE2 syntax only): {detail}"
        )
    if isinstance(e, duckdb.BinderException):
        return AthenaSqlError("SYNTAX_ERROR", detail)
    if isinstance(e, duckdb.InvalidInputException) and "Map keys must be unique" in message:
        return AthenaSqlError("INVALID_FUNCTION_ARGUMENT", "Duplicate map keys are not allowed")
    return AthenaSqlError("GENERIC_INTERNAL_ERROR", detail)
