"""The scheduled findings report: summaries (pandas), charts (matplotlib), the notebook run, the HTML copy.

In notebook ``05_findings_report``::

    session = gdnb.Session(cfg)
    ready = gdnb.report.prepare(session)            # gd_findings and the window's partitions
    report = gdnb.report.build(session, preparation=ready)
    report.headline()
    gdnb.report.charts.severity_over_time(report.by_day)

From a shell or a scheduler: ``gdnb report -f params/report.sandbox.yaml`` (:mod:`gdnb.report.runner`).
"""

from __future__ import annotations

from gdnb.report import charts, summaries
from gdnb.report.build import FindingsReport, Preparation, build, prepare, record
from gdnb.report.charts import SEVERITY_COLORS, Chart
from gdnb.report.html import export_html
from gdnb.report.summaries import BANDS, Headline

__all__ = ["BANDS", "SEVERITY_COLORS", "Chart", "FindingsReport", "Headline", "Preparation", "build", "charts",
           "export_html", "prepare", "record", "summaries"]
