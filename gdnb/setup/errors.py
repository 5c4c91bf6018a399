"""Errors particular to setting up the export: each says what is wrong, why it matters, and the fix."""

from __future__ import annotations

from gdnb.errors import RegionMismatchError, SetupError


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
