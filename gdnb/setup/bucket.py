"""The findings bucket: private, SSE-KMS with the key by default, and GuardDuty's bucket policy.

The bucket lives in the key's region (GuardDuty requires it). Its policy lets GuardDuty find the
bucket and write objects (limited to this account's exporting detectors), denies uploads that are not
SSE-KMS with exactly this key, and denies non-HTTPS access. Statements of an existing policy are kept;
gdnb's own are added or updated by Sid.
"""

from __future__ import annotations

import dataclasses
import logging

import botocore.exceptions

from gdnb.config import Settings
from gdnb.errors import AccessDeniedError
from gdnb.setup.calls import AwsCalls
from gdnb.setup.common import Where, preflight, resolve_account, tag_list
from gdnb.setup.detectors import DetectorInfo, detectors_for_plan
from gdnb.setup.errors import BucketOwnedElsewhereError, region_mismatch
from gdnb.setup.key import KeyInfo, key_for_plan
from gdnb.setup.plan import CREATE, NOOP, UPDATE, Context, Plan, policy_action
from gdnb.setup.policies import (
    BUCKET_SIDS,
    bucket_statements,
    detector_arn,
    diff_policies,
    merge_statements,
    parse_policy,
    policy_json,
)

log = logging.getLogger(__name__)

PUBLIC_ACCESS_BLOCK = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                       "RestrictPublicBuckets": True}


@dataclasses.dataclass(frozen=True)
class BucketInfo:
    """A bucket of this account, and its region."""

    name: str
    region: str


def bucket_region(location: str | None) -> str:
    """The region from ``GetBucketLocation`` (None means us-east-1, ``EU`` means eu-west-1)."""
    if not location:
        return "us-east-1"
    return "eu-west-1" if location == "EU" else location


def find_bucket(calls: AwsCalls, settings: Settings, where: Where) -> BucketInfo | None:
    """This account's bucket ``settings.bucket``, or None when no bucket has that name.

    Raises
    ------
    BucketOwnedElsewhereError
        When another account owns a bucket of that name.
    """
    name, region = settings.bucket, settings.home_region
    owned = calls.pages("s3", region, "list_buckets", "Buckets", "this account's buckets", Prefix=name)
    if any(b.get("Name") == name for b in owned):
        loc = calls.call("s3", region, "get_bucket_location", name, Bucket=name)
        return BucketInfo(name, bucket_region(loc.get("LocationConstraint")))
    try:
        head = calls.call("s3", region, "head_bucket", name, absent=("404", "NoSuchBucket", "NotFound"), Bucket=name)
    except AccessDeniedError as exc:
        raise BucketOwnedElsewhereError(name, where.account, "S3 answered 403 Forbidden to HeadBucket") from exc
    if head is None:
        return None
    raise BucketOwnedElsewhereError(name, where.account, "it exists but is not among this account's buckets")


def planned_note(key: KeyInfo, detectors: dict[str, DetectorInfo]) -> str:
    """A title suffix when a dry-run plan names the key or detectors 00_kms_key has yet to create."""
    if key.planned or any(d.planned for d in detectors.values()):
        return " (planned against what 00_kms_key would create: apply it first to carry this plan out)"
    return ""


def check_same_region(bucket: BucketInfo, key: KeyInfo) -> None:
    if bucket.region != key.region:
        raise region_mismatch(bucket.name, bucket.region, key.arn, key.region)


def desired_bucket_statements(context: Context, settings: Settings, where: Where) -> list[dict]:
    arns = sorted(detector_arn(where.partition, r, where.account, context["detector_ids"][r])
                  for r in settings.exporting_regions)
    return bucket_statements(bucket=settings.bucket, prefix=settings.prefix, key_arn=context["key_arn"],
                             account=where.account, detector_arns=arns, regions=settings.exporting_regions,
                             partition=where.partition)


