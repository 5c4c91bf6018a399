"""Errors particular to setting up the export: each says what is wrong, why it matters, and the fix."""

from __future__ import annotations

from gdnb.errors import AwsError, RegionMismatchError, SetupError


class BucketOwnedElsewhereError(SetupError):
    """The bucket name is taken by another AWS account."""

    def __init__(self, bucket: str, account: str, how: str) -> None:
        self.bucket = bucket
        super().__init__(
            f"The S3 bucket {bucket!r} exists but is not owned by account {account} ({how}). Bucket names are "
            "global across all AWS accounts, and GuardDuty's export needs a bucket whose policy and default "
            "encryption this account controls.",
            f"choose another name in the params file, e.g. bucket: {bucket}-{account}.",
        )


class KeyUnusableError(SetupError):
    """The alias points to a key GuardDuty cannot use."""

    def __init__(self, alias: str, key_arn: str, state: str, fix: str) -> None:
        self.alias = alias
        self.key_arn = key_arn
        self.state = state
        super().__init__(
            f"The KMS alias {alias} points to key {key_arn}, whose state is {state}. GuardDuty cannot encrypt "
            "exported findings with it: the export would fail and GuardDuty would switch it off.",
            fix,
        )


def region_mismatch(bucket: str, bucket_region: str, key_arn: str, key_region: str) -> RegionMismatchError:
    """The bucket and the key are in different regions (GuardDuty requires the same one)."""
    return RegionMismatchError(
        f"The bucket {bucket!r} is in {bucket_region} but the KMS key {key_arn} is in {key_region}. GuardDuty "
        "requires the findings bucket and its KMS key to be in the same region.",
        f"set home_region: {bucket_region} and run 00_kms_key again (it finds or creates the key under your "
        f"alias in that region), or choose a bucket name that does not exist yet so gdnb creates it in {key_region}.",
    )


class ObjectsNotDeletedError(SetupError):
    """S3 answered DeleteObjects with per-key errors: those objects are still there.

    Parameters
    ----------
    bucket
        The bucket.
    scope
        The key prefix(es) being emptied, as shown to the user.
    errors
        DeleteObjects' ``Errors`` entries (``Key``, ``Code``, ``Message``).
    total
        How many object versions were to be deleted.
    denying_sids
        The Sids of the bucket policy's Deny statements that cover ``s3:DeleteObject`` (when readable).
    """

    SHOWN = 5

    def __init__(self, bucket: str, scope: str, errors: list[dict], total: int,
                 denying_sids: list[str] | None = None) -> None:
        self.bucket = bucket
        self.errors = list(errors)
        shown = "; ".join(f"{e.get('Key')} ({e.get('Code', '?')}: {e.get('Message', '')})"
                          for e in self.errors[:self.SHOWN])
        more = f"; and {len(self.errors) - self.SHOWN} more" if len(self.errors) > self.SHOWN else ""
        codes = {str(e.get("Code", "")) for e in self.errors}
        if codes <= {"AccessDenied"}:
            where = (f"the bucket policy's Deny {', '.join(denying_sids)}" if denying_sids
                     else "a Deny in the bucket policy or the caller's IAM policy (or a missing Allow)")
            why = f" S3 denied the deletion; what covers s3:DeleteObject there: {where}."
            fix = (f"let this caller delete under s3://{bucket}/{scope} (s3:DeleteObject, and s3:DeleteObjectVersion "
                   f"in a versioned bucket): remove or narrow {where} if it is yours to change, or ask whoever owns "
                   "it; then run the teardown again (it plans again and deletes only what is left).")
        else:
            why = ""
            fix = ("act on the codes above (see S3's DeleteObjects error codes), then run the teardown again "
                   "(it plans again and deletes only what is left).")
        super().__init__(
            f"S3 did not delete {len(self.errors)} of {total} object versions under s3://{bucket}/{scope}: "
            f"{shown}{more}.{why} Teardown stopped there: none of its later steps (bucket policy, bucket, key) "
            "was carried out.",
            fix,
        )


class BucketNotEmptyError(SetupError):
    """The bucket gdnb was about to delete holds objects the plan did not see."""

    def __init__(self, bucket: str, message: str) -> None:
        self.bucket = bucket
        super().__init__(
            f"S3 refused to delete the bucket {bucket!r}: it is not empty ({message}). Objects arrived after the "
            "plan was made; gdnb deletes only the export's objects, never anything else.",
            "plan and apply the teardown again: new export objects are deleted and the plan keeps the bucket if "
            "anything else is in it.",
        )


# What a GuardDuty BadRequestException usually means, by operation: the setting to look at.
_BAD_REQUEST_HINTS = {
    "CreateSampleFindings": "check sample_findings in the params file: GuardDuty makes samples only of the finding "
                            "types it generates today (retired types are refused); use 'all', 'none' or current "
                            "types",
    "CreatePublishingDestination": "check bucket, prefix and kms_alias: the bucket and the prefix's folder object "
                                   "must exist, the bucket and key policies must let GuardDuty in (run 00_kms_key "
                                   "and the bucket step of 01 with apply: true), and both must be in home_region",
    "UpdatePublishingDestination": "check bucket, prefix and kms_alias: the bucket and the prefix's folder object "
                                   "must exist, the bucket and key policies must let GuardDuty in (run 00_kms_key "
                                   "and the bucket step of 01 with apply: true), and both must be in home_region",
    "CreateDetector": "check publishing_frequency and tags in the params file",
    "UpdateDetector": "check publishing_frequency in the params file",
}


class GuardDutyRequestError(AwsError):
    """GuardDuty refused a request as invalid (``BadRequestException``)."""

    def __init__(self, operation: str, resource: str | None, message: str) -> None:
        self.operation = operation
        hint = _BAD_REQUEST_HINTS.get(operation, "check the values of the params file this step uses")
        super().__init__(
            f"GuardDuty refused {operation}{f' for {resource}' if resource else ''} as a bad request: "
            f"\"{message}\".",
            f"{hint}; correct it and run the step again.",
            "BadRequestException",
        )
