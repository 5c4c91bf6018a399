"""What a query costs: Athena bills bytes scanned, rounded up to the MB, with a 10 MB minimum.

Pricing facts (athena.guide, AWS pricing page wording): about $5 per TB scanned, rounded up
to the next megabyte, 10 MB minimum per query; DDL statements and failed queries are free.
AWS does not say whether its MB and TB are binary; gdnb uses 2**20 and 2**40 bytes, so the
figures are upper bounds by at most 10 %. Cancelled queries are billed for what they scanned.
"""

from __future__ import annotations

import math

import pandas as pd

MB = 2**20
TB = 2**40
MIN_BILLED_BYTES = 10 * MB
BILLED_STATES = ("SUCCEEDED", "CANCELLED")


def billed_bytes(bytes_scanned: int | None, statement_type: str | None = "DML",
                 state: str | None = "SUCCEEDED") -> int:
    """The bytes Athena bills for one query.

    Parameters
    ----------
    bytes_scanned
        ``Statistics.DataScannedInBytes`` of the query.
    statement_type
        ``DDL``, ``DML`` or ``UTILITY``; only DML is billed.
    state
        The query's final state; failed queries are free, cancelled ones pay for what they read.

    Examples
    --------
    >>> billed_bytes(1)              # the 10 MB minimum
    10485760
    >>> billed_bytes(11 * 2**20 + 1)  # rounded up to the next MB
    12582912
    >>> billed_bytes(5 * 2**30, "DDL")
    0
    """
    if statement_type != "DML" or state not in BILLED_STATES:
        return 0
    scanned = max(int(bytes_scanned or 0), 0)
    if state == "CANCELLED" and scanned == 0:
        return 0
    return max(math.ceil(scanned / MB) * MB, MIN_BILLED_BYTES)


def query_cost_usd(bytes_scanned: int | None, statement_type: str | None = "DML", state: str | None = "SUCCEEDED",
                   price_per_tb: float = 5.0) -> float:
    """The USD cost of one query at ``price_per_tb`` dollars per TB (2**40 bytes) billed."""
    return billed_bytes(bytes_scanned, statement_type, state) / TB * price_per_tb


def format_bytes(n: int | float | None) -> str:
    """``1536`` -> ``'1.5 KiB'``: sizes for people."""
    value = float(n or 0)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover


def format_usd(amount: float) -> str:
    """Dollars with enough digits to see a 10 MB query (about $0.00005)."""
    return f"${amount:.6f}" if amount < 0.01 else f"${amount:.4f}"


COST_COLUMNS = ("name", "state", "statement_type", "rows", "bytes_scanned", "billed_bytes", "cost_usd", "total_ms",
                "query_id")


def cost_table(history: pd.DataFrame) -> pd.DataFrame:
    """The queries of a session's ``history``, with bytes scanned and cost, and a total row at the bottom.

    Rows are numbered from 1; unnamed queries are called ``(sql)``; the total row's ``state`` says
    how many queries there were.

    Raises
    ------
    ValueError
        When ``history`` lacks one of :data:`COST_COLUMNS`.
    """
    missing = [c for c in COST_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(f"the history lacks the column(s) {', '.join(missing)}; expected {', '.join(COST_COLUMNS)}")
    out = history[list(COST_COLUMNS)].copy()
    out["name"] = out["name"].fillna("(sql)").astype(str).str.slice(0, 60)

    def total_of(column: str) -> float:
        return float(pd.to_numeric(out[column], errors="coerce").fillna(0).sum())

    total = {"name": "total", "state": f"{len(out)} queries", "statement_type": "", "rows": None,
             "bytes_scanned": int(total_of("bytes_scanned")), "billed_bytes": int(total_of("billed_bytes")),
             "cost_usd": total_of("cost_usd"), "total_ms": int(total_of("total_ms")), "query_id": ""}
    frame = pd.concat([out, pd.DataFrame([total])], ignore_index=True) if len(out) else pd.DataFrame([total])
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="#")
    return frame
