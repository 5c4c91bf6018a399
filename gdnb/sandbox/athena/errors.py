"""Athena's kinds of query failure, as the engine raises them."""

from __future__ import annotations


class AthenaSqlError(Exception):
    """A query failed the way Athena reports failures.

    Parameters
    ----------
    kind
        Athena's error name: ``SYNTAX_ERROR``, ``TABLE_NOT_FOUND``, ``COLUMN_NOT_FOUND``,
        ``SCHEMA_NOT_FOUND``, ``ALREADY_EXISTS``, ``HIVE_CURSOR_ERROR``, ``NOT_SUPPORTED``,
        ``INVALID_FUNCTION_ARGUMENT``, ``INVALID_CAST_ARGUMENT``, ``TYPE_MISMATCH``,
        ``BYTES_SCANNED_LIMIT_EXCEEDED``, ``INVALID_TABLE_PROPERTY``, ``GENERIC_INTERNAL_ERROR`` ...
    message
        What went wrong, in Athena's words where they are known.
    line, column
        1-based position in the query text, where it applies.
    """

    def __init__(self, kind: str, message: str, line: int | None = None, column: int | None = None) -> None:
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        """The ``StateChangeReason`` Athena would give, e.g. ``SYNTAX_ERROR: line 1:8: ...``."""
        where = f"line {self.line}:{self.column}: " if self.line is not None else ""
        return f"{self.kind}: {where}{self.message}"


class QueryCancelled(Exception):
    """The query was stopped (StopQueryExecution) while it ran."""
