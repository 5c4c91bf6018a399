"""The DuckDB database queries run in: UTC session, Trino-compatible macros, bounded memory."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import duckdb


def macros_sql() -> str:
    """The text of ``macros.sql`` (DuckDB macros that give Trino's answers)."""
    return resources.files("gdnb.sandbox.athena.sql").joinpath("macros.sql").read_text(encoding="utf-8")


def open_database(cache_dir: Path | None = None, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB database set up as an Athena session.

    Parameters
    ----------
    cache_dir
        Where DuckDB may spill when a query needs more than ``memory_limit``.
    memory_limit
        DuckDB's buffer limit; the loaded tables live in it too.

    Returns
    -------
    duckdb.DuckDBPyConnection
        The root connection; use ``.cursor()`` per thread.
    """
    config = {
        "threads": max(1, os.cpu_count() or 1),
        "memory_limit": memory_limit or os.environ.get("GDNB_DUCKDB_MEMORY", "1500MB"),
        "preserve_insertion_order": True,
    }
    if cache_dir is not None:
        spill = Path(cache_dir) / "duckdb_spill"
        spill.mkdir(parents=True, exist_ok=True)
        config["temp_directory"] = str(spill)
    con = duckdb.connect(":memory:", config=config)
    # Athena sessions run in UTC; current_date, date_trunc and TIMESTAMPTZ depend on it (icu is built in).
    con.execute("SET TimeZone = 'UTC'")
    # An in-memory database has nothing to checkpoint, yet a checkpoint recompresses every cached table
    # (seconds, at the fourth batch of a 270k-finding load); keep the loaded tables as they are.
    con.execute("SET checkpoint_threshold = '1TB'")
    for stmt in filter(None, os.environ.get("GDNB_DUCKDB_SETTINGS", "").split(";")):
        con.execute(stmt)
    con.execute(macros_sql())
    return con
