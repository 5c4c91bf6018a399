"""The sandbox: one WSGI gateway on one port in front of moto's server application.

Requests are routed by their headers and path, never by their body:

* ``/_gdnb/...``: the sandbox's own control routes (health, seeding);
* requests an :class:`Extension` claims (local Athena, the GuardDuty operations moto lacks);
* everything else goes to moto (S3, KMS, STS, Glue, IAM, GuardDuty detectors).

Extensions and moto share one process, so extensions reach moto's backends directly.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from gdnb.sandbox.requestinfo import RequestInfo

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
ControlHandler = Callable[[dict[str, Any]], tuple[int, Any]]

DEFAULT_ACCOUNT_ID = "123456789012"


class Extension(Protocol):
    """A part of AWS that gdnb serves itself instead of moto."""

    def handles(self, info: RequestInfo) -> bool:
        """Whether this request is for the extension."""

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Serve the request (WSGI)."""

    def reset(self) -> None:
        """Forget all state (called with moto's ``/moto-api/reset``)."""


class Gateway:
    """The sandbox's WSGI application.

    Parameters
    ----------
    data_dir
        Where the sandbox keeps its files (seeding manifests, the query cache, logs).
    """

    def __init__(self, data_dir: Path) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.account_id = os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID)
        self.moto_app: WSGIApp = DomainDispatcherApplication(create_backend_app)
        self.extensions: list[Extension] = []
        self.control: dict[tuple[str, str], ControlHandler] = {
            ("GET", "/_gdnb/health"): self._health,
        }
        self._lock = threading.Lock()

    # -- registration ----------------------------------------------------------------------
    def add_extension(self, extension: Extension) -> None:
        self.extensions.append(extension)

    def add_control(self, method: str, path: str, handler: ControlHandler) -> None:
        """Serve ``method path`` (under ``/_gdnb/``) with ``handler(json_body) -> (status, json)``."""
        self.control[(method, path)] = handler

    # -- WSGI --------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        info = RequestInfo.from_environ(environ)
        if info.path.startswith("/_gdnb/"):
            return self._serve_control(environ, start_response, info)
        if info.path == "/moto-api/reset" and info.method == "POST":
            for ext in self.extensions:
                ext.reset()
        for ext in self.extensions:
            if ext.handles(info):
                return ext(environ, start_response)
        return self.moto_app(environ, start_response)

    def _serve_control(self, environ: dict[str, Any], start_response: StartResponse,
                       info: RequestInfo) -> Iterable[bytes]:
        handler = self.control.get((info.method, info.path))
        if handler is None:
            return _json_response(start_response, 404, {"error": f"no control route {info.method} {info.path}"})
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
            status, payload = handler(body)
        except Exception as exc:  # the caller gets the reason; the sandbox keeps running
            log.exception("control route %s failed", info.path)
            status, payload = 400, {"error": str(exc), "type": type(exc).__name__}
        return _json_response(start_response, status, payload)

    def _health(self, _body: dict[str, Any]) -> tuple[int, Any]:
        return 200, {"status": "ok", "pid": os.getpid(), "data_dir": str(self.data_dir),
                     "account_id": self.account_id, "extensions": [type(e).__name__ for e in self.extensions]}


def _json_response(start_response: StartResponse, status: int, payload: Any) -> list[bytes]:
    body = json.dumps(payload, default=str).encode()
    reason = {200: "OK", 201: "Created", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}
    start_response(f"{status} {reason.get(status, 'OK')}",
                   [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def build_gateway(data_dir: Path) -> Gateway:
    """The gateway with every gdnb extension installed."""
    gateway = Gateway(data_dir)
    for install in _installers():
        install(gateway)
    return gateway


def _installers() -> list[Callable[[Gateway], None]]:
    # Each subsystem installs its own extensions and control routes; imported lazily so a
    # failure in one names itself at start-up.
    from gdnb.sandbox import extensions

    return extensions.installers()
