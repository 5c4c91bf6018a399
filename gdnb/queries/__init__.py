"""SQL in ``.sql`` files: the DDL templates (``ddl/``) and the query library (``library/``)."""

from __future__ import annotations

from typing import Any

from gdnb.queries.catalog import describe, families, get_query, list_queries, prepare, render
from gdnb.queries.timeline import resource_timeline

__all__ = ["describe", "families", "get_query", "list_queries", "prepare", "render", "resource_timeline", "run"]


def run(name: str, /, *, session: Any, **params: Any) -> Any:
    """Run the library query ``name`` in ``session`` (the same as ``session.run(name, **params)``)."""
    return session.run(name, **params)
