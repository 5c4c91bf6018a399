"""Values rendered as Athena renders them in its CSV results and ``GetQueryResults``.

NULL is ``None``; booleans ``true``/``false``; doubles as Java prints them (``8.0``, ``1.0E10``);
timestamps with milliseconds (``2026-12-01 10:00:00.123``, ``... UTC`` with time zone); arrays
``[a, b]``; maps and rows ``{k=v}``; varbinary as spaced hex bytes.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid
from typing import Any

import numpy as np


def _java_float_text(shortest: str, value: float) -> str:
    """Java's Double/Float.toString from the shortest round-trip digits."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        d = decimal.Decimal(shortest)
        text = format(d, "f")
        return text if "." in text else text + ".0"
    sign, digits, exponent = decimal.Decimal(shortest).as_tuple()
    digits_text = "".join(map(str, digits)).rstrip("0") or "0"
    exp10 = exponent + len(digits) - 1
    mantissa = digits_text[0] + "." + (digits_text[1:] or "0")
    return f"{'-' if sign else ''}{mantissa}E{exp10}"


def render_double(value: float) -> str:
    """A DOUBLE as Trino prints it."""
    return _java_float_text(repr(float(value)), float(value))


def render_real(value: float) -> str:
    """A REAL (float32) as Trino prints it."""
    f32 = np.float32(value)
    return _java_float_text(str(f32) if np.isfinite(f32) else "0", float(f32))


def _duck_id(t: Any) -> str:
    return "json" if t is not None and str(t) == "JSON" else (t.id if t is not None else "")


def render_value(value: Any, duck_type: Any = None, nested: bool = False) -> str | None:
    """Render one value.

    Parameters
    ----------
    value
        What DuckDB's Python client returned.
    duck_type
        The DuckDB column type (``DuckDBPyType``), when known: it tells REAL from DOUBLE and
        gives the element types of nested values.
    nested
        Inside an array, map or row, NULL prints as ``null``.
    """
    if value is None:
        return "null" if nested else None
    tid = _duck_id(duck_type)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return render_real(value) if tid == "float" else render_double(value)
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
            return f"{value:%Y-%m-%d %H:%M:%S}.{value.microsecond // 1000:03d} UTC"
        return f"{value:%Y-%m-%d %H:%M:%S}.{value.microsecond // 1000:03d}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return f"{value:%H:%M:%S}.{value.microsecond // 1000:03d}"
    if isinstance(value, dt.timedelta):
        sign = "-" if value < dt.timedelta(0) else ""
        value = abs(value)
        hours, rem = divmod(value.seconds, 3600)
        minutes, seconds = divmod(rem, 60)
        return f"{sign}{value.days} {hours:02d}:{minutes:02d}:{seconds:02d}.{value.microseconds // 1000:03d}"
    if isinstance(value, bytes | bytearray | memoryview):
        return " ".join(f"{b:02x}" for b in bytes(value))
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        child = duck_type.child if tid in ("list", "array") else None
        return "[" + ", ".join(_nested(v, child) for v in value) + "]"
    if isinstance(value, dict):
        if tid == "map":
            kt, vt = duck_type.key, duck_type.value
            items = [(_nested(k, kt), _nested(v, vt)) for k, v in value.items()]
        elif tid == "struct":
            types = dict(duck_type.children)
            items = [(str(k), _nested(v, types.get(k))) for k, v in value.items()]
        else:
            items = [(str(k), _nested(v, None)) for k, v in value.items()]
        return "{" + ", ".join(f"{k}={v}" for k, v in items) + "}"
    return str(value)


def _nested(value: Any, duck_type: Any) -> str:
    text = render_value(value, duck_type, nested=True)
    return "null" if text is None else text


def render_rows(rows: list[tuple], types: list[Any]) -> list[tuple[str | None, ...]]:
    """Render every value of a result."""
    return [tuple(render_value(v, t) for v, t in zip(row, types, strict=True)) for row in rows]
