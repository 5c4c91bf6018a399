"""GuardDuty's REST-JSON wire format: JSON bodies, the service's error shape, the API form of a finding."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from gdnb.sandbox.server import StartResponse

UNKNOWN_DETECTOR = "The request is rejected because the input detectorId is not owned by the current account."


class BadRequest(Exception):
    """A request GuardDuty refuses: HTTP 400, ``X-Amzn-ErrorType: BadRequestException``.

    The body carries ``__type`` (the service's internal code, ``InvalidInputException``) and ``message``,
    as the service sends them; botocore reports the error code ``BadRequestException``.
    """

    def __init__(self, message: str, internal_type: str = "InvalidInputException") -> None:
        super().__init__(message)
        self.message = message
        self.internal_type = internal_type


def respond(start_response: StartResponse, status: int, payload: Any,
            headers: Iterable[tuple[str, str]] = ()) -> list[bytes]:
    """A JSON response."""
    body = orjson.dumps(payload)
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}.get(status, "OK")
    start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                                          *headers])
    return [body]


def respond_error(start_response: StartResponse, error: BadRequest) -> list[bytes]:
    """The service's 400 answer for ``error``."""
    return respond(start_response, 400, {"message": error.message, "__type": error.internal_type},
                   headers=[("X-Amzn-ErrorType", "BadRequestException")])


def api_form(finding: dict[str, Any]) -> dict[str, Any]:
    """A finding as GetFindings sends it: the export's camelCase object with ``service.additionalInfo``
    wrapped as ``{"value": <JSON text>, "type": "default"}`` (the only member whose wire shape differs).

    boto3 maps the camelCase wire names to its PascalCase members (``Type``, ``Resource.InstanceDetails``).
    """
    service = finding.get("service")
    if not isinstance(service, dict):
        return finding
    info = service.get("additionalInfo") or {}
    wrapped = {"value": json.dumps(info, separators=(",", ":")), "type": "default"}
    return {**finding, "service": {**service, "additionalInfo": wrapped}}
