"""Undo what gdnb set up, guarded, dry-run unless ``teardown: true``.

A teardown plan is carried out only when the settings say ``teardown: true``, whatever ``apply`` says: a
params file that applies setup (``params/sandbox.yaml``) must not tear it down by being passed to 99.

What goes, in this order:

1. The publishing destinations that are gdnb's (exactly ``bucket[/prefix]``); other destinations stay.
2. With ``delete_findings: true`` and ``confirm_bucket`` set to the bucket's name, typed again: the export's
   objects, every version of them, under ``[prefix/]AWSLogs/<account>/GuardDuty/<region>/`` for each
   exporting region, and nothing else. In a bucket gdnb created (its ``gdnb:created-by`` tag), also the
   prefix's folder object when nothing else is under the prefix, and then the bucket itself when nothing
   else is in it and no other destination exports into it. A bucket gdnb did not create always stays.
3. gdnb's statements of the bucket policy (by Sid; everyone else's stay), when the bucket stays.
4. gdnb's GuardDuty statement of the key policy (by Sid). The key is scheduled for deletion (after
   ``key_pending_days``, at least 7) only when gdnb created it (its tag) and the bucket whose default
   encryption names it is deleted too: a deleted key makes what it encrypts unreadable for good. While
   the bucket stays, the readers' ``kms:Decrypt`` statement stays with it.

Detectors always stay: GuardDuty is a security control, and deleting a detector also deletes its
findings in GuardDuty. gdnb never disables or deletes one, even one it created (the plan says which).
Sample findings stay in GuardDuty too (they age out after 90 days).
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Iterable

import botocore.exceptions

from gdnb.config import Settings
from gdnb.errors import ConfigError, GdnbError
from gdnb.setup.bucket import BucketInfo, find_bucket
from gdnb.setup.calls import AwsCalls
from gdnb.setup.common import CREATED_BY_TAG, CREATED_BY_VALUE, Where, resolve_account
from gdnb.setup.detectors import find_detector
from gdnb.setup.errors import BucketNotEmptyError, BucketOwnedElsewhereError, ObjectsNotDeletedError
from gdnb.setup.export import export_prefixes, export_root, find_destinations, same_destination
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
    statements_of,
)

log = logging.getLogger(__name__)

DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys
SHOWN_KEYS = 3  # object keys named in a plan's detail

ObjectRef = dict[str, str]  # {"Key": ..., "VersionId": ...} as DeleteObjects takes it


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
                          f"delete_findings: true deletes the exported findings in {settings.bucket}; confirm by "
                          "typing the bucket's name again", settings.bucket,
                          fix=f"set confirm_bucket: {settings.bucket} to delete the findings, or delete_findings: "
                          "false to keep them.")
    return True


def plan_teardown(settings: Settings, calls: AwsCalls | None = None) -> Plan:
    """Plan the removal of what gdnb set up (see the module's docstring for what goes and what stays).

    Parameters
    ----------
    settings
        Uses ``export_regions``, ``home_region``, ``bucket``, ``prefix``, ``kms_alias``, ``delete_findings``,
        ``confirm_bucket``, ``key_pending_days``, ``account_id`` (checked when set), and ``teardown``, which
        alone decides whether :func:`gdnb.setup.apply` carries the plan out (``apply`` does not count).
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
    plan = Plan(f"Teardown of gdnb's export to s3://{name} and {alias} (carried out only with teardown: true)",
                settings, switch="teardown",
                outputs={"account": where.account, "bucket": name, "kms_alias": alias,
                         "delete_findings": delete_findings})
    others_into_bucket = _plan_destinations(plan, calls, settings, where)

    bucket_goes, key_kept_because = False, ""
    try:
        bucket = find_bucket(calls, settings, where)
    except BucketOwnedElsewhereError:
        plan.add("bucket", name, KEEP, "owned by another account: not gdnb's", region)
        bucket, key_kept_because = None, f"the bucket {name} belongs to another account"
    else:
        if bucket is None:
            plan.add("bucket", name, NOOP, "does not exist", region)
    if bucket is not None:
        if delete_findings:
            kept, short = _plan_findings(plan, calls, settings, where, bucket, others_into_bucket)
            bucket_goes = not kept
            key_kept_because = f"the bucket {name} stays ({short}) and its default encryption names this key" \
                if kept else ""
        else:
            kept = "the findings stay (delete_findings: false)"
            key_kept_because = "the findings it encrypts stay (delete_findings: false)"
        if bucket_goes:  # its policy goes with it
            plan.add("bucket", name, DELETE, "gdnb created it and nothing else is in it; confirmed by confirm_bucket",
                     bucket.region, run=_delete_bucket(calls, bucket.region, name))
        else:
            _plan_bucket_policy(plan, calls, settings, bucket.region)
            plan.add("bucket", name, KEEP, kept, bucket.region)
    elif not delete_findings and not key_kept_because:
        key_kept_because = "the findings it encrypts stay (delete_findings: false)"

    key = find_key(calls, settings)
    if key is None:
        plan.add("kms key", alias, NOOP, "the alias does not exist", region)
    elif key.state == "PendingDeletion":
        plan.add("kms key", key.arn, KEEP, "already pending deletion", region)
    else:
        _plan_key(plan, calls, settings, key, findings_gone=delete_findings and not key_kept_because,
                  kept_because=key_kept_because)
    return plan


def _plan_destinations(plan: Plan, calls: AwsCalls, settings: Settings, where: Where) -> list[str]:
    """Delete gdnb's destination in every exporting region; return the other destinations into the bucket."""
    name = settings.bucket
    ours = destination_arn(where.partition, name, settings.prefix)
    bucket_arn = destination_arn(where.partition, name)
    others_into_bucket: list[str] = []
    for r in settings.exporting_regions:
        det = find_detector(calls, r)
        if det is None:
            plan.add("detector", f"GuardDuty in {r}", NOOP, "no detector", r)
            continue
        for dest in find_destinations(calls, r, det.detector_id):
            if same_destination(dest.destination_arn, ours):
                plan.add("publishing destination", dest.destination_arn, DELETE,
                         f"{dest.destination_id}: stop exporting to {name}", r,
                         run=_delete_destination(calls, r, det.detector_id, dest.destination_id))
                continue
            plan.add("publishing destination", dest.destination_arn, KEEP,
                     f"{dest.destination_id}: not gdnb's destination ({ours})", r)
            if same_destination(dest.destination_arn, bucket_arn) or dest.destination_arn.startswith(bucket_arn + "/"):
                others_into_bucket.append(f"{dest.destination_id} in {r} ({dest.destination_arn})")
        made = "gdnb created it; " if det.created_by_gdnb else ""
        plan.add("detector", detector_arn(where.partition, r, where.account, det.detector_id), KEEP,
                 f"{made}GuardDuty stays on (gdnb never turns off threat detection)", r)
    return others_into_bucket


def _plan_findings(plan: Plan, calls: AwsCalls, settings: Settings, where: Where, bucket: BucketInfo,
                   others_into_bucket: list[str]) -> tuple[str, str]:
    """Delete the export's objects, and the folder object when gdnb made the bucket and nothing else is under
    the prefix. Return why the bucket stays, in full and in short (empty when it may go: gdnb made it and it
    holds nothing else)."""
    name, region = bucket.name, bucket.region
    prefixes = export_prefixes(settings, where.account)
    regions = settings.exporting_regions
    scope = export_root(settings, where.account) + (f"{regions[0]}/" if len(regions) == 1 else
                                                    f"{{{','.join(regions)}}}/")
    created = bucket_created_by_gdnb(calls, region, name)
    marker = f"{settings.prefix}/" if settings.prefix else ""
    if created:  # gdnb's bucket: read it whole, to know whether anything else is in it
        everything = list_versions(calls, region, name)
        ours = [r for r in everything if r["Key"].startswith(tuple(prefixes))]
    else:  # someone else's bucket stays whatever it holds: read only the export's objects
        everything = []
        ours = [r for p in prefixes for r in list_versions(calls, region, name, p)]
    if ours:
        plan.add("findings", f"s3://{name}/{scope}", DELETE,
                 f"{len(ours)} object versions of the export, confirmed by confirm_bucket", region,
                 run=_delete_export(calls, region, name, prefixes, scope))
    else:
        plan.add("findings", f"s3://{name}/{scope}", NOOP, "no exported object", region)

    if not created:
        if marker:
            plan.add("prefix folder", f"s3://{name}/{marker}", KEEP,
                     "the bucket is not gdnb's: its folder object may be someone else's", region)
        return f"not created by gdnb (no {CREATED_BY_TAG} tag): only the export's objects go", "not created by gdnb"

    others = [r for r in everything if not r["Key"].startswith(tuple(prefixes)) and r["Key"] != marker]
    marker_refs = [r for r in everything if marker and r["Key"] == marker]
    if marker_refs:
        beside = [r for r in others if r["Key"].startswith(marker)]
        if beside:
            plan.add("prefix folder", f"s3://{name}/{marker}", KEEP,
                     f"other objects under it stay: {_some_keys(beside)}", region)
        else:
            plan.add("prefix folder", f"s3://{name}/{marker}", DELETE, "gdnb made it for the export", region,
                     run=_delete_refs(calls, region, name, marker_refs, marker))
            marker_refs = []
    reasons = []
    if others or marker_refs:
        reasons.append(f"it holds {len(others) + len(marker_refs)} object versions that are not the export's "
                       f"({_some_keys(others + marker_refs)})")
    if others_into_bucket:
        reasons.append(f"other publishing destinations export into it: {'; '.join(others_into_bucket)}")
    if not reasons:
        return "", ""
    return f"gdnb created it, but {' and '.join(reasons)}", "it holds what is not the export's"


def _some_keys(refs: Iterable[ObjectRef]) -> str:
    keys = sorted({r["Key"] for r in refs})
    return ", ".join(keys[:SHOWN_KEYS]) + (f" and {len(keys) - SHOWN_KEYS} more" if len(keys) > SHOWN_KEYS else "")


def bucket_created_by_gdnb(calls: AwsCalls, region: str, bucket: str) -> bool:
    """Whether the bucket carries gdnb's created-by tag (put on it when gdnb created it)."""
    out = calls.call("s3", region, "get_bucket_tagging", bucket, absent=("NoSuchTagSet",), Bucket=bucket)
    tags = (out or {}).get("TagSet", [])
    return any(t.get("Key") == CREATED_BY_TAG and t.get("Value") == CREATED_BY_VALUE for t in tags)


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


def _plan_key(plan: Plan, calls: AwsCalls, settings: Settings, key: KeyInfo, *, findings_gone: bool,
              kept_because: str) -> None:
    alias = settings.kms_alias
    created = key_created_by_gdnb(calls, key)
    if created and findings_gone:
        days = settings.key_pending_days

        def schedule(ctx: Context) -> None:
            calls.call("kms", key.region, "schedule_key_deletion", key.arn, KeyId=key.key_id, PendingWindowInDays=days)

        def unalias(ctx: Context) -> None:
            calls.call("kms", key.region, "delete_alias", alias, AliasName=alias)

        plan.add("kms key", key.arn, DELETE, f"gdnb created it and the bucket it encrypts is deleted: scheduled for "
                 f"deletion in {days} days (cancel-key-deletion undoes it until then)", key.region, run=schedule)
        plan.add("kms alias", alias, DELETE, "so that a new setup creates a new key", key.region, run=unalias)
        return

    # While the bucket stays, readers keep their kms:Decrypt statement: without it they could not read it.
    sids = KEY_SIDS if findings_gone else (KEY_GUARDDUTY_SID,)
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
    why = "not created by gdnb" if not created else f"gdnb created it, but {kept_because}"
    plan.add("kms key", key.arn, KEEP, why, key.region)


def _delete_destination(calls: AwsCalls, region: str, detector_id: str, destination_id: str):
    def run(ctx: Context) -> None:
        calls.call("guardduty", region, "delete_publishing_destination", destination_id, DetectorId=detector_id,
                   DestinationId=destination_id)
    return run


def list_versions(calls: AwsCalls, region: str, bucket: str, prefix: str = "") -> list[ObjectRef]:
    """Every object version and delete marker under ``prefix``, as DeleteObjects takes them."""
    out: list[ObjectRef] = []
    params: dict = {"Bucket": bucket, "Prefix": prefix}
    while True:
        page = calls.call("s3", region, "list_object_versions", f"s3://{bucket}/{prefix}", **params)
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


def delete_versions(calls: AwsCalls, region: str, bucket: str, refs: list[ObjectRef], scope: str) -> int:
    """Delete ``refs``; return how many went.

    Raises
    ------
    ObjectsNotDeletedError
        When S3 refused any of them (DeleteObjects answers 200 with per-key ``Errors``).
    """
    refused: list[dict] = []
    for i in range(0, len(refs), DELETE_BATCH):
        out = calls.call("s3", region, "delete_objects", f"s3://{bucket}/{scope}", Bucket=bucket,
                         Delete={"Objects": refs[i:i + DELETE_BATCH], "Quiet": True})
        refused += out.get("Errors", [])
    if refused:
        raise ObjectsNotDeletedError(bucket, scope, refused, len(refs), _denying_sids(calls, region, bucket))
    return len(refs)


def _denying_sids(calls: AwsCalls, region: str, bucket: str) -> list[str]:
    """The Sids of the bucket policy's Deny statements that cover s3:DeleteObject (none when unreadable).

    Unconditional ones when there are any (they surely apply), else the conditional ones.
    """
    try:
        out = calls.call("s3", region, "get_bucket_policy", bucket, absent=("NoSuchBucketPolicy",), Bucket=bucket)
    except (GdnbError, botocore.exceptions.ClientError):
        return []  # only a hint for the error message: not being allowed to read the policy is no reason to fail
    plain, conditional = [], []
    for st in statements_of(parse_policy(out.get("Policy") if out else None)):
        actions = st.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if st.get("Effect") == "Deny" and any(fnmatch.fnmatchcase("s3:deleteobject", str(a).lower()) for a in actions):
            (conditional if st.get("Condition") else plain).append(str(st.get("Sid") or "(no Sid)"))
    return plain or conditional


def _delete_export(calls: AwsCalls, region: str, bucket: str, prefixes: list[str], scope: str):
    def run(ctx: Context) -> None:
        # Listed again: objects exported between the plan and now are the export's too.
        refs = [r for p in prefixes for r in list_versions(calls, region, bucket, p)]
        ctx["findings_deleted"] = delete_versions(calls, region, bucket, refs, scope)
    return run


def _delete_refs(calls: AwsCalls, region: str, bucket: str, refs: list[ObjectRef], scope: str):
    def run(ctx: Context) -> None:
        delete_versions(calls, region, bucket, refs, scope)
    return run


def _delete_bucket(calls: AwsCalls, region: str, bucket: str):
    def run(ctx: Context) -> None:
        try:
            calls.call("s3", region, "delete_bucket", bucket, Bucket=bucket)
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "BucketNotEmpty":
                raise
            raise BucketNotEmptyError(bucket, exc.response["Error"].get("Message", "BucketNotEmpty")) from exc
    return run
