"""One resource's story: every exported version of the findings about it (``get_resource_timeline``)."""

from __future__ import annotations

from typing import Any


def resource_timeline(session: Any, resource_id: str = "", *, fallback: Any = None, column: str = "instance_id",
                      **params: Any) -> Any:
    """Run ``get_resource_timeline`` for ``resource_id``, or for the first ``column`` of ``fallback``.

    Parameters
    ----------
    session
        The :class:`gdnb.athena.Session` to run in (its window and regions apply).
    resource_id
        An instance id, access key id, IAM user, bucket, EKS cluster or Lambda function name;
        empty: take it from ``fallback``.
    fallback
        A result (e.g. the DNS exfiltration findings) whose first row names the resource.
    column
        The column of ``fallback`` that holds the resource id.
    **params
        More parameters of the query (``start``, ``end``, ``regions``...).

    Returns
    -------
    QueryResult
        No rows when neither names a resource.
    """
    chosen = resource_id or (fallback.first(column) if fallback is not None else "")
    return session.run("get_resource_timeline", resource_id=str(chosen or ""), **params)
