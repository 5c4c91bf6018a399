"""Athena from notebooks: queries with their cost, checks before the first one, the workgroup.

``Session(settings)`` runs raw SQL (``session.sql``) and library queries (``session.run``)
through pyathena's PandasCursor; each returns a ``QueryResult`` (DataFrame + ``QueryStats``)
and the session keeps ``history``, ``costs()`` and ``total_cost``. ``summarize_scans`` compares the
same question asked of several tables (bytes scanned, share, what pruning saved). ``ensure_workgroup``
plans and applies the workgroup and its SSE-KMS results bucket.
"""

from __future__ import annotations

from gdnb.athena.cost import (
    MB,
    MIN_BILLED_BYTES,
    TB,
    billed_bytes,
    cost_table,
    format_bytes,
    format_usd,
    query_cost_usd,
)
from gdnb.athena.identifiers import check_identifier
from gdnb.athena.preflight import bucket_region, check_bucket_region
from gdnb.athena.scans import ScanComparison, compare_scans, summarize_scans
from gdnb.athena.session import AthenaSession, QueryResult, QueryStats, Session, query_failure
from gdnb.athena.workgroup import ensure_workgroup, output_location, plan_workgroup

__all__ = [
    "MB",
    "MIN_BILLED_BYTES",
    "TB",
    "AthenaSession",
    "QueryResult",
    "QueryStats",
    "ScanComparison",
    "Session",
    "billed_bytes",
    "bucket_region",
    "check_bucket_region",
    "check_identifier",
    "compare_scans",
    "cost_table",
    "ensure_workgroup",
    "format_bytes",
    "format_usd",
    "output_location",
    "plan_workgroup",
    "query_cost_usd",
    "query_failure",
    "summarize_scans",
]