def plan_bucket(settings: Settings, calls: AwsCalls | None = None) -> Plan:
    """Plan the findings bucket, its settings and its policy.

    Parameters
    ----------
    settings
        Uses ``bucket``, ``prefix``, ``home_region``, ``kms_alias``, ``export_regions``, ``tags``,
        ``account_id`` (checked when set), ``apply``.
    calls
        The AWS clients to use (default: from the settings' profile).

    Returns
    -------
    Plan
        The bucket (created in the key's region), Block Public Access (all on), object ownership
        (BucketOwnerEnforced), default encryption (SSE-KMS with the key, bucket key on), the prefix's
        folder object, and the bucket policy (gdnb's statements merged by Sid).

        In a dry run (``apply: false``) before notebook 00 was applied, the plan names the key and the
        detectors 00 would create (``key/(created by 00_kms_key)``, ``detector/(new)``), so the whole
        walkthrough can be read as plans first.

    Raises
    ------
    NotFoundError, KeyUnusableError
        When the key from notebook 00 is missing (with ``apply: true``) or unusable.
    SetupError
        With ``apply: true``, when an exporting region has no detector yet.
    BucketOwnedElsewhereError, RegionMismatchError
        When the name is taken by another account, or the bucket is not in the key's region.
    """
    preflight(settings)
    calls = calls or AwsCalls(settings)
    where = resolve_account(calls, settings)
    key = key_for_plan(calls, settings, where)
    detectors = detectors_for_plan(calls, settings)
    name, region = settings.bucket, settings.home_region
    plan = Plan(f"Findings bucket {name} in {region}{planned_note(key, detectors)}", settings,
                outputs={"account": where.account, "partition": where.partition, "bucket": name,
                         "prefix": settings.prefix, "key_arn": key.arn, "home_region": region,
                         "detector_ids": {r: d.detector_id for r, d in detectors.items()}})
    bucket = find_bucket(calls, settings, where)
    if bucket is not None:
        check_same_region(bucket, key)
    desired = desired_bucket_statements(plan.outputs, settings, where)

    if bucket is None:
        where_text = "us-east-1 (no LocationConstraint)" if region == "us-east-1" else f"LocationConstraint {region}"
        plan.add("bucket", name, CREATE, f"in {where_text}, tagged gdnb:created-by", region,
                 run=_create_bucket(calls, settings))
        plan.add("block public access", name, CREATE, "all four settings on", region, run=_put_pab(calls, settings))
        plan.add("object ownership", name, CREATE, "BucketOwnerEnforced (ACLs off)", region,
                 run=_put_ownership(calls, settings))
        plan.add("default encryption", name, CREATE, "SSE-KMS with the key, bucket key on", region,
                 run=_put_encryption(calls, settings))
        if settings.prefix:
            plan.add("prefix folder", f"s3://{name}/{settings.prefix}/", CREATE,
                     "GuardDuty checks that the prefix exists", region, run=_put_folder(calls, settings))
        merged = merge_statements(None, desired, owned=BUCKET_SIDS)
        policy_action(plan, "bucket policy", diff_policies(None, merged, owned=BUCKET_SIDS))
        plan.add("bucket policy", name, CREATE, "GuardDuty's documented statements", region,
                 run=_put_policy(calls, settings, where, None))
        return plan

    plan.add("bucket", name, NOOP, f"exists in {bucket.region}", region)
    _plan_public_access_block(plan, calls, settings)
    _plan_ownership(plan, calls, settings)
    _plan_encryption(plan, calls, settings, key)
    if settings.prefix:
        folder = f"{settings.prefix}/"
        found = calls.call("s3", region, "head_object", f"s3://{name}/{folder}",
                           absent=("404", "NoSuchKey", "NotFound"), Bucket=name, Key=folder)
        plan.add("prefix folder", f"s3://{name}/{folder}", NOOP if found is not None else CREATE,
                 "exists" if found is not None else "GuardDuty checks that the prefix exists", region,
                 run=None if found is not None else _put_folder(calls, settings))
    out = calls.call("s3", region, "get_bucket_policy", name, absent=("NoSuchBucketPolicy",), Bucket=name)
    current = parse_policy(out.get("Policy") if out else None)
    merged = merge_statements(current, desired, owned=BUCKET_SIDS)
    change = policy_action(plan, "bucket policy", diff_policies(current, merged, owned=BUCKET_SIDS))
    if change == UPDATE and current is None:
        change = CREATE
    plan.add("bucket policy", name, change,
             "GuardDuty's statements are in place" if change == NOOP
             else "add or update gdnb's statements by Sid; every other statement stays", region,
             run=None if change == NOOP else _put_policy(calls, settings, where, current))
    return plan


def _plan_public_access_block(plan: Plan, calls: AwsCalls, settings: Settings) -> None:
    name, region = settings.bucket, settings.home_region
    out = calls.call("s3", region, "get_public_access_block", name,
                     absent=("NoSuchPublicAccessBlockConfiguration",), Bucket=name)
    current = (out or {}).get("PublicAccessBlockConfiguration", {})
    off = [k for k, v in PUBLIC_ACCESS_BLOCK.items() if current.get(k) is not v]
    if not off:
        plan.add("block public access", name, NOOP, "all four settings on", region)
    else:
        plan.add("block public access", name, UPDATE, f"turn on {', '.join(off)}", region,
                 run=_put_pab(calls, settings))


