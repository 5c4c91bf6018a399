"""GuardDuty detectors: one per exporting region, found or created, never disabled.

The key and bucket policies name each exporting detector's exact ARN, so the detectors come first.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from gdnb.config import Settings
from gdnb.errors import SetupError
from gdnb.setup.calls import AwsCalls
from gdnb.setup.common import CREATED_BY_TAG, CREATED_BY_VALUE, Where
from gdnb.setup.plan import CREATE, NOOP, Context, Plan
from gdnb.setup.policies import detector_arn

NEW = "(new)"


@dataclasses.dataclass(frozen=True)
class DetectorInfo:
    """A region's detector, as GuardDuty describes it."""

    region: str
    detector_id: str
    status: str
    frequency: str
    tags: dict[str, str]
    planned: bool = False  # a stand-in for the detector 00_kms_key would create (dry runs only)

    @property
    def created_by_gdnb(self) -> bool:
        return self.tags.get(CREATED_BY_TAG) == CREATED_BY_VALUE


def find_detector(calls: AwsCalls, region: str) -> DetectorInfo | None:
    """The region's detector (GuardDuty allows one per account and region), or None."""
    ids = calls.pages("guardduty", region, "list_detectors", "DetectorIds", f"GuardDuty in {region}")
    if not ids:
        return None
    detector_id = sorted(ids)[0] if len(ids) > 1 else ids[0]
    d = calls.call("guardduty", region, "get_detector", f"detector {detector_id} in {region}", DetectorId=detector_id)
    return DetectorInfo(region, detector_id, d.get("Status", "ENABLED"), d.get("FindingPublishingFrequency", ""),
                        dict(d.get("Tags") or {}))


def find_detectors(calls: AwsCalls, settings: Settings) -> dict[str, DetectorInfo | None]:
    return {r: find_detector(calls, r) for r in settings.exporting_regions}


def detector_arns(context: Context, where: Where) -> list[str]:
    """The exporting detectors' ARNs from a plan's outputs or apply context (``(new)`` until created)."""
    ids: dict[str, str] = context["detector_ids"]
    return sorted(detector_arn(where.partition, r, where.account, ids.get(r, NEW)) for r in context["regions"])


def require_detectors(calls: AwsCalls, settings: Settings) -> dict[str, DetectorInfo]:
    """Every exporting region's detector; a clear error naming the regions that have none.

    Raises
    ------
    SetupError
        When a region has no detector yet (notebook 00 creates them, with the key policy that names them).
    """
    found = find_detectors(calls, settings)
    missing = [r for r, d in found.items() if d is None]
    if missing:
        raise SetupError(
            f"GuardDuty has no detector in {', '.join(missing)}. The key and bucket policies name each exporting "
            "detector's ARN, so the detectors are created first, by notebook 00_kms_key.",
            "run 00_kms_key with the same params (apply: true), then this step again; to read this step's plan "
            "before that, run it with apply: false.",
        )
    return {r: d for r, d in found.items() if d is not None}


def detectors_for_plan(calls: AwsCalls, settings: Settings) -> dict[str, DetectorInfo]:
    """Every exporting region's detector; in a dry run, the ones 00_kms_key would create stand in for the missing.

    A stand-in's id is ``(new)``, as in 00_kms_key's own plan.

    Raises
    ------
    SetupError
        With ``apply: true`` when a region has no detector yet.
    """
    if settings.apply:
        return require_detectors(calls, settings)
    return {r: d or DetectorInfo(r, NEW, "planned", settings.publishing_frequency,
                                 {**settings.tags, CREATED_BY_TAG: CREATED_BY_VALUE}, planned=True)
            for r, d in find_detectors(calls, settings).items()}


def plan_detectors(plan: Plan, calls: AwsCalls, settings: Settings, where: Where) -> None:
    """Add a found (no-op) or create action per exporting region; fill ``plan.outputs['detector_ids']``."""
    ids: dict[str, str] = plan.outputs.setdefault("detector_ids", {})
    plan.outputs.setdefault("regions", list(settings.exporting_regions))
    for region, det in find_detectors(calls, settings).items():
        if det is not None:
            ids[region] = det.detector_id
            note = f"{det.status}, updates published every {det.frequency}"
            if det.status != "ENABLED":
                note += "; it is off, so it finds nothing to export: turn it on in the GuardDuty console"
            plan.add("detector", detector_arn(where.partition, region, where.account, det.detector_id), NOOP, note,
                     region)
            continue
        plan.add("detector", detector_arn(where.partition, region, where.account, NEW), CREATE,
                 f"turn GuardDuty on in {region} (first 30 days free, then billed by volume analysed), "
                 f"publishing every {settings.publishing_frequency}", region,
                 run=_create_detector(calls, settings, region))


def _create_detector(calls: AwsCalls, settings: Settings, region: str):
    def run(ctx: Context) -> None:
        tags: dict[str, Any] = {**settings.tags, CREATED_BY_TAG: CREATED_BY_VALUE}
        out = calls.call("guardduty", region, "create_detector", f"GuardDuty in {region}", Enable=True,
                         FindingPublishingFrequency=settings.publishing_frequency, Tags=tags)
        ctx["detector_ids"][region] = out["DetectorId"]
    return run
