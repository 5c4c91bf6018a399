"""What the gateway needs to know about a request before routing it: service, region, target."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

_CREDENTIAL_RE = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")


@dataclasses.dataclass(frozen=True)
class RequestInfo:
    """The routing facts of one request, read from its headers and path (never its body)."""

    method: str
    path: str
    service: str | None
    region: str | None
    access_key: str | None
    target: str | None

    @classmethod
    def from_environ(cls, environ: dict[str, Any]) -> RequestInfo:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        match = _CREDENTIAL_RE.search(auth)
        return cls(
            method=environ.get("REQUEST_METHOD", "GET"),
            path=environ.get("PATH_INFO", "/"),
            service=match.group(4) if match else None,
            region=match.group(3) if match else None,
            access_key=match.group(1) if match else None,
            target=environ.get("HTTP_X_AMZ_TARGET"),
        )
