"""CreateSampleFindings: one sample finding per requested type, created or (when it exists) updated.

As on the service, generating samples again updates the detector's existing sample finding of each
type (same id, ``service.count`` + 1, later ``updatedAt``/``eventLastSeen``) instead of adding another.
Bodies are deterministic per detector and type; only the times come from the clock.
"""

from __future__ import annotations

import random
import time
import zlib
from typing import Any

from gdnb.sandbox.findings.builder import FindingFactory, Timing, finding_id, iso_ms, iso_s
from gdnb.sandbox.findings.catalog import finding_types, types_by_name
from gdnb.sandbox.guardduty.store import DetectorState
from gdnb.sandbox.guardduty.wire import BadRequest


def requested_types(finding_types_param: Any) -> list[str]:
    """The finding types to generate: the request's (validated, in order, without repeats) or every type."""
    if finding_types_param in (None, []):
        return [t.name for t in finding_types()]
    if not isinstance(finding_types_param, list):
        raise BadRequest("The request is rejected because findingTypes must be a list of finding types.")
    known = types_by_name()
    out: list[str] = []
    for name in finding_types_param:
        if name not in known:
            raise BadRequest(f"The request is rejected because '{name}' is not a valid finding type. Use a type "
                             "from the GuardDuty finding types list, e.g. Recon:EC2/PortProbeUnprotectedPort.")
        if name not in out:
            out.append(name)
    return out


def create_sample_findings(det: DetectorState, type_names: list[str], now_ms: int | None = None
                           ) -> list[dict[str, Any]]:
    """Create or update the detector's sample findings of ``type_names``; return them (new versions)."""
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    factory = FindingFactory(zlib.crc32(det.detector_id.encode()), det.account_id, det.region, det.detector_id)
    known = types_by_name()
    out = []
    for name in type_names:
        existing_id = det.sample_ids.get(name)
        existing = det.findings.get(existing_id) if existing_id else None
        if existing is not None:
            service = {**existing["service"], "count": existing["service"]["count"] + 1,
                       "eventLastSeen": iso_s(now)}
            updated = {**existing, "service": service, "updatedAt": iso_ms(now)}
            det.findings[existing_id] = updated
            out.append(updated)
            continue
        rng = random.Random(f"{det.detector_id}/{name}")
        fid = finding_id(rng)
        first_seen = now - rng.randint(60_000, 2 * 3_600_000)
        finding = factory.build(known[name], rng, fid, Timing(now, now, first_seen, now), count=1, sample=True)
        det.findings[fid] = finding
        det.sample_ids[name] = fid
        out.append(finding)
    return out
