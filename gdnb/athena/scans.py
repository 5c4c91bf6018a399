"""The same question asked of several tables, side by side: rows, bytes scanned, cost, and what pruning saved.

:func:`compare_scans` gives the table; :func:`summarize_scans` wraps it in a :class:`ScanComparison`
that also knows the least the window could have read (``minimum_bytes``), each result's share of the
baseline's bytes, whether the answers agree, and draws the bytes as a chart.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from gdnb.athena.cost import format_bytes
from gdnb.athena.session import QueryResult
from gdnb.errors import QueryError

SCAN_COLUMNS = ["query", "rows", "bytes_scanned", "billed_bytes", "cost_usd", "total_ms", "share_of_baseline",
                "query_id"]


def compare_scans(results: Mapping[str, QueryResult], baseline: str | None = None) -> pd.DataFrame:
    """The stats of several results side by side: rows, bytes scanned and billed, cost, time.

    Parameters
    ----------
    results
        Label -> result, e.g. ``{"gd_logs": full, "gd_findings": pruned}``.
    baseline
        The label the ``share_of_baseline`` column divides by (default: the first).
    """
    labels = list(results)
    base = results[baseline or labels[0]].stats.bytes_scanned if labels else 0
    rows = [{"query": label, "rows": len(r.frame), "bytes_scanned": r.stats.bytes_scanned,
             "billed_bytes": r.stats.billed_bytes, "cost_usd": r.stats.cost_usd, "total_ms": r.stats.total_ms,
             "share_of_baseline": (r.stats.bytes_scanned / base) if base else None, "query_id": r.stats.query_id}
            for label, r in results.items()]
    return pd.DataFrame(rows, columns=SCAN_COLUMNS)


def _ratio(numerator: int, denominator: int | None) -> float | None:
    return numerator / denominator if denominator else None


@dataclasses.dataclass
class ScanComparison:
    """Several results of the same question, compared: see :func:`summarize_scans`."""

    results: dict[str, QueryResult]
    baseline: str
    minimum_bytes: int | None = None

    def bytes_scanned(self, label: str) -> int:
        """The bytes the query labelled ``label`` scanned."""
        if label not in self.results:
            raise QueryError(f"No result labelled {label!r} in this comparison.",
                             f"use one of: {', '.join(self.results)}.")
        return self.results[label].stats.bytes_scanned

    def share(self, label: str) -> float | None:
        """``label``'s bytes scanned divided by the baseline's (None when the baseline read nothing)."""
        return _ratio(self.bytes_scanned(label), self.bytes_scanned(self.baseline))

    def ratio_to_minimum(self, label: str) -> float | None:
        """``label``'s bytes scanned divided by ``minimum_bytes`` (1.0: it read exactly the window)."""
        return _ratio(self.bytes_scanned(label), self.minimum_bytes)

    def same_answer(self, labels: Sequence[str] | None = None) -> bool:
        """True when the results labelled ``labels`` (default: all but the baseline) have the same rows."""
        chosen = list(labels) if labels is not None else [k for k in self.results if k != self.baseline]
        for label in chosen:
            self.bytes_scanned(label)  # an unknown label is an error, not a difference
        frames = [self.results[k].frame.reset_index(drop=True) for k in chosen]
        return all(frame.equals(frames[0]) for frame in frames[1:])

    @property
    def frame(self) -> pd.DataFrame:
        """One row per result: rows, bytes scanned and billed, cost, time, share of the baseline and of the minimum."""
        out = compare_scans(self.results, self.baseline)
        out["ratio_to_minimum"] = [self.ratio_to_minimum(label) for label in self.results]
        return out

    def records(self) -> dict[str, Any]:
        """What a notebook records: the table, the minimum, each share and ratio, and whether the answers agree."""
        return {"table": self.frame, "baseline": self.baseline, "minimum_bytes": self.minimum_bytes,
                "share_of_baseline": {label: self.share(label) for label in self.results},
                "ratio_to_minimum": {label: self.ratio_to_minimum(label) for label in self.results},
                "same_answer": self.same_answer()}

    def summary(self) -> str:
        """One line per result: bytes scanned, share of the baseline, ratio to the minimum."""
        lines = []
        for label in self.results:
            share, ratio = self.share(label), self.ratio_to_minimum(label)
            lines.append(f"{label}: scanned {format_bytes(self.bytes_scanned(label))}"
                         + (f", {share:.1%} of {self.baseline}" if share is not None and label != self.baseline else "")
                         + (f", {ratio:.2f} x the window's objects" if ratio is not None else ""))
        others = [k for k in self.results if k != self.baseline]
        if len(others) > 1:
            lines.append(f"same answer from {', '.join(others)}: {self.same_answer()}")
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> Any:
        """Bytes scanned per result (MiB), with the window's minimum as a line; returns the matplotlib Axes."""
        from gdnb.queries.charts import plot_scans

        return plot_scans(self.frame, self.minimum_bytes, ax=ax)

    def __repr__(self) -> str:
        return f"{self.summary()}\n{self.frame!r}"

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{html.escape(line)}</li>" for line in self.summary().splitlines())
        return f"<ul>{items}</ul>" + self.frame.to_html(index=False)


def summarize_scans(results: Mapping[str, QueryResult], *, baseline: str | None = None,
                    minimum_bytes: int | None = None) -> ScanComparison:
    """Compare the same question asked of several tables.

    Parameters
    ----------
    results
        Label -> result, e.g. ``{"gd_logs": full, "gd_findings": pruned, "gd_findings_projected": projected}``.
    baseline
        The label the shares divide by (default: the first), usually the unpartitioned table.
    minimum_bytes
        The least a query over the window can read (``gdnb.partitions.partition_bytes`` of the
        window's partitions): ``ratio_to_minimum`` 1.0 means pruning read exactly the window.

    Raises
    ------
    QueryError
        When there are no results or ``baseline`` is not one of their labels.
    """
    if not results:
        raise QueryError("There is nothing to compare.", "pass {label: result, ...} with at least one result.")
    baseline = baseline or next(iter(results))
    if baseline not in results:
        raise QueryError(f"The baseline {baseline!r} is not one of the results.", f"use one of: {', '.join(results)}.")
    return ScanComparison(results=dict(results), baseline=baseline, minimum_bytes=minimum_bytes)
