"""Trino's JSON path (as ``json_extract`` and ``json_extract_scalar`` accept it) and its DuckDB spelling.

Trino's simple JSON path is ``$`` followed by ``.key``, ``["key"]``, ``['key']``, ``[key]`` or ``[0]``;
wildcards (``[*]``, ``.*``) and filters are not part of it and fail with ``Invalid JSON path``.
"""

from __future__ import annotations

import dataclasses

from gdnb.sandbox.athena.errors import AthenaSqlError


@dataclasses.dataclass(frozen=True)
class Step:
    """One path step: an object key or an array index."""

    key: str | None = None
    index: int | None = None


def _invalid(path: str) -> AthenaSqlError:
    return AthenaSqlError("INVALID_FUNCTION_ARGUMENT", f"Invalid JSON path: '{path}'")


def _dotted_char(c: str) -> bool:
    return c.isalnum() or c in "_-:"


def parse_json_path(path: str) -> list[Step]:
    """Parse a Trino JSON path.

    Raises
    ------
    AthenaSqlError
        ``INVALID_FUNCTION_ARGUMENT`` (``Invalid JSON path: '...'``) as Trino does.
    """
    if not path.startswith("$"):
        raise _invalid(path)
    steps: list[Step] = []
    i = 1
    n = len(path)
    while i < n:
        c = path[i]
        if c == ".":
            j = i + 1
            while j < n and _dotted_char(path[j]):
                j += 1
            if j == i + 1:
                raise _invalid(path)
            steps.append(Step(key=path[i + 1 : j]))
            i = j
        elif c == "[":
            j = i + 1
            if j < n and path[j] in "\"'":
                quote = path[j]
                j += 1
                out = []
                while j < n and path[j] != quote:
                    if path[j] == "\\" and j + 1 < n:
                        j += 1
                    out.append(path[j])
                    j += 1
                if j >= n or j + 1 >= n or path[j + 1] != "]":
                    raise _invalid(path)
                steps.append(Step(key="".join(out)))
                i = j + 2
            else:
                k = j
                while k < n and (path[k].isalnum() or path[k] in "_-"):
                    k += 1
                if k >= n or path[k] != "]" or k == j:
                    raise _invalid(path)
                token = path[j:k]
                steps.append(Step(index=int(token)) if token.isdigit() else Step(key=token))
                i = k + 1
        else:
            raise _invalid(path)
    return steps


def duckdb_path(steps: list[Step]) -> str:
    """The DuckDB JSON path for these steps (keys always quoted)."""
    out = ["$"]
    for step in steps:
        if step.index is not None:
            out.append(f"[{step.index}]")
        else:
            assert step.key is not None
            out.append('."' + step.key.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "".join(out)
