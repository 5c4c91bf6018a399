"""gdnb: a notebook kit for Amazon GuardDuty findings exported to S3 and queried with Athena."""

from __future__ import annotations

from gdnb.config import Settings, load_settings, settings_from_namespace
from gdnb.errors import GdnbError

__all__ = ["GdnbError", "Settings", "load_settings", "settings_from_namespace"]
__version__ = "0.1.0"
