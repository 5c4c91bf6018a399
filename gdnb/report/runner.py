"""``gdnb report``: run the findings report notebook with papermill and keep it as a notebook and as HTML.

::

    gdnb report -f params/report.sandbox.yaml [-p NAME VALUE ...] [--timeout 900] [--output-dir reports]

The params file is validated first (a bad value stops the run before any kernel starts). The window
is fixed when the run starts (``start``/``end``, or the ``lookback_days`` ending today, UTC) and given
to the notebook, so the notebook, its file names and the HTML all speak of the same days. The
executed notebook goes to ``<output-dir>/<notebook>/<run day UTC>/<notebook>_<start>_<end>.ipynb``
and its HTML copy (no code, charts embedded) beside it, also when a cell fails or the run times
out: the command then exits with 1, and the HTML shows the error. Exit codes: 0 done, 1 the
notebook failed or timed out, 2 invalid parameters.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gdnb.config import FIELDS, load_settings, parse_override
from gdnb.errors import GdnbError
from gdnb.notebooks import LocalKernelManager, notebook_params, notebook_path

log = logging.getLogger(__name__)

DEFAULT_NOTEBOOK = "05_findings_report"
DEFAULT_TIMEOUT = 900
FAILED = 1
INVALID = 2


def parse_value(text: str) -> Any:
    """A ``-p`` value read as YAML, the way params files are read: ``7`` is a number, ``true`` a
    boolean, ``null`` None, ``[a, b]`` a list; dates stay text (``2026-05-01``) until the settings
    check them, so an impossible one (``2026-13-01``) is reported with the setting's name. A value
    that is not valid YAML stays text.

    Examples
    --------
    >>> parse_value("7"), parse_value("null"), parse_value("[us-east-1]"), parse_value("2026-13-01")
    (7, None, ['us-east-1'], '2026-13-01')
    """
    return parse_override(text)


def output_paths(output_dir: str | Path, notebook: str, window: tuple[dt.date, dt.date],
                 run_day: dt.date | None = None) -> tuple[Path, Path]:
    """``(<dir>/<notebook>/<run day>/<notebook>_<start>_<end>.ipynb, the same with .html)``."""
    run_day = run_day or dt.datetime.now(dt.UTC).date()
    stem = f"{notebook}_{window[0].isoformat()}_{window[1].isoformat()}"
    folder = Path(output_dir) / notebook / run_day.isoformat()
    return folder / f"{stem}.ipynb", folder / f"{stem}.html"


class ReportRun:
    """The outcome of one report run: where it is written, and whether it failed and why."""

    def __init__(self, notebook: Path, html: Path | None, error: str | None, seconds: float) -> None:
        self.notebook = notebook
        self.html = html
        self.error = error
        self.seconds = seconds

    @property
    def ok(self) -> bool:
        return self.error is None

    def records(self) -> dict[str, Any]:
        """The records the notebook made (``{}`` when it stopped before them)."""
        from gdnb.record import read_records

        return read_records(self.notebook) if self.notebook.is_file() else {}


def run_report(params_file: str | Path | None, overrides: Mapping[str, Any] | None = None, *,
               notebook: str = DEFAULT_NOTEBOOK, output_dir: str | Path = "reports",
               timeout: int | None = DEFAULT_TIMEOUT, kernel: str = "python3",
               today: dt.date | None = None) -> ReportRun:
    """Run the report notebook and write its executed copy and HTML; never raises for a failing cell.

    Parameters
    ----------
    params_file
        A params YAML file (``params/report.sandbox.yaml``).
    overrides
        Values that win over the file (``-p NAME VALUE``).
    notebook
        The notebook to run (default ``05_findings_report``).
    output_dir
        The root of the reports (default ``reports``).
    timeout
        Seconds one cell may run before the run is stopped (papermill's ``execution_timeout``).
    kernel
        The Jupyter kernel.
    today
        The run day (UTC); default today.

    Raises
    ------
    ConfigError
        Before anything runs, when a parameter is unknown or invalid.
    """
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    from gdnb.report.html import export_html

    started = time.monotonic()
    source = notebook_path(notebook)
    overrides = dict(overrides or {})
    settings = load_settings(params_file, {k: v for k, v in overrides.items() if k in FIELDS})
    today = today or dt.datetime.now(dt.UTC).date()
    window = settings.window(today)
    # The window is fixed here, so the notebook, its file name and a run that crosses midnight agree.
    overrides.update(start=window[0].isoformat(), end=window[1].isoformat())
    parameters = notebook_params(source, params_file, overrides)
    ipynb, html_path = output_paths(output_dir, source.stem, window, today)
    ipynb.parent.mkdir(parents=True, exist_ok=True)
    log.info("running %s for %s .. %s -> %s", source.name, *window, ipynb)
    error: str | None = None
    try:
        papermill.execute_notebook(str(source), str(ipynb), parameters=parameters, kernel_name=kernel,
                                   cwd=str(source.parent), progress_bar=False, log_output=False,
                                   execution_timeout=timeout, kernel_manager_class=LocalKernelManager)
    except PapermillExecutionError as exc:
        error = f"cell {exc.exec_count} failed: {exc.ename}: {exc.evalue}"
    except CellTimeoutError as exc:
        error = f"a cell ran longer than --timeout {timeout} s and was stopped ({str(exc).splitlines()[0]})"
        _mark_timeout(ipynb, timeout)
    except DeadKernelError as exc:
        error = f"the kernel died: {exc}"
    html = None
    if ipynb.is_file():
        title = f"GuardDuty findings {window[0].isoformat()} .. {window[1].isoformat()}"
        html = export_html(ipynb, html_path, title=title)
    elif error is None:  # pragma: no cover - papermill always writes its output first
        error = "papermill wrote no notebook"
    return ReportRun(ipynb, html, error, time.monotonic() - started)


def _mark_timeout(path: Path, timeout: int | None) -> None:
    """Put the timeout into the executed notebook: papermill leaves the stopped cell without saying why."""
    import nbformat

    if not path.is_file():
        return
    nb = nbformat.read(str(path), as_version=4)
    started = [c for c in nb.cells if c.cell_type == "code" and c.get("metadata", {}).get("papermill", {}).get(
        "start_time")]
    if started:  # execution stops at the cell that timed out: the last one that started
        stopped = started[-1]
        stopped.outputs.append(nbformat.v4.new_output(
            "error", ename="CellTimeoutError", evalue=f"stopped after {timeout} s (gdnb report --timeout)",
            traceback=[f"CellTimeoutError: this cell ran longer than {timeout} s and was stopped."]))
        stopped.metadata["papermill"]["status"] = "failed"
        stopped.metadata["papermill"]["exception"] = True
    banner = nbformat.v4.new_markdown_cell(
        f"**The report was stopped:** a cell ran longer than the time allowed ({timeout} s, `--timeout`). "
        "What follows is incomplete.", metadata={"tags": ["gdnb-timeout"]})
    nb.cells.insert(0, banner)
    nbformat.write(nb, str(path))


def summary_line(records: Mapping[str, Any]) -> str:
    """``'412 findings (380 new, 32 updated; Critical 1, High 20, Medium 150, Low 241)'`` from the records."""
    if "findings_total" not in records:
        return ""
    from gdnb.report.summaries import BANDS

    bands = records.get("by_band") or {}  # records come back with sorted keys: put the bands in their order
    band_text = ", ".join(f"{band} {bands[band]}" for band in BANDS if band in bands)
    return (f"{records['findings_total']} findings ({records.get('new', 0)} new, {records.get('updated', 0)} "
            f"updated; {band_text})")


def build_parser() -> argparse.ArgumentParser:
    """The ``gdnb report`` arguments (also used by the lead's ``gdnb`` CLI)."""
    parser = argparse.ArgumentParser(prog="gdnb report", description=(
        "Run the findings report notebook (05_findings_report) with papermill; write the executed notebook "
        "and an HTML copy without code under OUTPUT_DIR/<notebook>/<run day>/."))
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``gdnb report`` options to ``parser`` (a sub-command parser of the CLI)."""
    parser.add_argument("-f", "--params", dest="params", type=Path, required=True,
                        help="params YAML file, e.g. params/report.sandbox.yaml")
    parser.add_argument("-p", "--parameter", dest="parameters", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"), help="override one parameter; VALUE is read as YAML "
                        "(-p lookback_days 30, -p regions '[us-east-1]', -p start 2026-05-01)")
    parser.add_argument("--output-dir", type=Path, default=Path("reports"),
                        help="where reports go (default: reports)")
    parser.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT,
                        help=f"seconds one cell may run before the run is stopped (default {DEFAULT_TIMEOUT})")
    parser.add_argument("--notebook", default=DEFAULT_NOTEBOOK, help=argparse.SUPPRESS)
    parser.add_argument("--kernel", default="python3", help="Jupyter kernel (default python3)")
    return parser


def run_from_args(args: argparse.Namespace) -> int:
    """Run the report for parsed arguments; print where it is; return the exit code."""
    overrides = {name: parse_value(value) for name, value in args.parameters}
    if args.timeout is not None and args.timeout <= 0:
        print("gdnb report: --timeout must be a positive number of seconds (e.g. --timeout 900).", file=sys.stderr)
        return INVALID
    try:
        run = run_report(args.params, overrides, notebook=args.notebook, output_dir=args.output_dir,
                         timeout=args.timeout, kernel=args.kernel)
    except GdnbError as exc:
        print(f"gdnb report: {exc}", file=sys.stderr)
        return INVALID
    line = summary_line(run.records())
    if run.html:
        print(f"report: {run.html.resolve()}")
    print(f"notebook: {run.notebook.resolve()}")
    if line:
        print(line)
    if not run.ok:
        print(f"gdnb report: the report notebook failed: {run.error}", file=sys.stderr)
        print(f"Fix: read the failing cell in {run.html or run.notebook}, correct what it says, and run again.",
              file=sys.stderr)
        return FAILED
    print(f"done in {run.seconds:.1f} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``gdnb report``'s entry point: parse ``argv``, run, return the exit code."""
    args = build_parser().parse_args(argv)
    return run_from_args(args)


if __name__ == "__main__":
    sys.exit(main())
