"""Helpers for the Athena-side tests (gdnb.athena, tables, partitions, notebooks 02-04).

They set up a sandbox the way a user would with gdnb itself (KMS key, findings bucket, export)
or write small export objects of their own (test data made here, not read from anywhere else).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import urllib.request
import uuid
from collections.abc import Iterable
from typing import Any

import boto3

from gdnb.config import Settings, load_settings
from gdnb.sandbox import control

ACCOUNT = "123456789012"


def reset(state: control.SandboxState) -> None:
    """Empty the sandbox (moto and gdnb's extensions)."""
    req = urllib.request.Request(f"{state.endpoint}/moto-api/reset", data=b"", method="POST")
    urllib.request.urlopen(req, timeout=30).read()


def settings(**overrides: Any) -> Settings:
    """Settings for a test deployment (apply on, no sample findings), with ``overrides``."""
    base = {"apply": True, "home_region": "us-east-1", "export_regions": ["us-east-1"], "sample_findings": "none",
            "bucket": "gdnb-test-findings", "account_id": ACCOUNT}
    return load_settings(overrides={**base, **overrides})


def setup_export(s: Settings) -> None:
    """Key, findings bucket and export in every exporting region, through gdnb's own setup plans."""
    from gdnb.setup import apply, plan_bucket, plan_export, plan_key

    for plan in (plan_key, plan_bucket, plan_export):
        apply(plan(s))


def seed(state: control.SandboxState, *, days: int, regions: Iterable[str], findings_per_day: int, seed: int = 7,
         end: dt.date | None = None) -> dict[str, Any]:
    """Seed a history through the sandbox's control route; returns its reply (with ``manifest_path``)."""
    body: dict[str, Any] = {"days": days, "regions": list(regions), "findings_per_day": findings_per_day,
                            "seed": seed}
    if end:
        body["end"] = end.isoformat()
    return control.control_call(state, "/_gdnb/seed", body)


def create_bucket(name: str, region: str) -> None:
    s3 = boto3.client("s3", region_name=region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})


def create_key_alias(region: str, alias: str = "alias/guardduty-alert") -> str:
    kms = boto3.client("kms", region_name=region)
    arn = kms.create_key(Description="test key")["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName=alias, TargetKeyId=arn)
    return arn


def finding(fid: str, ftype: str, *, region: str, updated: str, severity: float = 5.0, count: int = 1,
            account: str = ACCOUNT, resource: dict[str, Any] | None = None,
            action: dict[str, Any] | None = None) -> dict[str, Any]:
    """A small finding in the export form (camelCase keys, as GuardDuty writes them)."""
    return {
        "schemaVersion": "2.0", "accountId": account, "region": region, "partition": "aws", "id": fid,
        "arn": f"arn:aws:guardduty:{region}:{account}:detector/d/finding/{fid}", "type": ftype,
        "resource": resource or {"resourceType": "Instance", "instanceDetails": {"instanceId": "i-0abc"}},
        "service": {"serviceName": "guardduty", "action": action or {"actionType": "NETWORK_CONNECTION"},
                    "eventFirstSeen": updated, "eventLastSeen": updated, "archived": False, "count": count},
        "severity": severity, "createdAt": updated, "updatedAt": updated, "title": f"{ftype} title",
        "description": "test finding",
    }


def put_export_object(bucket: str, rows: list[dict[str, Any]], *, account: str, region: str, day: dt.date,
                      prefix: str = "", s3: Any = None) -> str:
    """Write rows as one gzip JSON Lines object where GuardDuty would; returns the key."""
    key = (f"{prefix + '/' if prefix else ''}AWSLogs/{account}/GuardDuty/{region}/"
           f"{day:%Y/%m/%d}/{uuid.uuid4()}.jsonl.gz")
    body = gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode())
    (s3 or boto3.client("s3", region_name="us-east-1")).put_object(Bucket=bucket, Key=key, Body=body)
    return key