def _plan_ownership(plan: Plan, calls: AwsCalls, settings: Settings) -> None:
    name, region = settings.bucket, settings.home_region
    out = calls.call("s3", region, "get_bucket_ownership_controls", name,
                     absent=("OwnershipControlsNotFoundError",), Bucket=name)
    rules = (out or {}).get("OwnershipControls", {}).get("Rules", [])
    current = rules[0].get("ObjectOwnership") if rules else None
    if current == "BucketOwnerEnforced":
        plan.add("object ownership", name, NOOP, "BucketOwnerEnforced (ACLs off)", region)
    else:
        plan.add("object ownership", name, UPDATE, f"{current or 'not set'} -> BucketOwnerEnforced", region,
                 run=_put_ownership(calls, settings))


def _plan_encryption(plan: Plan, calls: AwsCalls, settings: Settings, key: KeyInfo) -> None:
    name, region = settings.bucket, settings.home_region
    out = calls.call("s3", region, "get_bucket_encryption", name,
                     absent=("ServerSideEncryptionConfigurationNotFoundError",), Bucket=name)
    rules = (out or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    rule = rules[0] if rules else {}
    default = rule.get("ApplyServerSideEncryptionByDefault", {})
    ok = (default.get("SSEAlgorithm") == "aws:kms" and default.get("KMSMasterKeyID") in (key.arn, key.key_id)
          and bool(rule.get("BucketKeyEnabled")))
    if ok:
        plan.add("default encryption", name, NOOP, "SSE-KMS with the key, bucket key on", region)
    else:
        was = (f"{default.get('SSEAlgorithm', 'none')} {default.get('KMSMasterKeyID', '')}".strip()
               + (", bucket key on" if rule.get("BucketKeyEnabled") else ""))
        plan.add("default encryption", name, UPDATE, f"{was} -> SSE-KMS with {key.arn}, bucket key on", region,
                 run=_put_encryption(calls, settings))


# -- the actions ----------------------------------------------------------------------------------

def _create_bucket(calls: AwsCalls, settings: Settings):
    def run(ctx: Context) -> None:
        name, region = settings.bucket, settings.home_region
        params: dict = {"Bucket": name}
        if region != "us-east-1":  # us-east-1 takes no LocationConstraint; every other region needs one
            params["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            calls.call("s3", region, "create_bucket", name, **params)
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "BucketAlreadyExists":
                raise BucketOwnedElsewhereError(name, ctx["account"], "CreateBucket answered BucketAlreadyExists") \
                    from exc
            raise
        calls.call("s3", region, "put_bucket_tagging", name, Bucket=name,
                   Tagging={"TagSet": tag_list(settings)})
    return run


def _put_pab(calls: AwsCalls, settings: Settings):
    def run(ctx: Context) -> None:
        calls.call("s3", settings.home_region, "put_public_access_block", settings.bucket, Bucket=settings.bucket,
                   PublicAccessBlockConfiguration=dict(PUBLIC_ACCESS_BLOCK))
    return run


def _put_ownership(calls: AwsCalls, settings: Settings):
    def run(ctx: Context) -> None:
        calls.call("s3", settings.home_region, "put_bucket_ownership_controls", settings.bucket,
                   Bucket=settings.bucket,
                   OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    return run


def _put_encryption(calls: AwsCalls, settings: Settings):
    def run(ctx: Context) -> None:
        calls.call("s3", settings.home_region, "put_bucket_encryption", settings.bucket, Bucket=settings.bucket,
                   ServerSideEncryptionConfiguration={"Rules": [{
                       "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                              "KMSMasterKeyID": ctx["key_arn"]},
                       "BucketKeyEnabled": True}]})
    return run


def _put_folder(calls: AwsCalls, settings: Settings):
    def run(ctx: Context) -> None:
        # An empty "folder/" object: GuardDuty refuses a destination whose prefix does not exist.
        calls.call("s3", settings.home_region, "put_object", f"s3://{settings.bucket}/{settings.prefix}/",
                   Bucket=settings.bucket, Key=f"{settings.prefix}/", Body=b"")
    return run


def _put_policy(calls: AwsCalls, settings: Settings, where: Where, current: dict | None):
    def run(ctx: Context) -> None:
        merged = merge_statements(current, desired_bucket_statements(ctx, settings, where), owned=BUCKET_SIDS)
        calls.call("s3", settings.home_region, "put_bucket_policy", settings.bucket, Bucket=settings.bucket,
                   Policy=policy_json(merged))
    return run
