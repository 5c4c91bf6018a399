"""The modules whose ``install(gateway)`` adds gdnb's extensions and control routes to the gateway."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gdnb.sandbox.server import Gateway

INSTALLER_MODULES: tuple[str, ...] = (
    "gdnb.sandbox.s3_policy",            # bucket policies evaluated with the request's context
    "gdnb.sandbox.guardduty.extension",  # publishing destinations, sample findings, the export, seeding
    "gdnb.sandbox.athena.api",           # the Athena API over the local engine
)


def installers() -> list[Callable[[Gateway], None]]:
    return [importlib.import_module(name).install for name in INSTALLER_MODULES]
