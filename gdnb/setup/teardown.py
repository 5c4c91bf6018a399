"""Undo what gdnb set up, guarded, dry-run unless ``apply: true``.

What goes, in this order:

1. The publishing destinations that export to this bucket (other destinations stay).
2. gdnb's statements of the bucket policy (by Sid; everyone else's stay). The bucket itself and every
   object in it (the findings) only with ``delete_findings: true`` and ``confirm_bucket`` set to the
   bucket's name, typed again.
3. gdnb's GuardDuty statement of the key policy (by Sid). The key is scheduled for deletion (after
   ``key_pending_days``, at least 7) only when gdnb created it (its ``gdnb:created-by`` tag) and the
   findings it encrypts are deleted too: a deleted key makes them unreadable for good. While the findings
   stay, the readers' ``kms:Decrypt`` statement stays with them.

Detectors always stay: GuardDuty is a security control, and deleting a detector also deletes its
findings in GuardDuty. gdnb never disables or deletes one, even one it created (the plan says which).
Sample findings stay in GuardDuty too (they age out after 90 days).
"""

from __future__ import annotations

import logging

from gdnb.config import Settings
from gdnb.errors import ConfigError
from gdnb.setup.bucket import find_bucket
from gdnb.setup.calls import AwsCalls
from gdnb.setup.common import resolve_account
from gdnb.setup.detectors import find_detector
from gdnb.setup.errors import BucketOwnedElsewhereError
from gdnb.setup.export import find_destinations, same_destination
from gdnb.setup.key import KeyInfo, current_key_policy, find_key, key_created_by_gdnb
from gdnb.setup.plan import DELETE, KEEP, NOOP, UPDATE, Context, Plan, policy_action
from gdnb.setup.policies import (
    BUCKET_SIDS,
    KEY_GUARDDUTY_SID,
    KEY_SIDS,
    destination_arn,
    detector_arn,
    diff_policies,
    parse_policy,
    policy_json,
    remove_statements,
)

log = logging.getLogger(__name__)

DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys


def check_confirmation(settings: Settings) -> bool:
    """Whether the findings are to be deleted; a clear error when the confirmation does not match.

    Raises
    ------
    ConfigError
        ``delete_findings: true`` without ``confirm_bucket`` equal to the bucket's name.
    """
    if not settings.delete_findings:
        return False
    if settings.confirm_bucket != settings.bucket:
        raise ConfigError("confirm_bucket", settings.confirm_bucket,
                          f"delete_findings: true deletes every finding in {settings.bucket}; confirm by typing the "
                          "bucket's name again", settings.bucket,
                          fix=f"set confirm_bucket: {settings.bucket} to delete the findings, or delete_findings: "
                          "false to keep them.")
    return True


def plan_teardown(settings: Settings, calls: AwsCalls | None = None) -> Plan:
    """Plan the removal of what gdnb set up (see the module's docstring for what goes and what stays).

    Parameters
    ----------
    settings
        Uses ``export_regions``, ``home_region``, ``bucket``, ``prefix``, ``kms_alias``, ``delete_findings``,
        ``confirm_bucket``, ``key_pending_days``, ``account_id`` (checked when set), ``apply``.
    calls
        The AWS clients to use (default: from the settings' profile).

    Raises
    ------
    ConfigError
        Before any call, when ``delete_findings`` is not confirmed by ``confirm_bucket``.
    """
    delete_findings = check_confirmation(settings)
    calls = calls or AwsCalls(settings)
    where = resolve_account(calls, settings)
    name, region, alias = settings.bucket, settings.home_region, settings.kms_alias
    plan = Plan(f"Teardown of s3://{name} and {alias}", settings,
                outputs={"account": where.account, "bucket": name, "kms_alias": alias,
                         "delete_findings": delete_findings})
    ours = destination_arn(where.partition, name, settings.prefix)
    bucket_arn = destination_arn(where.partition, name)

    for r in settings.exporting_regions:
        det = find_detector(calls, r)
        if det is None:
            plan.add("detector", f"GuardDuty in {r}", NOOP, "no detector", r)
            continue
        for dest in find_destinations(calls, r, det.detector_id):
            # gdnb's destination is exactly bucket[/prefix]; when the bucket goes, every export into it goes too
            # (GuardDuty would otherwise fail to publish and switch that export off).
            into_bucket = same_destination(dest.destination_arn, bucket_arn) or \
                dest.destination_arn.startswith(bucket_arn + "/")
            if same_destination(dest.destination_arn, ours) or (delete_findings and into_bucket):
                plan.add("publishing destination", dest.destination_arn, DELETE,
                         f"{dest.destination_id}: stop exporting to {name}", r,
                         run=_delete_destination(calls, r, det.detector_id, dest.destination_id))
            else:
                plan.add("publishing destination", dest.destination_arn, KEEP,
                         f"{dest.destination_id}: not gdnb's destination ({ours})", r)
        made = "gdnb created it; " if det.created_by_gdnb else ""
        plan.add("detector", detector_arn(where.partition, r, where.account, det.detector_id), KEEP,
                 f"{made}GuardDuty stays on (gdnb never turns off threat detection)", r)

    try:
        bucket = find_bucket(calls, settings, where)
    except BucketOwnedElsewhereError:
        plan.add("bucket", name, KEEP, "owned by another account: not gdnb's", region)
        bucket = None
    else:
        if bucket is None:
            plan.add("bucket", name, NOOP, "does not exist", region)
    if bucket is not None:
        if delete_findings:
            count = len(_versions(calls, bucket.region, name))
            plan.add("findings", f"s3://{name}/", DELETE, f"{count} object versions, confirmed by confirm_bucket",
                     bucket.region, run=_empty_bucket(calls, bucket.region, name))
            plan.add("bucket", name, DELETE, "confirmed by confirm_bucket", bucket.region,
                     run=_delete_bucket(calls, bucket.region, name))
        else:
            _plan_bucket_policy(plan, calls, settings, bucket.region)
            plan.add("bucket", name, KEEP, "the findings stay (delete_findings: false)", bucket.region)

    key = find_key(calls, settings)
    if key is None:
        plan.add("kms key", alias, NOOP, "the alias does not exist", region)
    elif key.state == "PendingDeletion":
        plan.add("kms key", key.arn, KEEP, "already pending deletion", region)
    else:
        _plan_key(plan, calls, settings, key, delete_findings)
    return plan


