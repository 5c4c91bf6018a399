"""Checks GuardDuty makes before it accepts a publishing destination, against moto's S3 and KMS.

The service refuses a destination (``BadRequestException``) when it could not export to it:

* the bucket does not exist (or belongs to another account than ``expectedBucketOwner``);
* the KMS key does not exist, is not enabled, or is not in the bucket's region;
* the key policy does not let ``guardduty.amazonaws.com`` call ``kms:GenerateDataKey`` with the
  detector's ``aws:SourceAccount``/``aws:SourceArn``;
* the bucket policy does not let ``guardduty.amazonaws.com`` ``s3:PutObject`` under the destination's
  prefix with those conditions, or a Deny statement would block such a PutObject sent with
  ``x-amz-server-side-encryption: aws:kms`` and the destination key's ARN (for example the documented
  "Deny incorrect encryption header" statement naming another key);
* a prefix folder is missing in a bucket of another account (GuardDuty creates a missing folder only
  in its own account's bucket; the sandbox creates nothing and simply writes under the prefix).

``s3:GetBucketLocation`` is not checked.

The same checks run again before every export (:func:`ready_for_export`): a destination that no longer
passes them receives nothing and shows ``UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY``, as on the service.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from gdnb.sandbox import iam_policy
from gdnb.sandbox.guardduty.store import Destination, DetectorState
from gdnb.sandbox.guardduty.wire import BadRequest
from gdnb.sandbox.iam_policy import Decision, Principal, RequestContext

log = logging.getLogger(__name__)

GUARDDUTY_PRINCIPAL = Principal.service("guardduty.amazonaws.com")
_BUCKET_ARN = re.compile(r"^arn:aws:s3:::([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(?:/(.*))?$")
_KEY_ARN = re.compile(r"^arn:aws:kms:([a-z0-9-]+):(\d{12}):key/([A-Za-z0-9-]+)$")


def parse_destination_arn(destination_arn: str) -> tuple[str, str]:
    """(bucket, prefix) of ``arn:aws:s3:::bucket[/prefix/]``; the prefix without surrounding slashes."""
    match = _BUCKET_ARN.match(destination_arn or "")
    if not match:
        raise BadRequest(f"The request is rejected because the destinationArn '{destination_arn}' is not a valid "
                         "S3 bucket ARN (expected arn:aws:s3:::bucket-name or arn:aws:s3:::bucket-name/prefix).")
    return match.group(1), (match.group(2) or "").strip("/")


def validate_destination(det: DetectorState, destination_type: str | None, properties: dict[str, Any]
                         ) -> tuple[str, str, str, str]:
    """Check a destination as GuardDuty does; return (bucket, prefix, bucket account, key ARN).

    Raises
    ------
    BadRequest
        With a message naming what is wrong.
    """
    if destination_type not in (None, "S3"):
        raise BadRequest(f"The request is rejected because the destinationType '{destination_type}' is not "
                         "supported. The only supported destinationType is S3.")
    destination_arn = properties.get("destinationArn") or ""
    key_arn = properties.get("kmsKeyArn") or ""
    bucket_name, prefix = parse_destination_arn(destination_arn)
    bucket = _bucket(bucket_name)
    if bucket is None:
        raise BadRequest(f"The request failed because the S3 bucket '{bucket_name}' in the destinationArn does "
                         "not exist. Create the bucket first, then the publishing destination.")
    owner = properties.get("expectedBucketOwner")
    if owner and owner != bucket.account_id:
        raise BadRequest(f"The request failed because the S3 bucket '{bucket_name}' is not owned by the "
                         f"expectedBucketOwner {owner}.")
    key = _kms_key(key_arn)
    if key.region != bucket.region_name:
        raise BadRequest(f"The request failed because the KMS key {key_arn} is in region {key.region} but the "
                         f"S3 bucket '{bucket_name}' is in region {bucket.region_name}. The key and the bucket "
                         "must be in the same region.")
    _check_key_policy(det, key, key_arn)
    _check_bucket_policy(det, bucket, prefix, key_arn)
    if prefix and bucket.account_id != det.account_id and not any(k.startswith(prefix + "/") for k in bucket.keys):
        raise BadRequest(f"The request failed because the folder '{prefix}/' does not exist in the S3 bucket "
                         f"'{bucket_name}' of account {bucket.account_id}. Create it before using it as a prefix.")
    return bucket_name, prefix, bucket.account_id, key.arn


def ready_for_export(det: DetectorState, dest: Destination, now_ms: int | None = None) -> bool:
    """Check ``dest`` again as CreatePublishingDestination did, and record the outcome in its status.

    Returns
    -------
    Whether the export may write to it. When not, its status becomes
    ``UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY`` (with the failure's start time) and the reason is logged.
    """
    try:
        validate_destination(det, "S3", {"destinationArn": dest.destination_arn, "kmsKeyArn": dest.kms_key_arn,
                                         "expectedBucketOwner": dest.expected_bucket_owner})
    except BadRequest as exc:
        dest.mark_unable_to_publish(now_ms if now_ms is not None else int(time.time() * 1000))
        log.warning("publishing destination %s of detector %s cannot receive the export: %s", dest.destination_id,
                    det.detector_id, exc.message)
        return False
    dest.mark_publishing()
    return True


def export_key_example(det: DetectorState, prefix: str) -> str:
    """An object key of the export layout, used to ask the bucket policy about PutObject."""
    base = f"AWSLogs/{det.account_id}/GuardDuty/{det.region}/2000/01/01/00000000-0000-0000-0000-000000000000.jsonl.gz"
    return f"{prefix}/{base}" if prefix else base


def _service_keys(det: DetectorState) -> dict[str, str]:
    return {"aws:SourceAccount": det.account_id, "aws:SourceArn": det.arn, "aws:SecureTransport": "true"}


def _check_key_policy(det: DetectorState, key: Any, key_arn: str) -> None:
    ctx = RequestContext(GUARDDUTY_PRINCIPAL, "kms:GenerateDataKey", key.arn, _service_keys(det))
    decision = _evaluate(key.policy, ctx, f"key policy of {key_arn}")
    if decision is not Decision.ALLOW:
        why = "denies" if decision is Decision.DENY else "does not allow"
        raise BadRequest(
            f"The request failed because the key policy of KMS key {key_arn} {why} the GuardDuty service principal "
            f"(guardduty.amazonaws.com) kms:GenerateDataKey for detector {det.arn}. Add the statement that allows "
            f"it, with Condition StringEquals aws:SourceAccount {det.account_id} and aws:SourceArn {det.arn}.")


def _check_bucket_policy(det: DetectorState, bucket: Any, prefix: str, key_arn: str) -> None:
    resource = f"arn:aws:s3:::{bucket.name}/{export_key_example(det, prefix)}"
    keys = {**_service_keys(det), "s3:x-amz-server-side-encryption": "aws:kms",
            "s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn, "s3:ResourceAccount": bucket.account_id}
    ctx = RequestContext(GUARDDUTY_PRINCIPAL, "s3:PutObject", resource, keys)
    where = f"arn:aws:s3:::{bucket.name}/{prefix + '/' if prefix else ''}*"
    if bucket.policy is None:
        raise BadRequest(
            f"The request failed because the S3 bucket '{bucket.name}' has no bucket policy that allows the GuardDuty "
            f"service principal (guardduty.amazonaws.com) s3:PutObject on {where}. Add the documented statements.")
    try:
        matches = iam_policy.matching_statements(bucket.policy, ctx)
    except ValueError as exc:
        raise BadRequest(f"The request failed because the bucket policy of '{bucket.name}' is not valid JSON "
                         f"({exc}).") from exc
    denies = [m.sid or "(no Sid)" for m in matches if m.effect == "Deny"]
    if denies:
        raise BadRequest(
            f"The request failed because the bucket policy of '{bucket.name}' denies the GuardDuty service principal "
            f"s3:PutObject on {where} with server-side encryption aws:kms and key {key_arn} (statement "
            f"{', '.join(repr(s) for s in denies)}). Check that the encryption statements name this key's ARN.")
    if not any(m.effect == "Allow" for m in matches):
        raise BadRequest(
            f"The request failed because the bucket policy of '{bucket.name}' does not allow the GuardDuty service "
            f"principal (guardduty.amazonaws.com) s3:PutObject on {where} for detector {det.arn}. Add the "
            f"statement that allows it, with Condition StringEquals aws:SourceAccount {det.account_id} and "
            f"aws:SourceArn {det.arn}.")


def _evaluate(policy: str, ctx: RequestContext, what: str) -> Decision:
    try:
        return iam_policy.evaluate(policy, ctx)
    except ValueError as exc:
        raise BadRequest(f"The request failed because the {what} is not valid JSON ({exc}).") from exc


def _bucket(name: str) -> Any:
    from moto.s3.models import s3_backends

    owner = s3_backends.bucket_accounts.get(name)
    if owner is None:
        return None
    partition, account = owner
    return s3_backends[account][partition].buckets.get(name)


def _kms_key(key_arn: str) -> Any:
    from moto.kms.models import kms_backends

    match = _KEY_ARN.match(key_arn or "")
    if not match:
        raise BadRequest(f"The request is rejected because the kmsKeyArn '{key_arn}' is not a valid KMS key ARN "
                         "(expected arn:aws:kms:<region>:<account>:key/<key-id>).")
    region, account, key_id = match.groups()
    try:
        key = kms_backends[account][region].keys.get(key_id)
    except KeyError:
        key = None
    if key is None:
        raise BadRequest(f"The request failed because the KMS key {key_arn} does not exist.")
    if key.key_state != "Enabled":
        raise BadRequest(f"The request failed because the KMS key {key_arn} is not enabled (state {key.key_state}).")
    return key
