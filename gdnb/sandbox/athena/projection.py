"""Partition projection: the partitions Athena computes from table properties instead of Glue.

With ``projection.enabled=true`` Athena ignores the registered partitions and enumerates each
partition column from ``projection.<col>.*`` (types ``enum``, ``integer``, ``date``, ``injected``).
Locations come from ``storage.location.template`` (``${col}`` placeholders) or, without it, from
the Hive layout ``<table location>/col=value/``. Dates are computed in UTC.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime
import re
from collections.abc import Mapping, Sequence
from typing import Any

from gdnb.sandbox.athena.errors import AthenaSqlError
from gdnb.sandbox.athena.partitions import default_partition_location, partition_keys

# Athena queries read at most this many partitions (Athena service quotas).
MAX_PARTITIONS = 1_000_000

_NOW = re.compile(
    r"^\s*NOW\s*(?:([+-])\s*([0-9]+)\s*(YEARS?|MONTHS?|WEEKS?|DAYS?|HOURS?|MINUTES?|SECONDS?)\s*)?$", re.IGNORECASE
)
_UNITS = ("YEARS", "MONTHS", "WEEKS", "DAYS", "HOURS", "MINUTES", "SECONDS", "MILLISECONDS")


def _fail(column: str, detail: str) -> AthenaSqlError:
    return AthenaSqlError("INVALID_TABLE_PROPERTY", f"Column projection for column '{column}' failed. {detail}")


def enabled(table: Mapping[str, Any]) -> bool:
    """Whether the table has ``projection.enabled=true``."""
    params = table.get("Parameters") or {}
    return str(params.get("projection.enabled", "")).strip().lower() == "true"


# ---------------------------------------------------------------------------------------------
# Java DateTimeFormatter patterns
# ---------------------------------------------------------------------------------------------

_FIELDS = {"y": "year", "u": "year", "M": "month", "d": "day", "H": "hour", "m": "minute", "s": "second",
           "S": "fraction"}
_UNIT_OF_FIELD = {"fraction": "MILLISECONDS", "second": "SECONDS", "minute": "MINUTES", "hour": "HOURS",
                  "day": "DAYS", "month": "MONTHS", "year": "YEARS"}
_MONTHS = [calendar.month_abbr[i] for i in range(1, 13)]
_MONTHS_FULL = [calendar.month_name[i] for i in range(1, 13)]


@dataclasses.dataclass(frozen=True)
class JavaDateFormat:
    """A Java ``DateTimeFormatter`` pattern such as ``yyyy/MM/dd``, for formatting and parsing."""

    pattern: str
    tokens: tuple[tuple[str, Any], ...]

    @classmethod
    def compile(cls, pattern: str, column: str) -> JavaDateFormat:
        """Split ``pattern`` into fields and literals (quoted text ``'T'`` and symbols)."""
        tokens: list[tuple[str, Any]] = []
        i = 0
        while i < len(pattern):
            c = pattern[i]
            if c == "'":
                end = pattern.find("'", i + 1)
                if end < 0:
                    raise _fail(column, f"Unterminated quote in date format '{pattern}'")
                text = pattern[i + 1 : end] or "'"
                tokens.append(("lit", text))
                i = end + 1
            elif c.isalpha():
                j = i
                while j < len(pattern) and pattern[j] == c:
                    j += 1
                if c not in _FIELDS:
                    raise _fail(column, f"Unsupported letter '{c}' in date format '{pattern}'")
                tokens.append((c, j - i))
                i = j
            else:
                tokens.append(("lit", c))
                i += 1
        return cls(pattern, tuple(tokens))

    @property
    def finest_unit(self) -> str:
        """The smallest ``ChronoUnit`` the pattern shows (``DAYS`` for ``yyyy/MM/dd``)."""
        order = ["fraction", "second", "minute", "hour", "day", "month", "year"]
        present = {_FIELDS[t] for t, _ in self.tokens if t != "lit"}
        for field in order:
            if field in present:
                return _UNIT_OF_FIELD[field]
        return "DAYS"

    def format(self, when: datetime.datetime) -> str:
        """Render ``when`` with the pattern."""
        out: list[str] = []
        for kind, arg in self.tokens:
            if kind == "lit":
                out.append(arg)
                continue
            field = _FIELDS[kind]
            if field == "fraction":
                digits = f"{when.microsecond:06d}"
                out.append(digits[:arg].ljust(arg, "0"))
                continue
            value = getattr(when, field)
            if field == "month" and arg >= 3:
                out.append((_MONTHS_FULL if arg >= 4 else _MONTHS)[value - 1])
            elif field == "year" and arg == 2:
                out.append(f"{value % 100:02d}")
            else:
                out.append(str(value).zfill(arg))
        return "".join(out)

    def parse(self, text: str) -> datetime.datetime:
        """Read a value written with the pattern (ValueError when it does not match)."""
        regex: list[str] = []
        fields: list[tuple[str, int]] = []
        for kind, arg in self.tokens:
            if kind == "lit":
                regex.append(re.escape(arg))
                continue
            field = _FIELDS[kind]
            if field == "month" and arg >= 3:
                names = _MONTHS_FULL if arg >= 4 else _MONTHS
                regex.append("(" + "|".join(names) + ")")
            elif arg == 1:
                regex.append(r"(\d+)")
            else:
                regex.append(rf"(\d{{{arg}}})")
            fields.append((field, arg))
        m = re.fullmatch("".join(regex), text)
        if not m:
            raise ValueError(f"'{text}' does not match '{self.pattern}'")
        parts = {"year": 1970, "month": 1, "day": 1, "hour": 0, "minute": 0, "second": 0, "microsecond": 0}
        for (field, arg), raw in zip(fields, m.groups(), strict=True):
            if field == "month" and arg >= 3:
                names = _MONTHS_FULL if arg >= 4 else _MONTHS
                parts["month"] = names.index(raw) + 1
            elif field == "fraction":
                parts["microsecond"] = int(raw.ljust(6, "0")[:6])
            elif field == "year" and arg == 2:
                parts["year"] = 2000 + int(raw)
            else:
                parts[field] = int(raw)
        return datetime.datetime(**parts)


def _add(when: datetime.datetime, amount: int, unit: str) -> datetime.datetime:
    if unit in ("YEARS", "MONTHS"):
        months = when.month - 1 + amount * (12 if unit == "YEARS" else 1)
        year = when.year + months // 12
        month = months % 12 + 1
        day = min(when.day, calendar.monthrange(year, month)[1])
        return when.replace(year=year, month=month, day=day)
    seconds = {"WEEKS": 604800, "DAYS": 86400, "HOURS": 3600, "MINUTES": 60, "SECONDS": 1}
    if unit == "MILLISECONDS":
        return when + datetime.timedelta(milliseconds=amount)
    return when + datetime.timedelta(seconds=amount * seconds[unit])


def _unit(text: str, column: str) -> str:
    unit = text.strip().upper()
    if not unit.endswith("S"):
        unit += "S"
    if unit not in _UNITS:
        raise _fail(column, f"Unsupported interval unit '{text}'")
    return unit


# ---------------------------------------------------------------------------------------------
# Column projections
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ColumnProjection:
    """How one partition column is projected."""

    column: str
    type: str  # enum | integer | date | injected
    params: Mapping[str, str]

    def _get(self, name: str, required: bool = True) -> str | None:
        value = self.params.get(f"projection.{self.column}.{name}")
        if value is None and required:
            raise _fail(self.column, f"Missing required property: 'projection.{self.column}.{name}'")
        return value

    def values(self, now: datetime.datetime) -> list[str]:
        """Every value of the column (not for ``injected``, whose value comes from the query)."""
        if self.type == "enum":
            raw = self._get("values") or ""
            return raw.split(",")
        if self.type == "integer":
            return self._integers()
        if self.type == "date":
            return self._dates(now)
        raise _fail(self.column, f"Injected column '{self.column}' has no values of its own")

    def _integers(self) -> list[str]:
        bounds = (self._get("range") or "").split(",")
        interval_text = self._get("interval", required=False)
        digits_text = self._get("digits", required=False)
        try:
            low, high = (int(b.strip()) for b in bounds)
            interval = int(interval_text.strip()) if interval_text else 1
            digits = int(digits_text.strip()) if digits_text else 0
        except ValueError as err:
            raise _fail(self.column, f"Invalid integer range '{','.join(bounds)}'") from err
        if interval <= 0:
            raise _fail(self.column, "Interval must be positive")
        if (high - low) // interval + 1 > MAX_PARTITIONS:
            raise _fail(self.column, f"Range '{','.join(bounds)}' yields more than {MAX_PARTITIONS} values")
        return [str(v).zfill(digits) if v >= 0 else "-" + str(-v).zfill(digits)
                for v in range(low, high + 1, interval)]

    def _dates(self, now: datetime.datetime) -> list[str]:
        fmt = JavaDateFormat.compile(self._get("format") or "", self.column)
        bounds = (self._get("range") or "").split(",")
        if len(bounds) != 2:
            raise _fail(self.column, f"Invalid date range '{','.join(bounds)}'")
        interval_text = self._get("interval", required=False)
        unit_text = self._get("interval.unit", required=False)
        finest = fmt.finest_unit
        if unit_text:
            unit = _unit(unit_text, self.column)
        elif finest in ("DAYS", "MONTHS", "YEARS"):
            unit = finest
        else:
            raise _fail(self.column, f"Missing required property: 'projection.{self.column}.interval.unit'")
        try:
            interval = int(interval_text.strip()) if interval_text else 1
        except ValueError as err:
            raise _fail(self.column, f"Invalid interval '{interval_text}'") from err
        if interval <= 0:
            raise _fail(self.column, "Interval must be positive")
        naive_now = now.astimezone(datetime.UTC).replace(tzinfo=None)
        start, end = (self._bound(b, fmt, naive_now) for b in bounds)
        out: list[str] = []
        step = 0
        current = start
        while current <= end:
            out.append(fmt.format(current))
            if len(out) > MAX_PARTITIONS:
                raise _fail(self.column, f"Range '{','.join(bounds)}' yields more than {MAX_PARTITIONS} values")
            step += 1
            current = _add(start, step * interval, unit)
        return out

    def _bound(self, text: str, fmt: JavaDateFormat, now: datetime.datetime) -> datetime.datetime:
        m = _NOW.match(text)
        if m:
            when = now
            if m.group(1):
                amount = int(m.group(2)) * (1 if m.group(1) == "+" else -1)
                when = _add(when, amount, _unit(m.group(3), self.column))
            # Athena works at the pattern's precision: NOW with yyyy/MM/dd is today at midnight.
            return fmt.parse(fmt.format(when))
        try:
            return fmt.parse(text.strip())
        except ValueError as err:
            raise _fail(self.column, f"Range bound '{text}' does not match format '{fmt.pattern}'") from err


@dataclasses.dataclass(frozen=True)
class TableProjection:
    """The projection of a table's partition columns."""

    database: str
    table: str
    keys: tuple[str, ...]
    columns: Mapping[str, ColumnProjection]
    location: str
    template: str | None

    @property
    def injected(self) -> list[str]:
        """The partition columns whose value the query must give."""
        return [k for k in self.keys if self.columns[k].type == "injected"]

    def location_of(self, values: Sequence[str]) -> str:
        """The S3 location of the partition with these values (in key order)."""
        if self.template:
            out = self.template
            for key, value in zip(self.keys, values, strict=True):
                out = re.sub(r"\$\{" + re.escape(key) + r"\}", lambda _m, v=value: v, out, flags=re.IGNORECASE)
            return out
        return default_partition_location(self.location, self.keys, values)


def table_projection(database: str, table: Mapping[str, Any]) -> TableProjection:
    """Read the ``projection.*`` properties of a projection-enabled table.

    Raises
    ------
    AthenaSqlError
        ``INVALID_TABLE_PROPERTY`` when a partition column has no usable projection type.
    """
    params = {k.lower() if k.lower().startswith("projection.") else k: v
              for k, v in (table.get("Parameters") or {}).items()}
    keys = tuple(partition_keys(dict(table)))
    columns: dict[str, ColumnProjection] = {}
    for key in keys:
        kind = params.get(f"projection.{key}.type")
        if kind is None:
            raise _fail(key, f"Missing required property: 'projection.{key}.type'")
        kind = kind.strip().lower()
        if kind not in ("enum", "integer", "date", "injected"):
            raise _fail(key, f"Unsupported projection type '{kind}'")
        columns[key] = ColumnProjection(key, kind, params)
    location = (table.get("StorageDescriptor") or {}).get("Location") or ""
    template = params.get("storage.location.template")
    return TableProjection(database, table.get("Name", ""), keys, columns, location, template)
