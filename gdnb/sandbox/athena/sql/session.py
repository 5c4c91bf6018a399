"""The DuckDB database queries run in: UTC session, Trino-compatible macros, bounded memory."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import duckdb


def macros_sql() -> str:
    """The text of ``macros.sql`` (DuckDB macros that give Trino's answers)."""
    return resources.files("gdnb.sandbox.athena.sql").joinpath("macros.sql").read_text(encoding="utf-8")


def open_database(spill_dir: Path | None = None, memory_limit: str = "1500MB") -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB database set up as an Athena session.

    Parameters
    ----------
    spill_dir
        Where DuckDB writes what does not fit in ``memory_limit`` (loaded tables included).
    memory_limit
        DuckDB's buffer limit.

    Returns
    -------
    duckdb.DuckDBPyConnection
        The root connection; use ``.cursor()`` per thread.
    """
    config = {
        "threads": max(1, os.cpu_count() or 1),
        "memory_limit": memory_limit,
        "preserve_insertion_order": True,
    }
    if spill_dir is not None:  # DuckDB creates it when it first spills
        config["temp_directory"] = str(spill_dir)
    con = duckdb.connect(":memory:", config=config)
    # Athena sessions run in UTC; current_date, date_trunc and TIMESTAMPTZ depend on it (icu is built in).
    con.execute("SET TimeZone = 'UTC'")
    # An in-memory database has nothing to checkpoint, yet a checkpoint recompresses every cached table
    # (seconds, at the fourth batch of a 270k-finding load); keep the loaded tables as they are.
    con.execute("SET checkpoint_threshold = '1TB'")
    con.execute(macros_sql())
    return con
