"""gdnb: a notebook kit for Amazon GuardDuty findings exported to S3 and queried with Athena."""

from __future__ import annotations

from gdnb.config import Settings, load_settings, settings_from_namespace
from gdnb.errors import GdnbError
from gdnb.notebooks import run_notebook
from gdnb.record import read_records, record
from gdnb.setup import (
    apply,
    calls_table,
    cloudformation_template,
    cloudformation_yaml,
    list_exported_objects,
    plan_bucket,
    plan_export,
    plan_key,
    plan_teardown,
)

__all__ = ["GdnbError", "Settings", "load_settings", "settings_from_namespace"]
__all__ += ["apply", "calls_table", "cloudformation_template", "cloudformation_yaml", "list_exported_objects",
            "plan_bucket", "plan_export", "plan_key", "plan_teardown", "read_records", "record", "run_notebook"]
__version__ = "0.1.0"

# Athena: queries with their cost, tables, partitions, the query library.
from gdnb.athena import (  # noqa: E402
    AthenaSession,
    QueryResult,
    QueryStats,
    Session,
    compare_scans,
    ensure_workgroup,
    plan_workgroup,
)
from gdnb.partitions import msck_repair, sync_partitions  # noqa: E402
from gdnb.queries import describe, list_queries, render  # noqa: E402
from gdnb.tables import create_tables, plan_tables, render_ddl  # noqa: E402

__all__ += ["AthenaSession", "QueryResult", "QueryStats", "Session", "compare_scans", "create_tables", "describe",
            "ensure_workgroup", "list_queries", "msck_repair", "plan_tables", "plan_workgroup", "render",
            "render_ddl", "sync_partitions"]
from gdnb.athena import ScanComparison, summarize_scans  # noqa: E402
from gdnb.queries import resource_timeline  # noqa: E402
from gdnb.setup import record_results  # noqa: E402

__all__ += ["ScanComparison", "record_results", "resource_timeline", "summarize_scans"]