def _plan_bucket_policy(plan: Plan, calls: AwsCalls, settings: Settings, region: str) -> None:
    name = settings.bucket
    out = calls.call("s3", region, "get_bucket_policy", name, absent=("NoSuchBucketPolicy",), Bucket=name)
    current = parse_policy(out.get("Policy") if out else None)
    after = remove_statements(current, BUCKET_SIDS)
    change = policy_action(plan, "bucket policy", diff_policies(current, after, owned=BUCKET_SIDS))
    if change == NOOP:
        plan.add("bucket policy", name, NOOP, "no gdnb statement left", region)
    elif after is None:
        def delete(ctx: Context) -> None:
            calls.call("s3", region, "delete_bucket_policy", name, Bucket=name)
        plan.add("bucket policy", name, DELETE, "only gdnb's statements were in it", region, run=delete)
    else:
        def put(ctx: Context) -> None:
            calls.call("s3", region, "put_bucket_policy", name, Bucket=name, Policy=policy_json(after))
        plan.add("bucket policy", name, UPDATE, "remove gdnb's statements; the others stay", region, run=put)


def _plan_key(plan: Plan, calls: AwsCalls, settings: Settings, key: KeyInfo, delete_findings: bool) -> None:
    alias = settings.kms_alias
    created = key_created_by_gdnb(calls, key)
    if created and delete_findings:
        days = settings.key_pending_days

        def schedule(ctx: Context) -> None:
            calls.call("kms", key.region, "schedule_key_deletion", key.arn, KeyId=key.key_id, PendingWindowInDays=days)

        def unalias(ctx: Context) -> None:
            calls.call("kms", key.region, "delete_alias", alias, AliasName=alias)

        plan.add("kms key", key.arn, DELETE, f"gdnb created it: scheduled for deletion in {days} days "
                 "(cancel-key-deletion undoes it until then)", key.region, run=schedule)
        plan.add("kms alias", alias, DELETE, "so that a new setup creates a new key", key.region, run=unalias)
        return

    # While the findings stay, readers keep their kms:Decrypt statement: without it they could not read them.
    sids = KEY_SIDS if delete_findings else (KEY_GUARDDUTY_SID,)
    current = current_key_policy(calls, key)
    after = remove_statements(current, sids)
    changes = diff_policies(current, after, owned=KEY_SIDS)
    change = policy_action(plan, "key policy", changes)
    if change != NOOP and after is None:
        plan.add("key policy", key.arn, KEEP, "it holds only gdnb's statements; a key policy cannot be empty",
                 key.region)
    elif change == NOOP:
        plan.add("key policy", key.arn, NOOP, "no gdnb statement to remove", key.region)
    else:
        def put(ctx: Context) -> None:
            calls.call("kms", key.region, "put_key_policy", key.arn, KeyId=key.key_id, PolicyName="default",
                       Policy=policy_json(after))
        plan.add("key policy", key.arn, UPDATE, "remove GuardDuty's statement; the others stay", key.region, run=put)
    if not created:
        why = "not created by gdnb"
    else:
        why = "gdnb created it, but the findings it encrypts stay (delete_findings: false)"
    plan.add("kms key", key.arn, KEEP, why, key.region)


def _delete_destination(calls: AwsCalls, region: str, detector_id: str, destination_id: str):
    def run(ctx: Context) -> None:
        calls.call("guardduty", region, "delete_publishing_destination", destination_id, DetectorId=detector_id,
                   DestinationId=destination_id)
    return run


def _versions(calls: AwsCalls, region: str, bucket: str) -> list[dict[str, str]]:
    """Every object version and delete marker in the bucket, as DeleteObjects takes them."""
    out: list[dict[str, str]] = []
    params: dict = {"Bucket": bucket}
    while True:
        page = calls.call("s3", region, "list_object_versions", f"s3://{bucket}", **params)
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            ref = {"Key": item["Key"]}
            if item.get("VersionId") and item["VersionId"] != "null":
                ref["VersionId"] = item["VersionId"]
            out.append(ref)
        if not page.get("IsTruncated"):
            return out
        params["KeyMarker"] = page.get("NextKeyMarker")
        if page.get("NextVersionIdMarker"):
            params["VersionIdMarker"] = page["NextVersionIdMarker"]


def _empty_bucket(calls: AwsCalls, region: str, bucket: str):
    def run(ctx: Context) -> None:
        refs = _versions(calls, region, bucket)
        for i in range(0, len(refs), DELETE_BATCH):
            calls.call("s3", region, "delete_objects", f"s3://{bucket}", Bucket=bucket,
                       Delete={"Objects": refs[i:i + DELETE_BATCH], "Quiet": True})
    return run


def _delete_bucket(calls: AwsCalls, region: str, bucket: str):
    def run(ctx: Context) -> None:
        calls.call("s3", region, "delete_bucket", bucket, Bucket=bucket)
    return run
