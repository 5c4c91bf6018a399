"""Key results a notebook records, read back from the executed notebook.

``gdnb.record("key_arn", arn)`` displays a small output with the MIME type
``application/vnd.gdnb.record+json`` (and a text line for people); :func:`read_records` collects them
from an executed ``.ipynb``, so tests and schedulers check results without scraping text.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

RECORD_MIME = "application/vnd.gdnb.record+json"

_RECORDS: dict[str, Any] = {}


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # a DataFrame
        return json.loads(value.to_json(orient="records", date_format="iso"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (DataFrames become lists of rows, dates ISO strings)."""
    return json.loads(json.dumps(value, default=_plain))


def record(name: str, value: Any) -> None:
    """Record a key result of the notebook under ``name``.

    In a notebook the record is displayed (and so saved in the executed notebook); anywhere it is also
    kept in this process (:func:`recorded`).
    """
    data = jsonable(value)
    _RECORDS[name] = data
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return
    if get_ipython() is not None:
        from IPython.display import display

        text = json.dumps(data)
        short = text if len(text) <= 200 else text[:197] + "..."
        display({RECORD_MIME: {name: data}, "text/plain": f"recorded {name} = {short}"}, raw=True)


def recorded() -> dict[str, Any]:
    """What this process recorded so far."""
    return dict(_RECORDS)


def read_records(path: str | Path) -> dict[str, Any]:
    """Every record of an executed notebook, ``{name: value}`` (a later record of a name wins)."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    out: dict[str, Any] = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            value = data.get(RECORD_MIME)
            if isinstance(value, str):
                value = json.loads(value)
            if isinstance(value, Mapping):
                out.update(value)
    return out
