"""The Athena workgroup and its results bucket: plan, then apply.

The workgroup enforces its settings on every query, whatever the client asks for:

* results go to ``s3://<athena_results_bucket>/results/``, a bucket of their own (the findings
  bucket's policy refuses any other writer), encrypted with SSE-KMS under the findings key;
* ``BytesScannedCutoffPerQuery`` = ``settings.bytes_scanned_cutoff`` cancels a runaway query
  before it costs more than that.
"""

from __future__ import annotations

import logging
from typing import Any

import botocore.exceptions

from gdnb import aws
from gdnb.athena.preflight import bucket_region
from gdnb.config import Settings
from gdnb.errors import NotFoundError, RegionMismatchError, SetupError, translate_client_error
from gdnb.setup.common import tag_list
from gdnb.setup.plan import CREATE, NOOP, UPDATE, Context, Plan
from gdnb.setup.plan import apply as apply_plan

log = logging.getLogger(__name__)

ENGINE_VERSION = "Athena engine version 3"
RESULTS_PREFIX = "results/"


def output_location(settings: Settings) -> str:
    """``s3://<athena_results_bucket>/results/``."""
    return f"s3://{settings.athena_results_bucket}/{RESULTS_PREFIX}"


def findings_key_arn(settings: Settings, kms: Any) -> str:
    """The ARN of the findings key (``settings.kms_alias``) in Athena's region."""
    try:
        return kms.describe_key(KeyId=settings.kms_alias)["KeyMetadata"]["Arn"]
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NotFoundException":
            raise NotFoundError(
                f"The KMS key {settings.kms_alias} does not exist in {settings.query_region}; the Athena results "
                "are encrypted with the findings key.",
                "create it with notebook 00_kms_key (in the findings bucket's region, which must also be "
                "athena_region), or set kms_alias.", "NotFoundException") from exc
        raise translate_client_error(exc, "kms:DescribeKey", settings.kms_alias) from exc


def wanted_configuration(settings: Settings, key_arn: str) -> dict[str, Any]:
    """The workgroup ``Configuration`` gdnb wants (CreateWorkGroup shape)."""
    return {
        "ResultConfiguration": {
            "OutputLocation": output_location(settings),
            "EncryptionConfiguration": {"EncryptionOption": "SSE_KMS", "KmsKey": key_arn},
        },
        "EnforceWorkGroupConfiguration": True,
        "PublishCloudWatchMetricsEnabled": True,
        "BytesScannedCutoffPerQuery": settings.bytes_scanned_cutoff,
        "EngineVersion": {"SelectedEngineVersion": ENGINE_VERSION},
    }


def workgroup_differences(current: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """``field: current -> wanted`` for each enforced setting that differs."""
    cur_result = current.get("ResultConfiguration") or {}
    cur_enc = cur_result.get("EncryptionConfiguration") or {}
    want_enc = wanted["ResultConfiguration"]["EncryptionConfiguration"]
    pairs = [
        ("OutputLocation", cur_result.get("OutputLocation"), wanted["ResultConfiguration"]["OutputLocation"]),
        ("EncryptionOption", cur_enc.get("EncryptionOption"), want_enc["EncryptionOption"]),
        ("KmsKey", cur_enc.get("KmsKey"), want_enc["KmsKey"]),
        ("EnforceWorkGroupConfiguration", bool(current.get("EnforceWorkGroupConfiguration")), True),
        ("BytesScannedCutoffPerQuery", current.get("BytesScannedCutoffPerQuery"),
         wanted["BytesScannedCutoffPerQuery"]),
    ]
    return [f"{name}: {cur!r} -> {want!r}" for name, cur, want in pairs if cur != want]


def _configuration_updates(wanted: dict[str, Any]) -> dict[str, Any]:
    return {
        "EnforceWorkGroupConfiguration": True,
        "ResultConfigurationUpdates": {
            "OutputLocation": wanted["ResultConfiguration"]["OutputLocation"],
            "EncryptionConfiguration": wanted["ResultConfiguration"]["EncryptionConfiguration"],
        },
        "PublishCloudWatchMetricsEnabled": True,
        "BytesScannedCutoffPerQuery": wanted["BytesScannedCutoffPerQuery"],
    }


def _bucket_state(settings: Settings, s3: Any) -> tuple[bool, list[str]]:
    """Whether the results bucket exists, and what differs from what gdnb wants (when it does)."""
    bucket = settings.athena_results_bucket
    try:
        s3.head_bucket(Bucket=bucket)
    except botocore.exceptions.ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchBucket", "NotFound"):
            return False, []
        if code in ("403", "AccessDenied"):
            raise SetupError(f"The results bucket name {bucket!r} is taken by another account (or you cannot "
                             "read it).", "set results_bucket to a name of your own in the params file.") from exc
        raise translate_client_error(exc, "s3:HeadBucket", bucket) from exc
    region = bucket_region(s3, bucket)
    if region != settings.query_region:
        raise RegionMismatchError(
            f"The results bucket s3://{bucket} is in {region}, but Athena runs in {settings.query_region}.",
            f"set results_bucket to a new name (gdnb creates it in {settings.query_region}), or athena_region: "
            f"{region}.", "RegionMismatch")
    differences = []
    try:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        default = rules[0].get("ApplyServerSideEncryptionByDefault", {}) if rules else {}
    except botocore.exceptions.ClientError:
        default = {}
    if default.get("SSEAlgorithm") != "aws:kms":
        differences.append(f"default encryption: {default.get('SSEAlgorithm')!r} -> 'aws:kms'")
    try:
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except botocore.exceptions.ClientError:
        block = {}
    if not all(block.get(k) for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy",
                                      "RestrictPublicBuckets")):
        differences.append("public access block: not all on -> all on")
    return True, differences


