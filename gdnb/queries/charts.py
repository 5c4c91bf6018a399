"""Charts for library query results, drawn as the catalog's ``chart`` entry says.

Kinds: ``barh``/``bar`` (``y`` summed per ``x``, or rows counted when ``y`` is null; the
``top`` largest), ``stacked`` (bars of several ``y`` columns per ``x``) and ``timeline``
(``y`` against the time in ``x``, one marker per row, labelled by ``label``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from gdnb.errors import QueryError


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
                         f"plot one of: {', '.join(map(str, frame.columns))}.")


def plot_frame(frame: pd.DataFrame, spec: Mapping[str, Any], ax: Any = None) -> Any:
    """Draw ``frame`` as ``spec`` says; return the matplotlib Axes.

    An empty frame gives an empty chart that says so, rather than an error: "nothing found"
    is a result.
    """
    kind = spec.get("kind", "barh")
    x, y = spec.get("x"), spec.get("y")
    title = spec.get("title", "")
    ax = _axes(ax)
    ax.set_title(title)
    if frame.empty:
        ax.text(0.5, 0.5, "no findings in the window", ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
        return ax
    if kind in ("barh", "bar"):
        _need(frame, [x] + ([y] if y else []))
        keys = frame[x].fillna("(none)").astype(str)
        if y:
            values = pd.to_numeric(frame[y], errors="coerce").fillna(0).groupby(keys).sum()
            label = y
        else:
            values = keys.value_counts()
            label = "rows"
        if kind == "barh":
            values = values.sort_values(ascending=False).head(int(spec.get("top", 10))).iloc[::-1]
            ax.barh(values.index, values.values)
            ax.set_xlabel(label)
        else:
            ax.bar(values.index, values.values)
            ax.set_ylabel(label)
        return ax
    if kind == "stacked":
        columns = list(y or [])
        _need(frame, [x, *columns])
        data = frame.set_index(x)[columns].apply(pd.to_numeric, errors="coerce").fillna(0)
        data.plot(kind="bar", stacked=True, ax=ax, title=title)
        ax.set_xlabel(x)
        return ax
    if kind == "timeline":
        label = spec.get("label")
        _need(frame, [x, y] + ([label] if label else []))
        times = pd.to_datetime(frame[x], utc=True, errors="coerce")
        values = pd.to_numeric(frame[y], errors="coerce")
        groups = frame[label].astype(str) if label else pd.Series(["rows"] * len(frame), index=frame.index)
        for name, idx in groups.groupby(groups).groups.items():
            ax.plot(times[idx], values[idx], marker="o", linestyle="-", label=name)
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.legend(fontsize="small")
        return ax
    raise QueryError(f"Unknown chart kind {kind!r}.", "use barh, bar, stacked or timeline.")
