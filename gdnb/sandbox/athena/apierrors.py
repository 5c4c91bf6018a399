"""The errors the Athena API answers with, shaped as Athena sends them on the wire."""

from __future__ import annotations

from typing import Any


class AthenaApiError(Exception):
    """A request the Athena API refuses (HTTP 400 unless said otherwise).

    Parameters
    ----------
    message
        The ``Message`` of the error body.
    error_type
        The ``__type``: ``InvalidRequestException``, ``MetadataException``,
        ``InternalServerException`` (HTTP 500) ...
    code
        Athena's ``AthenaErrorCode`` (sent twice, as ``AthenaErrorCode`` and ``ErrorCode``, as
        Athena does), or None for error types that carry none.
    """

    def __init__(self, message: str, error_type: str = "InvalidRequestException",
                 code: str | None = "INVALID_INPUT") -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type
        self.code = code if error_type == "InvalidRequestException" else None

    @property
    def status(self) -> int:
        return 500 if self.error_type == "InternalServerException" else 400

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"__type": self.error_type}
        if self.code:
            body["AthenaErrorCode"] = self.code
            body["ErrorCode"] = self.code
        body["Message"] = self.message
        return body


def invalid(message: str, code: str = "INVALID_INPUT") -> AthenaApiError:
    """An ``InvalidRequestException``."""
    return AthenaApiError(message, "InvalidRequestException", code)


def validation(member: str, constraint: str, value: Any = None) -> AthenaApiError:
    """AWS's framework validation error, e.g. for ``MaxResults`` out of range."""
    shown = "" if value is None else f" '{value}'"
    return invalid(f"1 validation error detected: Value{shown} at '{member}' failed to satisfy constraint: "
                   f"{constraint}")


def execution_not_found(query_execution_id: str) -> AthenaApiError:
    return invalid(f"QueryExecution {query_execution_id} was not found", "QUERY_EXECUTION_NOT_FOUND")


def workgroup_not_found(name: str) -> AthenaApiError:
    return invalid(f"WorkGroup {name} is not found.")
