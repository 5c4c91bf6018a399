"""The key, the bucket and their policies as a CloudFormation template, for teams that deploy with stacks.

The statements come from the same functions the notebooks apply (:mod:`gdnb.setup.policies`), so the
template and the notebooks cannot drift apart. What CloudFormation cannot do in one regional stack stays
with gdnb: detectors and publishing destinations in other regions, and the prefix's folder object.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from gdnb.config import Settings
from gdnb.setup.bucket import PUBLIC_ACCESS_BLOCK
from gdnb.setup.calls import AwsCalls
from gdnb.setup.common import preflight, resolve_account, tag_list
from gdnb.setup.detectors import NEW, detectors_for_plan
from gdnb.setup.key import KEY_DESCRIPTION
from gdnb.setup.policies import (
    POLICY_VERSION,
    bucket_statements,
    destination_arn,
    detector_arn,
    key_statements,
    new_key_policy,
)

KEY_ID = "GuardDutyExportKey"
ALIAS_ID = "GuardDutyExportKeyAlias"
BUCKET_ID = "FindingsBucket"
POLICY_ID = "FindingsBucketPolicy"

# Every setting the template is rendered from: a notebook that shows the template declares them all, or the
# template would differ from what the notebooks applied (e.g. without the readers' kms:Decrypt statement).
TEMPLATE_SETTINGS: tuple[str, ...] = ("home_region", "export_regions", "kms_alias", "bucket", "prefix",
                                      "reader_principals", "tags", "key_pending_days")


def render_cloudformation(settings: Settings, *, account: str, detector_arns: Sequence[str],
                          partition: str = "aws") -> dict[str, Any]:
    """The template (a dict) for the key, its alias, the bucket and the bucket policy.

    Parameters
    ----------
    settings
        Uses ``home_region`` (the stack's region), ``kms_alias``, ``bucket``, ``prefix``,
        ``export_regions``, ``reader_principals``, ``tags``, ``key_pending_days``.
    account
        The account of the exporting detectors.
    detector_arns
        Every exporting detector's ARN.
    """
    regions = settings.exporting_regions
    key_arn = {"Fn::GetAtt": [KEY_ID, "Arn"]}
    key_policy = new_key_policy(account, key_statements(
        account=account, detector_arns=detector_arns, regions=regions, reader_principals=settings.reader_principals,
        home_region=settings.home_region), partition)
    bucket_policy = {"Version": POLICY_VERSION, "Statement": bucket_statements(
        bucket=settings.bucket, prefix=settings.prefix, key_arn=key_arn, account=account,
        detector_arns=detector_arns, regions=regions, partition=partition)}
    retain = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}  # never lose the findings with a stack
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"gdnb: KMS key {settings.kms_alias} and findings bucket {settings.bucket} for GuardDuty's "
                       f"S3 export from {', '.join(regions)} (deploy in {settings.home_region}).",
        "Metadata": {"gdnb": {
            "note": "Detectors, publishing destinations (one per exporting region) and the prefix's folder object "
                    "are made by gdnb's notebooks, not by this stack.",
            "destination_arn": destination_arn(partition, settings.bucket, settings.prefix),
            "detector_arns": list(detector_arns)}},
        "Resources": {
            KEY_ID: {
                "Type": "AWS::KMS::Key", **retain,
                "Properties": {
                    "Description": KEY_DESCRIPTION.format(alias=settings.kms_alias),
                    "KeySpec": "SYMMETRIC_DEFAULT",
                    "KeyUsage": "ENCRYPT_DECRYPT",
                    "EnableKeyRotation": True,
                    "PendingWindowInDays": settings.key_pending_days,
                    "KeyPolicy": key_policy,
                    "Tags": tag_list(settings),
                },
            },
            ALIAS_ID: {
                "Type": "AWS::KMS::Alias",
                "Properties": {"AliasName": settings.kms_alias, "TargetKeyId": {"Ref": KEY_ID}},
            },
            BUCKET_ID: {
                "Type": "AWS::S3::Bucket", **retain,
                "Properties": {
                    "BucketName": settings.bucket,
                    "PublicAccessBlockConfiguration": dict(PUBLIC_ACCESS_BLOCK),
                    "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                    "BucketEncryption": {"ServerSideEncryptionConfiguration": [{
                        "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
                        "BucketKeyEnabled": True}]},
                    "Tags": tag_list(settings),
                },
            },
            POLICY_ID: {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {"Bucket": {"Ref": BUCKET_ID}, "PolicyDocument": bucket_policy},
            },
        },
        "Outputs": {
            "KeyArn": {"Description": "the key GuardDuty encrypts exports with", "Value": key_arn},
            "BucketName": {"Description": "the findings bucket", "Value": {"Ref": BUCKET_ID}},
            "DestinationArn": {"Description": "publishing destination of every exporting detector",
                               "Value": destination_arn(partition, settings.bucket, settings.prefix)},
        },
    }


def cloudformation_template(settings: Settings, calls: AwsCalls | None = None) -> dict[str, Any]:
    """:func:`render_cloudformation` for this account's exporting detectors (read-only calls).

    In a dry run before notebook 00 created the detectors, their ARNs end in ``detector/(new)`` (a note in
    the template's metadata says so): deploy it only once they exist.
    """
    preflight(settings)
    calls = calls or AwsCalls(settings)
    where = resolve_account(calls, settings)
    detectors = detectors_for_plan(calls, settings)
    arns = sorted(detector_arn(where.partition, r, where.account, d.detector_id) for r, d in detectors.items())
    template = render_cloudformation(settings, account=where.account, detector_arns=arns, partition=where.partition)
    planned = sorted(r for r, d in detectors.items() if d.planned)
    if planned:
        template["Metadata"]["gdnb"]["planned"] = (
            f"no detector yet in {', '.join(planned)}: the ARNs ending in detector/{NEW} stand for the ones "
            "00_kms_key creates; render the template again after applying it, before deploying.")
    return template


class _NoAliasDumper(yaml.SafeDumper):
    # CloudFormation rejects YAML anchors and aliases, which PyYAML writes for repeated objects.
    def ignore_aliases(self, data: Any) -> bool:
        return True


def cloudformation_yaml(template: dict[str, Any]) -> str:
    """The template as YAML (long-form intrinsic functions, so any YAML reader loads it)."""
    return yaml.dump(template, Dumper=_NoAliasDumper, sort_keys=False, width=120)
