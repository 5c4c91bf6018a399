"""The export itself: per exporting region, the detector's publishing frequency, its publishing destination
(the bucket and prefix, with the key), and sample findings; and what arrived in the bucket.

GuardDuty exports a new finding within about 5 minutes and updates to existing findings at the
detector's finding publishing frequency (gdnb sets ``FIFTEEN_MINUTES``; the service default is
``SIX_HOURS``). Objects land under ``[prefix/]AWSLogs/<account>/GuardDuty/<region>/YYYY/MM/DD/``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

from gdnb.config import Settings
from gdnb.errors import SetupError
from gdnb.setup.bucket import check_same_region, find_bucket, planned_note
from gdnb.setup.calls import AwsCalls
from gdnb.setup.common import preflight, resolve_account
from gdnb.setup.detectors import DetectorInfo, detectors_for_plan
from gdnb.setup.key import KeyInfo, current_key_policy, key_for_plan
from gdnb.setup.plan import CREATE, NOOP, UPDATE, Context, Plan
from gdnb.setup.policies import (
    BUCKET_SIDS,
    KEY_GUARDDUTY_SID,
    destination_arn,
    detector_arn,
    owned_statements,
    parse_policy,
    source_arns,
)

log = logging.getLogger(__name__)

FINDINGS_PAGE = 50  # GetFindings takes at most 50 ids, ListFindings returns at most 50 per page
SAMPLE_CRITERION = {"service.additionalInfo.sample": {"Eq": ["true"]}}


@dataclasses.dataclass(frozen=True)
class DestinationInfo:
    """A detector's S3 publishing destination."""

    destination_id: str
    destination_arn: str
    kms_key_arn: str
    status: str


