"""The list of installers that add gdnb's extensions and control routes to the gateway."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gdnb.sandbox.server import Gateway

INSTALLERS: list[Callable[[Gateway], None]] = []
