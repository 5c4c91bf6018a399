"""Charts for library query results, drawn as the catalog's ``chart`` entry says.

Kinds: ``barh``/``bar`` (``y`` summed per ``x``, or rows counted when ``y`` is null; the
``top`` largest), ``stacked`` (bars of several ``y`` columns per ``x``) and ``timeline``
(``y`` against the time in ``x``, one marker per row, labelled by ``label``).

Every chart has a title and both axes labelled (``xlabel``/``ylabel`` in the spec, else the
column names). Severity bands (``Critical``... as values, or ``critical``... as columns) take
the report's colours, :data:`gdnb.report.charts.SEVERITY_COLORS`, so a band has one colour
everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from gdnb.errors import QueryError
from gdnb.queries.catalog import CHART_KINDS as KINDS
from gdnb.report.charts import SEVERITY_COLORS

DEFAULT_COLOR = "#5B6770"


def _axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _fig, new_ax = plt.subplots(figsize=(8, 4))
    return new_ax


def _need(frame: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise QueryError(f"The chart needs the column(s) {', '.join(missing)}, which the result does not have.",
                         f"plot one of: {', '.join(map(str, frame.columns))} (Athena returns names in lower case).")


def band_color(name: Any) -> str | None:
    """The severity palette's colour for a band name in any case (``'high'``, ``'High'``), else None."""
    return SEVERITY_COLORS.get(str(name).strip().capitalize())


def chart_columns(spec: Mapping[str, Any]) -> list[str]:
    """The result columns a chart spec draws (``x``, ``y`` or each of a list ``y``, ``label``)."""
    y = spec.get("y")
    ys = list(y) if isinstance(y, list | tuple) else ([y] if y else [])
    return [c for c in [spec.get("x"), *ys, spec.get("label")] if c]


def plot_frame(frame: pd.DataFrame, spec: Mapping[str, Any], ax: Any = None) -> Any:
    """Draw ``frame`` as ``spec`` says; return the matplotlib Axes.

    The columns are checked first, with or without rows. An empty frame then gives an empty
    chart that says so, rather than an error: "nothing found" is a result.

    Raises
    ------
    QueryError
        When the result lacks a column the chart draws, or the kind is unknown.
    """
    kind = spec.get("kind", "barh")
    if kind not in KINDS:
        raise QueryError(f"Unknown chart kind {kind!r}.", f"use one of: {', '.join(KINDS)}.")
    x, y = spec.get("x"), spec.get("y")
    _need(frame, chart_columns(spec))
    ax = _axes(ax)
    ax.set_title(spec.get("title") or "query result")
    if frame.empty:
        ax.text(0.5, 0.5, "no findings in the window", ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
        _labels(ax, spec, *_default_labels(kind, x, y))
        return ax
    if kind in ("barh", "bar"):
        _bars(ax, frame, spec, kind, x, y)
    elif kind == "stacked":
        _stacked(ax, frame, spec, x, list(y or []))
    else:
        _timeline(ax, frame, spec, x, y)
    return ax


def _default_labels(kind: str, x: str, y: Any) -> tuple[str, str]:
    """(x axis, y axis) labels from the columns: bars put the count on the value axis."""
    value = y if isinstance(y, str) else ("rows" if not y else "count")
    if kind == "barh":
        return value, x
    return x, value


def _labels(ax: Any, spec: Mapping[str, Any], xlabel: str, ylabel: str) -> None:
    ax.set_xlabel(spec.get("xlabel") or xlabel)
    ax.set_ylabel(spec.get("ylabel") or ylabel)


def _bars(ax: Any, frame: pd.DataFrame, spec: Mapping[str, Any], kind: str, x: str, y: str | None) -> None:
    keys = frame[x].fillna("(none)").astype(str)
    if y:
        values = pd.to_numeric(frame[y], errors="coerce").fillna(0).groupby(keys, sort=False).sum()
    else:
        values = keys.value_counts(sort=False)
    if kind == "barh":  # the largest at the top
        values = values.sort_values(ascending=False).head(int(spec.get("top", 10))).iloc[::-1]
    colors = [band_color(k) or DEFAULT_COLOR for k in values.index]
    draw = ax.barh if kind == "barh" else ax.bar
    draw(values.index, values.values, color=colors)
    _labels(ax, spec, *_default_labels(kind, x, y))


def _stacked(ax: Any, frame: pd.DataFrame, spec: Mapping[str, Any], x: str, columns: list[str]) -> None:
    data = frame.set_index(x)[columns].apply(pd.to_numeric, errors="coerce").fillna(0)
    positions = range(len(data))
    bottom = pd.Series(0.0, index=data.index)
    for column in columns:  # the first column at the bottom
        ax.bar(positions, data[column], bottom=bottom, label=column.capitalize(), width=0.8,
               color=band_color(column) or None)
        bottom = bottom + data[column]
    labels = [str(v) for v in data.index]
    ax.set_xticks(list(positions), labels, rotation=45 if len(labels) > 7 else 0, ha="right" if len(labels) > 7
                  else "center", fontsize=8)
    handles, names = ax.get_legend_handles_labels()
    # Top to bottom like the stack, outside the axes so that it never hides a bar.
    ax.legend(handles[::-1], names[::-1], fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
              frameon=False)
    _labels(ax, spec, *_default_labels("stacked", x, None))


def _timeline(ax: Any, frame: pd.DataFrame, spec: Mapping[str, Any], x: str, y: str) -> None:
    label = spec.get("label")
    times = pd.to_datetime(frame[x], utc=True, errors="coerce")
    values = pd.to_numeric(frame[y], errors="coerce")
    groups = frame[label].astype(str) if label else pd.Series(["rows"] * len(frame), index=frame.index)
    for name, idx in groups.groupby(groups).groups.items():
        ax.plot(times[idx], values[idx], marker="o", linestyle="-", label=name)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    _labels(ax, spec, x, y)


def plot_scans(frame: pd.DataFrame, minimum_bytes: int | None = None, ax: Any = None,
               title: str = "Bytes scanned, same question") -> Any:
    """Bytes scanned per query of a scan comparison (MiB), with the window's minimum as a dashed line.

    Parameters
    ----------
    frame
        :attr:`gdnb.athena.ScanComparison.frame` (``query`` and ``bytes_scanned`` columns).
    minimum_bytes
        The least a query over the window can read; drawn when given.
    """
    _need(frame, ["query", "bytes_scanned"])
    ax = _axes(ax)
    mib = pd.to_numeric(frame["bytes_scanned"], errors="coerce").fillna(0) / 2**20
    labels = [str(q) for q in frame["query"]][::-1]
    ax.barh(labels, list(mib)[::-1], color=DEFAULT_COLOR)
    if minimum_bytes:
        ax.axvline(minimum_bytes / 2**20, color="#A50F15", linestyle="--", label="the window's objects (minimum)")
        ax.legend(fontsize="small")
    ax.set_title(title)
    ax.set_xlabel("MiB scanned")
    ax.set_ylabel("table queried")
    return ax