def _aws(action: str, resource: str, run: Any) -> Any:
    """``run`` with AWS errors a user can cause turned into gdnb errors."""
    def wrapped(ctx: Context) -> None:
        try:
            run(ctx)
        except botocore.exceptions.ClientError as exc:
            raise translate_client_error(exc, action, resource) from exc
    return wrapped


def plan_workgroup(settings: Settings) -> Plan:
    """Plan the results bucket and the workgroup (create / update / no-op); nothing changes yet.

    Apply it with ``gdnb.setup.apply(plan)`` (acts only when ``settings.apply``), or use
    :func:`ensure_workgroup`.

    Raises
    ------
    NotFoundError
        When the findings key (``kms_alias``) is missing in Athena's region.
    RegionMismatchError, SetupError
        When the results bucket exists in another region or belongs to someone else.
    """
    region = settings.query_region
    s3 = aws.client("s3", region, settings)
    athena = aws.client("athena", region, settings)
    key_arn = findings_key_arn(settings, aws.client("kms", region, settings))
    plan = Plan(title=f"Athena workgroup {settings.workgroup} and results bucket", settings=settings)
    plan.outputs.update({"key_arn": key_arn, "output_location": output_location(settings)})
    bucket = settings.athena_results_bucket

    def create_bucket(_ctx: Context) -> None:
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**kwargs)
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tag_list(settings)})
        secure_bucket(_ctx)

    def secure_bucket(_ctx: Context) -> None:
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True})
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
            "BucketKeyEnabled": True}]})

    exists, differences = _bucket_state(settings, s3)
    step = "athena results bucket"
    if not exists:
        plan.add(step, f"s3://{bucket}", CREATE, f"SSE-KMS with {settings.kms_alias}, public access blocked",
                 region, _aws("s3:CreateBucket", bucket, create_bucket))
    elif differences:
        plan.add(step, f"s3://{bucket}", UPDATE, "; ".join(differences), region,
                 _aws("s3:PutBucketEncryption", bucket, secure_bucket))
    else:
        plan.add(step, f"s3://{bucket}", NOOP, "SSE-KMS, public access blocked", region)

    wanted = wanted_configuration(settings, key_arn)
    current = _get_workgroup(athena, settings.workgroup)

    def create_workgroup(_ctx: Context) -> None:
        athena.create_work_group(
            Name=settings.workgroup, Configuration=wanted,
            Description="gdnb: GuardDuty findings queries (results SSE-KMS, enforced, bytes cutoff)",
            Tags=tag_list(settings))

    def update_workgroup(_ctx: Context) -> None:
        athena.update_work_group(WorkGroup=settings.workgroup, State="ENABLED",
                                 ConfigurationUpdates=_configuration_updates(wanted))

    step = "athena workgroup"
    if current is None:
        plan.add(step, settings.workgroup, CREATE,
                 f"results in {output_location(settings)} (SSE-KMS, enforced), cutoff "
                 f"{settings.bytes_scanned_cutoff} bytes per query", region,
                 _aws("athena:CreateWorkGroup", settings.workgroup, create_workgroup))
    else:
        diff = workgroup_differences(current.get("Configuration") or {}, wanted)
        if current.get("State", "ENABLED") != "ENABLED":
            diff.append("State: 'DISABLED' -> 'ENABLED'")
        if diff:
            plan.add(step, settings.workgroup, UPDATE, "; ".join(diff), region,
                     _aws("athena:UpdateWorkGroup", settings.workgroup, update_workgroup))
        else:
            plan.add(step, settings.workgroup, NOOP, "enforced, SSE-KMS, cutoff as set", region)
    return plan


def _get_workgroup(athena: Any, name: str) -> dict[str, Any] | None:
    try:
        return athena.get_work_group(WorkGroup=name).get("WorkGroup") or None
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("InvalidRequestException", "ResourceNotFoundException"):
            return None
        raise translate_client_error(exc, "athena:GetWorkGroup", name) from exc


def ensure_workgroup(settings: Settings, apply: bool | None = None) -> Plan:
    """Plan the results bucket and workgroup, and apply the plan when ``apply`` (default ``settings.apply``).

    Returns
    -------
    The plan (its actions' ``status`` say what was done). A second call is all ``no-op``.
    """
    if apply is not None and apply != settings.apply:
        settings = settings.replace(apply=apply)
    return apply_plan(plan_workgroup(settings))
