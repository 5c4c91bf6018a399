"""The findings report's charts, drawn with matplotlib, readable at a glance.

Every chart has a title and labelled axes, and severity bands always have the colours of
:data:`SEVERITY_COLORS`. Charts are :class:`Chart` objects: a notebook shows them as a PNG image
(so an HTML export embeds them as ``data:image/png;base64`` images), and ``chart.figure`` is the
matplotlib Figure. They are drawn without pyplot, so nothing else pops up in a notebook and no
display is needed. An empty frame gives a chart that says there was nothing to draw.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from gdnb.report.summaries import BANDS, BANDS_ASCENDING

# One palette for every chart of the report (and the headline's boxes): GuardDuty's bands.
SEVERITY_COLORS: dict[str, str] = {
    "Low": "#6BAED6",       # blue
    "Medium": "#F2B233",    # amber
    "High": "#E8590C",      # orange
    "Critical": "#A50F15",  # dark red
}
NEW_COLOR = "#2B8CBE"
RECURRING_COLOR = "#9E9E9E"
QUERY_COLOR = "#5B6770"
WIDTH = 9.0
DPI = 100


def text_color_on(background: str) -> str:
    """Black or white, whichever reads better on ``background`` (``#RRGGBB``)."""
    r, g, b = (int(background[i:i + 2], 16) for i in (1, 3, 5))
    return "#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#FFFFFF"


class Chart:
    """A matplotlib figure that a notebook displays as a PNG image.

    Parameters
    ----------
    figure
        The drawn figure.
    title
        What the chart shows (also its text representation).
    """

    def __init__(self, figure: Figure, title: str) -> None:
        self.figure = figure
        self.title = title

    def png(self) -> bytes:
        """The chart as PNG bytes."""
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
        return buffer.getvalue()

    def _repr_png_(self) -> tuple[bytes, dict[str, str]]:
        # (data, metadata): the title becomes the image's alternative text in the HTML report.
        return self.png(), {"alt": self.title}

    def save(self, path: Any) -> None:
        """Write the chart as a PNG file."""
        self.figure.savefig(path, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")

    def __repr__(self) -> str:
        return f"<chart: {self.title}>"


def _figure(height: float) -> tuple[Figure, Any]:
    figure = Figure(figsize=(WIDTH, height), dpi=DPI, layout="constrained")
    return figure, figure.add_subplot()


def _empty(title: str, message: str) -> Chart:
    figure, ax = _figure(2.2)
    ax.set_title(title, loc="left", fontweight="bold")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=13, color="#555555", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    return Chart(figure, f"{title}: {message}")


def _tidy(ax: Any, horizontal: bool) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x" if horizontal else "y", color="#DDDDDD", linewidth=0.8)
    ax.set_axisbelow(True)


def _height_for(rows: int) -> float:
    return max(2.4, min(9.0, 0.9 + 0.38 * rows))


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _stacked_barh(frame: pd.DataFrame, labels: Sequence[str], bands: Sequence[str], title: str, xlabel: str,
                  ylabel: str, legend: str | None = "severity") -> Chart:
    """Horizontal bars stacked by severity band, the first row of ``frame`` at the top."""
    figure, ax = _figure(_height_for(len(frame)))
    positions = list(range(len(frame)))[::-1]
    left = pd.Series(0.0, index=frame.index)
    for band in bands:
        values = pd.to_numeric(frame[band], errors="coerce").fillna(0)
        if values.sum() == 0:
            continue
        ax.barh(positions, values, left=left, color=SEVERITY_COLORS[band], label=band, height=0.7)
        left = left + values
    ax.set_yticks(positions, [_shorten(str(label)) for label in labels], fontsize=9)
    for position, total in zip(positions, left, strict=True):
        ax.text(total, position, f" {int(total)}", va="center", fontsize=9)
    ax.set_xlim(0, max(float(left.max()), 1.0) * 1.1)
    ax.set_title(title, loc="left", fontweight="bold")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend:
        _legend(ax, legend)
    _tidy(ax, horizontal=True)
    return Chart(figure, title)


def _legend(ax: Any, title: str = "severity") -> None:
    """The legend outside the axes on the right (never over a bar), most severe band first."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    order = sorted(range(len(labels)), key=lambda i: BANDS.index(labels[i]) if labels[i] in BANDS else 99)
    ax.legend([handles[i] for i in order], [labels[i] for i in order], title=title, fontsize=8, title_fontsize=8,
              loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


# -- the report's charts --------------------------------------------------------------------------

def severity_over_time(by_day: pd.DataFrame, title: str = "Findings per day, by severity") -> Chart:
    """Stacked bars: the findings active each day (created or updated), Low at the bottom, Critical on top.

    Parameters
    ----------
    by_day
        From :func:`gdnb.report.summaries.by_day`: indexed by day, one column per band.
    """
    if by_day.empty or by_day[list(BANDS_ASCENDING)].to_numpy().sum() == 0:
        return _empty(title, "No findings in the window")
    figure, ax = _figure(3.8)
    days = [str(d) for d in by_day.index]
    positions = range(len(days))
    bottom = pd.Series(0.0, index=by_day.index)
    for band in BANDS_ASCENDING:
        values = pd.to_numeric(by_day[band], errors="coerce").fillna(0)
        ax.bar(positions, values, bottom=bottom, color=SEVERITY_COLORS[band], label=band, width=0.8)
        bottom = bottom + values
    step = max(1, len(days) // 14)
    ax.set_xticks(list(positions)[::step], [d[5:] for d in days][::step], rotation=45 if len(days) > 10 else 0,
                  fontsize=9)
    ax.set_title(title, loc="left", fontweight="bold")
    ax.set_xlabel(f"day (UTC, {days[0][:4]}, month-day)")
    ax.set_ylabel("findings")
    _legend(ax)
    _tidy(ax, horizontal=False)
    return Chart(figure, title)


def severity_bands(by_band: Mapping[str, int], title: str = "Findings by severity band") -> Chart:
    """One bar per band (Critical first), in the band's colour, with its count."""
    if sum(by_band.values()) == 0:
        return _empty(title, "No findings in the window")
    frame = pd.DataFrame([{band: (by_band.get(band, 0) if band == row else 0) for band in BANDS} for row in BANDS])
    return _stacked_barh(frame, list(BANDS), BANDS_ASCENDING, title, "findings", "severity band", legend=None)


def top_types(types: pd.DataFrame, title: str = "Top finding types") -> Chart:
    """Horizontal bars per finding type, stacked by band (from :func:`gdnb.report.summaries.top_types`)."""
    if types.empty:
        return _empty(title, "No findings in the window")
    return _stacked_barh(types, list(types["type"]), BANDS_ASCENDING, title, "findings", "finding type")


def top_resources(resources: pd.DataFrame, title: str = "Top affected resources") -> Chart:
    """One bar per resource, coloured by the band of its most severe finding."""
    if resources.empty:
        return _empty(title, "No resource named by a finding in the window")
    frame = pd.DataFrame({band: resources["findings"].where(resources["severity_band"] == band, 0) for band in BANDS})
    labels = [f"{kind}: {name}" for kind, name in zip(resources["resource_kind"], resources["resource"], strict=True)]
    return _stacked_barh(frame, labels, BANDS_ASCENDING, title, "findings naming the resource", "resource",
                         legend="most severe")


def new_vs_recurring(recurrence: pd.DataFrame, title: str = "New since the previous window, or recurring") -> Chart:
    """Per type: findings new since the previous window against those seen in it too."""
    if recurrence.empty or int(pd.to_numeric(recurrence["findings"]).sum()) == 0:
        return _empty(title, "No findings in the window")
    frame = recurrence[pd.to_numeric(recurrence["findings"]) > 0]
    figure, ax = _figure(_height_for(len(frame)))
    positions = list(range(len(frame)))[::-1]
    new = pd.to_numeric(frame["new_since_previous"]).to_numpy()
    recurring = pd.to_numeric(frame["recurring"]).to_numpy()
    ax.barh(positions, new, color=NEW_COLOR, label="new since the previous window", height=0.7)
    ax.barh(positions, recurring, left=new, color=RECURRING_COLOR, label="recurring (also in the previous window)",
            height=0.7)
    ax.set_yticks(positions, [_shorten(str(t)) for t in frame["type"]], fontsize=9)
    for position, total in zip(positions, new + recurring, strict=True):
        ax.text(total, position, f" {int(total)}", va="center", fontsize=9)
    ax.set_xlim(0, max(float((new + recurring).max()), 1.0) * 1.1)
    ax.set_title(title, loc="left", fontweight="bold")
    ax.set_xlabel("findings")
    ax.set_ylabel("finding type")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    _tidy(ax, horizontal=True)
    return Chart(figure, title)


def exfiltration(summary: pd.DataFrame, title: str = "Exfiltration findings, by family") -> Chart:
    """One bar per exfiltration family, stacked by band (from :func:`gdnb.report.summaries.exfiltration_summary`)."""
    if summary.empty or int(pd.to_numeric(summary["findings"]).sum()) == 0:
        return _empty(title, "No exfiltration finding in the window")
    return _stacked_barh(summary, list(summary["family"]), BANDS_ASCENDING, title, "findings", "family")


def query_costs(costs: pd.DataFrame, title: str = "Bytes scanned per query") -> Chart:
    """Bytes each query scanned (MiB), from :func:`gdnb.report.summaries.query_costs` (the total row left out)."""
    rows = costs[costs["name"] != "total"] if "name" in costs else costs
    rows = rows[pd.to_numeric(rows["bytes_scanned"], errors="coerce").fillna(0) > 0]
    if rows.empty:
        return _empty(title, "No query scanned any data")
    figure, ax = _figure(_height_for(len(rows)))
    positions = list(range(len(rows)))[::-1]
    mib = pd.to_numeric(rows["bytes_scanned"]).to_numpy() / 2**20
    ax.barh(positions, mib, color=QUERY_COLOR, height=0.7)
    ax.set_yticks(positions, [_shorten(str(n), 45) for n in rows["name"]], fontsize=9)
    for position, value, cost in zip(positions, mib, rows["cost_usd"], strict=True):
        ax.text(value, position, f" {value:.2f} MiB, ${float(cost):.6f}", va="center", fontsize=8)
    ax.set_xlim(0, max(float(mib.max()), 0.01) * 1.45)
    ax.set_title(title, loc="left", fontweight="bold")
    ax.set_xlabel("MiB scanned (Athena bills at least 10 MB per query)")
    ax.set_ylabel("query")
    _tidy(ax, horizontal=True)
    return Chart(figure, title)
