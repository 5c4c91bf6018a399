"""AWS region names gdnb knows, and which of them are opt-in regions.

GuardDuty's export rules depend on the kind of region: findings from a commercial (default)
region may go to a bucket in any commercial region but not to an opt-in region; findings from
an opt-in region may go to the same opt-in region or to any commercial region.
"""

from __future__ import annotations

COMMERCIAL_REGIONS: frozenset[str] = frozenset({
    "us-east-1", "us-east-2", "us-west-1", "us-west-2",
    "ca-central-1", "sa-east-1",
    "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ap-south-1", "ap-southeast-1", "ap-southeast-2",
})

OPT_IN_REGIONS: frozenset[str] = frozenset({
    "af-south-1", "ap-east-1", "ap-east-2", "ap-south-2", "ap-southeast-3", "ap-southeast-4",
    "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-west-1", "eu-central-2", "eu-south-1",
    "eu-south-2", "il-central-1", "me-central-1", "me-south-1", "mx-central-1",
})

OTHER_PARTITION_REGIONS: frozenset[str] = frozenset({
    "us-gov-east-1", "us-gov-west-1", "cn-north-1", "cn-northwest-1",
})

ALL_REGIONS: frozenset[str] = COMMERCIAL_REGIONS | OPT_IN_REGIONS | OTHER_PARTITION_REGIONS


def is_opt_in(region: str) -> bool:
    """Return True for regions that must be enabled per account before use."""
    return region in OPT_IN_REGIONS


def partition_of(region: str) -> str:
    """The ARN partition of a region (``aws``, ``aws-us-gov`` or ``aws-cn``)."""
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws"


def export_allowed(finding_region: str, bucket_region: str) -> bool:
    """Whether GuardDuty in ``finding_region`` may export to a bucket in ``bucket_region``."""
    if partition_of(finding_region) != partition_of(bucket_region):
        return False
    if finding_region == bucket_region:
        return True
    # Neither side may be an opt-in region other than the finding's own region.
    return not is_opt_in(bucket_region)