def same_destination(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def find_destinations(calls: AwsCalls, region: str, detector_id: str) -> list[DestinationInfo]:
    """The detector's S3 publishing destinations (GuardDuty allows one)."""
    found = calls.pages("guardduty", region, "list_publishing_destinations", "Destinations",
                        f"detector {detector_id} in {region}", DetectorId=detector_id)
    out = []
    for d in found:
        if d.get("DestinationType", "S3") != "S3":
            continue
        full = calls.call("guardduty", region, "describe_publishing_destination", d["DestinationId"],
                          DetectorId=detector_id, DestinationId=d["DestinationId"])
        props = full.get("DestinationProperties", {})
        out.append(DestinationInfo(d["DestinationId"], props.get("DestinationArn", ""), props.get("KmsKeyArn", ""),
                                   full.get("Status", d.get("Status", ""))))
    return out


def sample_finding_types(calls: AwsCalls, region: str, detector_id: str,
                         types: tuple[str, ...] | None = None) -> dict[str, int]:
    """The sample findings the detector holds: ``{type: count}`` (only ``types`` when given)."""
    resource = f"detector {detector_id} in {region}"
    ids: list[str] = []
    chunks = [types[i:i + FINDINGS_PAGE] for i in range(0, len(types), FINDINGS_PAGE)] if types else [None]
    for chunk in chunks:
        criterion: dict[str, Any] = dict(SAMPLE_CRITERION)
        if chunk:
            criterion["type"] = {"Eq": list(chunk)}
        ids += calls.pages("guardduty", region, "list_findings", "FindingIds", resource, DetectorId=detector_id,
                           FindingCriteria={"Criterion": criterion}, MaxResults=FINDINGS_PAGE)
    counts: dict[str, int] = {}
    if not types:  # "all": the number is enough, no need to read every finding
        return {"*": len(ids)} if ids else {}
    for i in range(0, len(ids), FINDINGS_PAGE):
        got = calls.call("guardduty", region, "get_findings", resource, DetectorId=detector_id,
                         FindingIds=ids[i:i + FINDINGS_PAGE])
        for f in got.get("Findings", []):
            counts[f["Type"]] = counts.get(f["Type"], 0) + 1
    return counts


def plan_export(settings: Settings, calls: AwsCalls | None = None) -> Plan:
    """Plan each exporting region's frequency, publishing destination and sample findings.

    Parameters
    ----------
    settings
        Uses ``export_regions``, ``home_region``, ``bucket``, ``prefix``, ``kms_alias``,
        ``publishing_frequency``, ``sample_findings``, ``account_id`` (checked when set), ``apply``.
    calls
        The AWS clients to use (default: from the settings' profile).

    Returns
    -------
    Plan
        ``outputs`` hold ``destination_arn``, ``key_arn`` and ``destination_ids`` by region (after apply).
        In a dry run before notebook 00 was applied, the plan names the key and detectors 00 would create.

    Raises
    ------
    ConfigError
        When an exporting region may not export to the home region (opt-in rules), before any call.
    SetupError
        With ``apply: true``, when a detector is missing (notebook 00 makes them) or when the key or
        bucket policy does not yet let every exporting detector in.
    NotFoundError
        With ``apply: true``, when the key is missing (notebook 00 makes it).
    """
    preflight(settings)
    calls = calls or AwsCalls(settings)
    where = resolve_account(calls, settings)
    key = key_for_plan(calls, settings, where)
    detectors = detectors_for_plan(calls, settings)
    dest_arn = destination_arn(where.partition, settings.bucket, settings.prefix)
    plan = Plan(f"Export to {dest_arn}{planned_note(key, detectors)}", settings,
                outputs={"account": where.account, "partition": where.partition, "destination_arn": dest_arn,
                         "key_arn": key.arn, "bucket": settings.bucket, "destination_ids": {},
                         "detector_ids": {r: d.detector_id for r, d in detectors.items()}})
    bucket = find_bucket(calls, settings, where)
    if bucket is not None:
        check_same_region(bucket, key)
    arns = {detector_arn(where.partition, r, where.account, d.detector_id) for r, d in detectors.items()}
    problems = _policy_gaps(calls, settings, key, bucket is not None, arns)
    if problems and settings.apply:
        raise SetupError("GuardDuty could not export yet: " + "; ".join(problems) + ".",
                         "run 00_kms_key and the bucket step of 01_bucket_and_export (apply: true) with the same "
                         "params first.")
    waiting = ("; waits for: " + "; ".join(problems)) if problems else ""

    for det in detectors.values():
        _plan_frequency(plan, calls, settings, det)
        _plan_destination(plan, calls, det, dest_arn, key.arn, waiting)
        _plan_samples(plan, calls, settings, det)
    return plan


def _policy_gaps(calls: AwsCalls, settings: Settings, key: KeyInfo, bucket_exists: bool, arns: set[str]) -> list[str]:
    """What the key and bucket policies still lack for every exporting detector to write."""
    gaps = []
    if key.planned:
        gaps.append(f"the key {settings.kms_alias} does not exist yet (00_kms_key creates it)")
    statement = None if key.planned else next(
        iter(owned_statements(current_key_policy(calls, key), [KEY_GUARDDUTY_SID])), None)
    if not key.planned and not arns <= source_arns(statement):
        gaps.append(f"the key policy does not yet let GuardDuty use {settings.kms_alias} for "
                    f"{', '.join(sorted(arns - source_arns(statement)))}")
    if not bucket_exists:
        gaps.append(f"the bucket {settings.bucket} does not exist yet")
        return gaps
    out = calls.call("s3", settings.home_region, "get_bucket_policy", settings.bucket, absent=("NoSuchBucketPolicy",),
                     Bucket=settings.bucket)
    ours = {s["Sid"]: s for s in owned_statements(parse_policy(out.get("Policy") if out else None), BUCKET_SIDS)}
    if set(ours) != set(BUCKET_SIDS) or any(not arns <= source_arns(s) for s in ours.values()
                                            if "aws:SourceArn" in str(s.get("Condition", ""))):
        gaps.append(f"the bucket policy of {settings.bucket} does not yet let every exporting detector write")
    return gaps


def _plan_frequency(plan: Plan, calls: AwsCalls, settings: Settings, det: DetectorInfo) -> None:
    arn = detector_arn(plan.outputs.get("partition", "aws"), det.region, plan.outputs["account"], det.detector_id)
    if det.frequency == settings.publishing_frequency:
        made = "00_kms_key creates the detector with it: " if det.planned else ""
        plan.add("publishing frequency", arn, NOOP, f"{made}updates exported every {det.frequency}", det.region)
        return

    def run(ctx: Context) -> None:
        calls.call("guardduty", det.region, "update_detector", arn, DetectorId=det.detector_id,
                   FindingPublishingFrequency=settings.publishing_frequency)

    plan.add("publishing frequency", arn, UPDATE, f"{det.frequency} -> {settings.publishing_frequency}", det.region,
             run=run)


# GuardDuty's status for a destination it can no longer write to (a policy or the key changed).
FAILING_STATUS = "UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY"


def _plan_destination(plan: Plan, calls: AwsCalls, det: DetectorInfo, dest_arn: str, key_arn: str,
                      waiting: str) -> None:
    region = det.region
    found = [] if det.planned else find_destinations(calls, region, det.detector_id)
    ids: dict[str, str] = plan.outputs["destination_ids"]
    props = {"DestinationArn": dest_arn, "KmsKeyArn": key_arn}
    if not found:
        def create(ctx: Context) -> None:
            out = calls.call("guardduty", region, "create_publishing_destination", dest_arn,
                             DetectorId=det.detector_id, DestinationType="S3", DestinationProperties=props)
            ctx["destination_ids"][region] = out["DestinationId"]

        plan.add("publishing destination", dest_arn, CREATE, f"encrypted with {key_arn}{waiting}", region, run=create)
        return
    current = found[0]
    ids[region] = current.destination_id
    same = same_destination(current.destination_arn, dest_arn) and current.kms_key_arn == key_arn
    if same and current.status != FAILING_STATUS:
        plan.add("publishing destination", dest_arn, NOOP, f"{current.destination_id}: {current.status}", region)
        return

    def update(ctx: Context) -> None:
        calls.call("guardduty", region, "update_publishing_destination", current.destination_id,
                   DetectorId=det.detector_id, DestinationId=current.destination_id, DestinationProperties=props)

    detail = (f"{current.destination_id} is failing ({FAILING_STATUS}): GuardDuty stopped exporting; sent again "
              "so GuardDuty checks the key and bucket policies anew" if same else
              f"{current.destination_id} exported to {current.destination_arn} with {current.kms_key_arn}")
    plan.add("publishing destination", dest_arn, UPDATE, detail + waiting, region, run=update)


def _plan_samples(plan: Plan, calls: AwsCalls, settings: Settings, det: DetectorInfo) -> None:
    region, wanted = det.region, settings.sample_findings
    resource = f"sample findings of {det.detector_id}"
    if not wanted:
        plan.add("sample findings", resource, NOOP, "none asked for (sample_findings: none)", region)
        return
    if wanted == "all":
        present = 0 if det.planned else sample_finding_types(calls, region, det.detector_id).get("*", 0)
        if present:
            plan.add("sample findings", resource, NOOP, f"{present} sample findings already made", region)
            return
        types: list[str] = []
        detail = "one of every finding type, exported like real ones (marked sample)"
    else:
        present_types = {} if det.planned else sample_finding_types(calls, region, det.detector_id, tuple(wanted))
        types = [t for t in wanted if t not in present_types]
        if not types:
            plan.add("sample findings", resource, NOOP, f"all {len(wanted)} types already made", region)
            return
        detail = f"{len(types)} type(s): {', '.join(types[:5])}{' ...' if len(types) > 5 else ''}"

    def run(ctx: Context) -> None:
        params: dict[str, Any] = {"DetectorId": det.detector_id}
        if types:
            params["FindingTypes"] = types
        calls.call("guardduty", region, "create_sample_findings", resource, **params)

    plan.add("sample findings", resource, CREATE, detail, region, run=run)


# -- what arrived ------------------------------------------------------------------------------------

def export_root(settings: Settings, account: str) -> str:
    """``[prefix/]AWSLogs/<account>/GuardDuty/``: where the export's objects live."""
    prefix = f"{settings.prefix}/" if settings.prefix else ""
    return f"{prefix}AWSLogs/{account}/GuardDuty/"


def export_prefixes(settings: Settings, account: str) -> list[str]:
    """``[prefix/]AWSLogs/<account>/GuardDuty/<region>/`` for every exporting region: the export's objects."""
    root = export_root(settings, account)
    return [f"{root}{r}/" for r in settings.exporting_regions]


def list_exported_objects(settings: Settings, *, wait: bool = False, timeout: float = 360.0,
                          poll: float = 5.0, calls: AwsCalls | None = None):
    """The exported objects in the bucket, one row each: region, day, key, size, last modified.

    Parameters
    ----------
    settings
        Uses ``bucket``, ``prefix``, ``home_region``, ``exporting_regions``, ``sample_findings``, ``apply``.
    wait
        Poll until every exporting region has at least one object, or ``timeout`` seconds pass; only
        when the settings apply and sample findings were asked for (GuardDuty exports new findings
        within about 5 minutes).
    """
    import pandas as pd

    calls = calls or AwsCalls(settings)
    where = resolve_account(calls, settings)
    root = export_root(settings, where.account)
    deadline = time.monotonic() + (timeout if wait and settings.apply and settings.sample_findings else 0)
    while True:
        # No bucket yet (a dry run before it is created): nothing arrived.
        items = calls.pages("s3", settings.home_region, "list_objects_v2", "Contents", f"s3://{settings.bucket}/{root}",
                            absent=("NoSuchBucket",), Bucket=settings.bucket, Prefix=root)
        rows = []
        for item in items:
            rest = item["Key"][len(root):].split("/")
            if len(rest) < 5 or not rest[-1]:
                continue  # not <region>/YYYY/MM/DD/<object>
            rows.append({"region": rest[0], "day": "-".join(rest[1:4]), "key": item["Key"], "size": item["Size"],
                         "last_modified": item["LastModified"]})
        have = {r["region"] for r in rows}
        if set(settings.exporting_regions) <= have or time.monotonic() >= deadline:
            return pd.DataFrame(rows, columns=["region", "day", "key", "size", "last_modified"])
        log.info("waiting for exports from %s", ", ".join(sorted(set(settings.exporting_regions) - have)))
        time.sleep(poll)
