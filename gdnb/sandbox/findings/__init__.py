"""Realistic GuardDuty findings for the sandbox: the finding types, the resources they are about, the bodies.

``catalog`` reads ``finding_types.tsv`` (the 221 types, active and retired); ``world`` holds the
deterministic instances, keys, buckets and outside actors of an account and region; ``builder``
makes finding objects in the S3 export form (bare camelCase JSON) from a ``random.Random``.
"""

from __future__ import annotations

from gdnb.sandbox.findings.builder import FindingFactory, Hints, Timing, finding_id, iso_ms
from gdnb.sandbox.findings.catalog import FindingType, finding_types, severity_band, types_by_name

__all__ = ["FindingFactory", "FindingType", "Hints", "Timing", "finding_id", "finding_types", "iso_ms",
           "severity_band", "types_by_name"]
