"""Run the walkthrough notebooks headlessly with papermill, as a scheduler or the tests do.

The params file is validated first (a bad value fails before any kernel starts, let alone an AWS call);
papermill then gets only the parameters the notebook declares in its ``parameters`` cell, and the
executed copy (outputs and records) is kept under ``reports/``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from jupyter_client.manager import AsyncKernelManager

from gdnb.config import FIELDS, load_settings
from gdnb.errors import ConfigError, GdnbError


class LocalKernelManager(AsyncKernelManager):
    """Kernels reached over IPC sockets: a notebook run by gdnb stays on this machine, and its kernel has no
    reason to warn about unencrypted TCP."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.transport = "ipc"

log = logging.getLogger(__name__)

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"


class NotebookError(GdnbError):
    """A notebook stopped with an error; the executed copy shows where."""

    def __init__(self, name: str, output_path: Path, ename: str, evalue: str) -> None:
        self.output_path = output_path
        self.ename = ename
        self.evalue = evalue
        super().__init__(f"Notebook {name} failed: {ename}: {evalue}",
                         f"read the failing cell in {output_path}, correct what it says, and run again.")


def notebook_path(name: str | Path) -> Path:
    """The notebook called ``name`` (``00_kms_key``, ``00_kms_key.ipynb`` or a path)."""
    p = Path(name)
    if p.suffix != ".ipynb":
        p = p.with_suffix(".ipynb")
    if p.is_file():
        return p.resolve()
    candidate = NOTEBOOK_DIR / p.name
    if candidate.is_file():
        return candidate
    known = ", ".join(sorted(q.stem for q in NOTEBOOK_DIR.glob("*.ipynb")))
    raise GdnbError(f"No notebook {name!r} (looked in {NOTEBOOK_DIR}).", f"use one of: {known}.")


def notebook_parameters(name: str | Path) -> dict[str, dict[str, Any]]:
    """The parameters a notebook declares: ``{name: {"inferred_type_name", "default", "help"}}``."""
    import papermill

    return dict(papermill.inspect_notebook(str(notebook_path(name))))


def _papermill_value(value: Any) -> Any:
    # papermill writes values as Python literals; dates and tuples become what load_settings accepts.
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_papermill_value(v) for v in value]
    if isinstance(value, list):
        return [_papermill_value(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _papermill_value(v) for k, v in value.items()}
    return value


def notebook_params(name: str | Path, params_file: str | Path | None = None,
                    overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The parameters papermill gets: the params file and ``overrides``, validated, cut to what the notebook declares.

    Raises
    ------
    ConfigError
        When a setting is unknown or invalid, or an override is neither a setting nor a parameter of
        the notebook.
    """
    declared = notebook_parameters(name)
    overrides = dict(overrides or {})
    stray = [k for k in overrides if k not in FIELDS and k not in declared]
    if stray:
        raise ConfigError(stray[0], overrides[stray[0]], f"neither a gdnb setting nor a parameter of {name}",
                          ", ".join(declared) or "bucket")
    load_settings(params_file, {k: v for k, v in overrides.items() if k in FIELDS})  # validate everything first
    raw: dict[str, Any] = {}
    if params_file is not None:
        raw = yaml.safe_load(Path(params_file).read_text()) or {}
    raw.update(overrides)
    return {k: _papermill_value(v) for k, v in raw.items() if k in declared}


def run_notebook(name: str | Path, params_file: str | Path | None = None, overrides: Mapping[str, Any] | None = None,
                 output_dir: str | Path = "reports", kernel: str = "python3", *,
                 execution_timeout: int | None = 900) -> Path:
    """Run a notebook with papermill; return the path of the executed copy.

    Parameters
    ----------
    name
        ``00_kms_key`` (looked up in ``notebooks/``) or a path to a notebook.
    params_file
        A params YAML file such as ``params/sandbox.yaml``.
    overrides
        Values that win over the file.
    output_dir
        Where the executed copy goes (``<output_dir>/<name>.ipynb``).
    kernel
        The Jupyter kernel to run it with.
    execution_timeout
        Seconds one cell may run.

    Raises
    ------
    ConfigError
        Before anything runs, when the parameters are invalid.
    NotebookError
        When a cell fails (the executed copy is written all the same).
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    source = notebook_path(name)
    parameters = notebook_params(source, params_file, overrides)
    out_dir = Path(output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    output = (out_dir / source.name).resolve()
    log.info("running %s -> %s", source.name, output)
    try:
        papermill.execute_notebook(str(source), str(output), parameters=parameters, kernel_name=kernel,
                                   cwd=str(source.parent), progress_bar=False, log_output=False,
                                   execution_timeout=execution_timeout, kernel_manager_class=LocalKernelManager)
    except PapermillExecutionError as exc:
        raise NotebookError(source.stem, output, exc.ename, exc.evalue) from exc
    return output
