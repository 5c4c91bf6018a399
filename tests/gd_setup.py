"""Set up a GuardDuty S3 export through boto3, as a user would: KMS key and key policy, bucket and bucket
policy, detector, publishing destination. The policies are the documented ones (GuardDuty user guide,
"Exporting generated GuardDuty findings to Amazon S3", steps 2 and 3).

Every step is a function so tests can leave one out or change it to provoke the service's checks.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
from typing import Any

import boto3
from botocore.config import Config

NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})


def client(service: str, region: str) -> Any:
    """A boto3 client for the sandbox (the endpoint comes from the environment the fixtures export)."""
    return boto3.client(service, region_name=region, config=NO_RETRY)


def account_id() -> str:
    return client("sts", "us-east-1").get_caller_identity()["Account"]


def detector_arn(account: str, region: str, detector_id: str) -> str:
    return f"arn:aws:guardduty:{region}:{account}:detector/{detector_id}"


# -- policies (as documented) ----------------------------------------------------------------------------
def key_admin_statement(account: str) -> dict[str, Any]:
    return {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"}


def guardduty_key_statement(account: str, region: str, detector_id: str, key_arn: str) -> dict[str, Any]:
    return {"Sid": "AllowGuardDutyKey", "Effect": "Allow", "Principal": {"Service": "guardduty.amazonaws.com"},
            "Action": "kms:GenerateDataKey", "Resource": key_arn,
            "Condition": {"StringEquals": {"aws:SourceAccount": account,
                                           "aws:SourceArn": detector_arn(account, region, detector_id)}}}


def guardduty_bucket_statements(bucket: str, prefix: str, account: str, region: str, detector_id: str,
                                key_arn: str) -> list[dict[str, Any]]:
    """The five documented statements (GetBucketLocation, PutObject, two encryption Denies, non-HTTPS Deny)."""
    objects = f"arn:aws:s3:::{bucket}/{prefix + '/' if prefix else ''}*"
    source = {"aws:SourceAccount": account, "aws:SourceArn": detector_arn(account, region, detector_id)}
    gd = {"Service": "guardduty.amazonaws.com"}
    return [
        {"Sid": "Allow GetBucketLocation", "Effect": "Allow", "Principal": gd, "Action": "s3:GetBucketLocation",
         "Resource": f"arn:aws:s3:::{bucket}", "Condition": {"StringEquals": source}},
        {"Sid": "Allow PutObject", "Effect": "Allow", "Principal": gd, "Action": "s3:PutObject",
         "Resource": objects, "Condition": {"StringEquals": source}},
        {"Sid": "Deny unencrypted object uploads", "Effect": "Deny", "Principal": gd, "Action": "s3:PutObject",
         "Resource": objects, "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}},
        {"Sid": "Deny incorrect encryption header", "Effect": "Deny", "Principal": gd, "Action": "s3:PutObject",
         "Resource": objects,
         "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn}}},
        {"Sid": "Deny non-HTTPS access", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": objects, "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


# -- steps ------------------------------------------------------------------------------------------------
def create_detector(region: str) -> str:
    return client("guardduty", region).create_detector(Enable=True, FindingPublishingFrequency="FIFTEEN_MINUTES")[
        "DetectorId"]


def create_key(region: str) -> str:
    """A customer-managed key; returns its ARN."""
    return client("kms", region).create_key(Description="guardduty findings export")["KeyMetadata"]["Arn"]


def put_key_policy(region: str, key_arn: str, *statements: dict[str, Any]) -> None:
    client("kms", region).put_key_policy(KeyId=key_arn, PolicyName="default", Policy=policy(*statements))


def create_bucket(name: str, region: str) -> None:
    s3 = client("s3", region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})


def put_bucket_policy(bucket: str, region: str, *statements: dict[str, Any]) -> None:
    client("s3", region).put_bucket_policy(Bucket=bucket, Policy=policy(*statements))


def create_destination(region: str, detector_id: str, bucket: str, prefix: str, key_arn: str) -> str:
    arn = f"arn:aws:s3:::{bucket}/{prefix}" if prefix else f"arn:aws:s3:::{bucket}"
    return client("guardduty", region).create_publishing_destination(
        DetectorId=detector_id, DestinationType="S3",
        DestinationProperties={"DestinationArn": arn, "KmsKeyArn": key_arn})["DestinationId"]


@dataclasses.dataclass(frozen=True)
class Export:
    """A region whose detector exports to a bucket."""

    region: str
    account_id: str
    detector_id: str
    key_arn: str
    bucket: str
    prefix: str
    destination_id: str

    @property
    def location_prefix(self) -> str:
        """The key prefix of this region's export: ``[prefix/]AWSLogs/<account>/GuardDuty/<region>/``."""
        return f"{self.prefix + '/' if self.prefix else ''}AWSLogs/{self.account_id}/GuardDuty/{self.region}/"


def setup_export(region: str, bucket: str, prefix: str = "", *, detector_id: str | None = None,
                 bucket_region: str | None = None) -> Export:
    """Key, key policy, bucket, bucket policy, detector and destination, all as documented.

    ``bucket_region`` puts the bucket (and its key) in another region than the detector.
    """
    account = account_id()
    where = bucket_region or region
    detector_id = detector_id or create_detector(region)
    key_arn = create_key(where)
    put_key_policy(where, key_arn, key_admin_statement(account),
                   guardduty_key_statement(account, region, detector_id, key_arn))
    create_bucket(bucket, where)
    put_bucket_policy(bucket, where, *guardduty_bucket_statements(bucket, prefix, account, region, detector_id,
                                                                  key_arn))
    destination_id = create_destination(region, detector_id, bucket, prefix, key_arn)
    return Export(region, account, detector_id, key_arn, bucket, prefix, destination_id)


# -- reading the export back ---------------------------------------------------------------------------------
def list_keys(bucket: str, prefix: str = "", region: str = "us-east-1") -> list[str]:
    s3 = client("s3", region)
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(o["Key"] for o in page.get("Contents", []))
    return keys


def read_findings(bucket: str, key: str, region: str = "us-east-1") -> list[dict[str, Any]]:
    """The findings of one export object (gunzipped JSON Lines)."""
    body = client("s3", region).get_object(Bucket=bucket, Key=key)["Body"].read()
    return [json.loads(line) for line in gzip.decompress(body).decode().splitlines() if line.strip()]
