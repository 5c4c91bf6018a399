"""The values passed between the engine's parts: what a query reads and what it returns."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

StatementType = Literal["DDL", "DML", "UTILITY"]


@dataclasses.dataclass(frozen=True)
class ObjectRef:
    """One object a table reference reads, with the partition values it belongs to."""

    bucket: str
    key: str
    size: int
    etag: str
    partition: tuple[tuple[str, str], ...] = ()


@dataclasses.dataclass(frozen=True)
class TableScan:
    """A table as a query reads it: its Glue definition and the objects left after pruning.

    ``table`` has the shape of a Glue ``Table`` (``StorageDescriptor`` with ``Columns``,
    ``Location``, ``SerdeInfo``; ``PartitionKeys``; ``Parameters``). ``objects`` is the union of
    what every reference to the table needs; partition columns are filled from ``partition``.
    """

    database: str
    name: str
    table: dict[str, Any]
    objects: tuple[ObjectRef, ...]


@dataclasses.dataclass(frozen=True)
class Column:
    """A result column: lower-case name and Athena type name (``varchar``, ``bigint``, ``row(...)``)."""

    name: str
    type: str


@dataclasses.dataclass
class QueryOutcome:
    """What a finished query produced.

    ``rows`` hold values rendered as Athena renders them in its CSV results and in
    ``GetQueryResults`` (None for NULL). For DDL and utility statements ``rows`` are the lines
    of the ``.txt`` output (one column), possibly none.
    """

    statement_type: StatementType
    columns: list[Column]
    rows: list[tuple[str | None, ...]]
    data_scanned_bytes: int = 0
