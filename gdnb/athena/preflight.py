"""Checks made before the first query of a session, so failures come with what to do.

* The findings bucket must be in Athena's region. Otherwise every query over the tables fails
  deep inside Athena with ``HIVE_CURSOR_ERROR: The authorization header is malformed; the
  region 'us-east-1' is wrong; expecting 'ap-northeast-1'``.
* The workgroup must exist and be enabled, and its output location must be writable.
* The tables a query names must exist (and so must their database).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import botocore.exceptions

from gdnb.config import Settings
from gdnb.errors import AccessDeniedError, GdnbError, NotFoundError, RegionMismatchError, translate_client_error

log = logging.getLogger(__name__)

CREATE_TABLES_FIX = ("create it with notebook 02_create_tables (or gdnb.tables.create_tables(session, apply=True)); "
                     "check `database` in the params file.")
WORKGROUP_FIX = ("create it with notebook 02_create_tables (or gdnb.athena.ensure_workgroup(settings, apply=True)), "
                 "or set `workgroup` in the params file to one that exists in this region.")


def _code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def bucket_region(s3: Any, bucket: str) -> str:
    """The region of ``bucket`` (GetBucketLocation; an empty answer means us-east-1, ``EU`` eu-west-1).

    Raises
    ------
    NotFoundError, AccessDeniedError
        When the bucket does not exist or cannot be asked.
    """
    try:
        answer = s3.get_bucket_location(Bucket=bucket)
    except botocore.exceptions.ClientError as exc:
        err = translate_client_error(exc, "s3:GetBucketLocation", f"s3://{bucket}")
        if isinstance(err, NotFoundError):
            raise NotFoundError(f"The findings bucket s3://{bucket} does not exist.",
                                "create it with notebook 01_bucket_and_export, or set `bucket` in the params file "
                                "to the bucket GuardDuty exports to.", err.code) from exc
        raise err from exc
    location = answer.get("LocationConstraint") or "us-east-1"
    return "eu-west-1" if location == "EU" else location


def check_bucket_region(settings: Settings, s3: Any) -> str:
    """Raise :class:`RegionMismatchError` unless the findings bucket is in Athena's region.

    Returns
    -------
    The bucket's region.
    """
    where = bucket_region(s3, settings.bucket)
    athena = settings.query_region
    if where != athena:
        source = "athena_region" if settings.athena_region else "home_region (athena_region is not set)"
        raise RegionMismatchError(
            f"The findings bucket s3://{settings.bucket} is in {where}, but Athena would run in {athena} "
            f"(from {source}). Every query over its tables would fail with HIVE_CURSOR_ERROR: The authorization "
            f"header is malformed; the region '{athena}' is wrong; expecting '{where}'.",
            f"set athena_region: {where} in the params file (Athena, its workgroup and the results bucket then "
            f"live in the bucket's region {where}) and run notebook 02_create_tables again.",
            "RegionMismatch",
        )
    return where


def check_workgroup(settings: Settings, athena: Any) -> dict[str, Any]:
    """The workgroup's description; raise when it is missing or disabled."""
    try:
        answer = athena.get_work_group(WorkGroup=settings.workgroup)
    except botocore.exceptions.ClientError as exc:
        if _code(exc) in ("InvalidRequestException", "ResourceNotFoundException"):
            raise NotFoundError(f"The Athena workgroup {settings.workgroup!r} does not exist in "
                                f"{settings.query_region} ({exc.response['Error'].get('Message', '')}).",
                                WORKGROUP_FIX, _code(exc)) from exc
        raise translate_client_error(exc, "athena:GetWorkGroup", settings.workgroup) from exc
    workgroup = answer.get("WorkGroup")
    if not workgroup:
        raise NotFoundError(f"The Athena workgroup {settings.workgroup!r} does not exist in {settings.query_region}.",
                            WORKGROUP_FIX)
    if workgroup.get("State", "ENABLED") != "ENABLED":
        raise GdnbError(f"The Athena workgroup {settings.workgroup!r} is disabled: queries in it are refused.",
                        "enable it (gdnb.athena.ensure_workgroup(settings, apply=True) does), or use another one.")
    return workgroup


def effective_output_location(workgroup: dict[str, Any], staging_dir: str) -> str:
    """Where Athena writes results: the workgroup's location when it is enforced, else ``staging_dir``."""
    config = workgroup.get("Configuration") or {}
    enforced = (config.get("ResultConfiguration") or {}).get("OutputLocation")
    if config.get("EnforceWorkGroupConfiguration") and enforced:
        return enforced if enforced.endswith("/") else enforced + "/"
    return staging_dir


def check_output_location(s3: Any, location: str) -> None:
    """Write and delete a marker under ``location`` to prove Athena's results can land there."""
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    key = f"{prefix}_gdnb_preflight/{uuid.uuid4().hex}"
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
        s3.delete_object(Bucket=bucket, Key=key)
    except botocore.exceptions.ClientError as exc:
        err = translate_client_error(exc, "s3:PutObject", location)
        if isinstance(err, NotFoundError):
            raise NotFoundError(f"The Athena results location {location} is in a bucket that does not exist.",
                                "create it with notebook 02_create_tables (gdnb.athena.ensure_workgroup(settings, "
                                "apply=True) makes the results bucket), or set results_bucket.", err.code) from exc
        if isinstance(err, AccessDeniedError):
            raise AccessDeniedError(f"Athena results cannot be written to {location}: {err.message}",
                                    "grant s3:PutObject on the results bucket and kms:GenerateDataKey on its key.",
                                    err.code) from exc
        raise err from exc


def get_table(settings: Settings, glue: Any, table: str) -> dict[str, Any]:
    """The Glue definition of ``database.table``; raise NotFoundError saying how to create it."""
    try:
        return glue.get_table(DatabaseName=settings.database, Name=table)["Table"]
    except botocore.exceptions.ClientError as exc:
        if _code(exc) == "EntityNotFoundException":
            message = exc.response.get("Error", {}).get("Message", "")
            what = (f"The database {settings.database!r}" if "database" in message.lower()
                    and "table" not in message.lower() else f"The table {settings.database}.{table}")
            raise NotFoundError(f"{what} does not exist in the Glue catalog of {settings.query_region}.",
                                CREATE_TABLES_FIX, _code(exc)) from exc
        raise translate_client_error(exc, "glue:GetTable", f"{settings.database}.{table}") from exc


def partition_keys(table: dict[str, Any]) -> list[str]:
    """The partition column names of a Glue table, lower-cased."""
    return [k["Name"].lower() for k in table.get("PartitionKeys") or []]
