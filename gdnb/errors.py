"""The gdnb error hierarchy.

Every failure a user can cause is a :class:`GdnbError` whose message says what was wrong,
why, and what to do about it. AWS errors a user can cause are translated by
:func:`translate_client_error`.
"""

from __future__ import annotations

import os
import re
from typing import Any


class GdnbError(Exception):
    """Base class of every error gdnb raises on purpose.

    Parameters
    ----------
    message
        What went wrong and why.
    fix
        What the user should do about it.
    """

    def __init__(self, message: str, fix: str | None = None) -> None:
        self.message = message
        self.fix = fix
        super().__init__(f"{message}\nFix: {fix}" if fix else message)


class ConfigError(GdnbError):
    """A setting (params file, override or argument) is invalid."""

    def __init__(self, field: str, value: Any, rule: str, example: str, fix: str | None = None) -> None:
        self.field = field
        self.value = value
        self.rule = rule
        self.example = example
        super().__init__(
            f"Invalid setting {field!r}: {value!r} ({rule}).",
            fix or f"set {field} to a valid value, for example {example}.",
        )


class AwsError(GdnbError):
    """An AWS call failed for a reason the user can act on."""

    def __init__(self, message: str, fix: str | None = None, code: str | None = None) -> None:
        self.code = code
        super().__init__(message, fix)


class AccessDeniedError(AwsError):
    """The caller lacks a permission."""


class NotFoundError(AwsError):
    """A bucket, key, detector, table or query that should exist does not."""


class RegionMismatchError(AwsError):
    """Two resources that must share a region do not, or a request went to the wrong region.

    ``region`` is the region AWS named (where the resource lives), when it named one.
    """

    def __init__(self, message: str, fix: str | None = None, code: str | None = None, *,
                 region: str | None = None) -> None:
        self.region = region
        super().__init__(message, fix, code)


class CredentialsError(AwsError):
    """Credentials were found but AWS rejects them: expired, revoked, wrong secret, clock skew, SSO session over."""


class ThrottledError(AwsError):
    """AWS kept throttling the calls even after retries."""


class SetupError(GdnbError):
    """A setup step cannot go ahead as planned (conflicting or unsafe state)."""


class QueryError(GdnbError):
    """An Athena query failed, was refused, or is not valid."""

    def __init__(self, message: str, fix: str | None = None, query_id: str | None = None) -> None:
        self.query_id = query_id
        super().__init__(message, fix)


class SandboxError(GdnbError):
    """The sandbox could not be started, reached or used."""


_THROTTLE_CODES = {"Throttling", "ThrottlingException", "TooManyRequestsException", "SlowDown",
                   "RequestLimitExceeded"}

# Rejected credentials, by code: why AWS rejects them. The clock codes lead with the clock in the fix.
_CREDENTIAL_CODES = {
    "ExpiredToken": "the session token has expired",
    "ExpiredTokenException": "the session token has expired",
    "TokenRefreshRequired": "the session token has expired",
    "InvalidClientTokenId": "AWS does not recognize the access key id (deleted, deactivated, or a key of another "
                            "partition)",
    "UnrecognizedClientException": "AWS does not recognize the access key id or session token (deleted, "
                                   "deactivated, expired, or of another partition)",
    "InvalidAccessKeyId": "AWS does not recognize the access key id (deleted, deactivated, or of another partition)",
    "InvalidToken": "the session token is malformed or not valid",
    "AuthFailure": "AWS could not validate the credentials",
    "SignatureDoesNotMatch": "the request signature does not match: the secret access key does not belong to the "
                             "access key id, or this machine's clock is off",
    "RequestExpired": "the request's time is too far from AWS's time: this machine's clock is off",
    "RequestTimeTooSkewed": "the request's time is too far from AWS's time: this machine's clock is off",
    "InvalidSignatureException": "the request signature does not match: wrong secret access key, or this machine's "
                                 "clock is off",
}
_CLOCK_CODES = {"RequestExpired", "RequestTimeTooSkewed"}

# Wrong region, by code (plus HTTP 301 from S3, whatever the code).
_REGION_CODES = {"PermanentRedirect", "IllegalLocationConstraintException", "AuthorizationHeaderMalformed",
                 "301", "IncorrectEndpoint"}
_REGION_NAME = r"[a-z]{2}(?:-[a-z]+)+-\d+"
_EXPECTING = re.compile(rf"expecting '({_REGION_NAME})'")
_LOCATION_CONSTRAINT = re.compile(rf"\b({_REGION_NAME}|unspecified) location constraint")
_ENDPOINT_REGION = re.compile(rf"\bs3[.-]({_REGION_NAME})\.amazonaws\.com")


def credentials_fix(profile: str | None = None, *, clock_first: bool = False) -> str:
    """What to do about rejected credentials (``profile`` defaults to ``$AWS_PROFILE``)."""
    profile = profile or os.environ.get("AWS_PROFILE")
    flag = f" --profile {profile}" if profile else ""
    clock = ("check this machine's clock (`date -u`; it must be within 5 minutes of the real time, so turn on "
             "time synchronisation)")
    refresh = (f"refresh your credentials: `aws sso login{flag}` for an SSO profile, new access keys "
               f"(`aws configure{flag}`) or a new session token for keys, or export fresh AWS_ACCESS_KEY_ID/"
               "AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN together")
    return f"{clock}; then, if it still fails, {refresh}." if clock_first else f"{refresh}; and {clock}."


def region_named_by_aws(response: dict[str, Any]) -> str | None:
    """The region an AWS error answer names as the right one, if it names one.

    Looked for in the error's ``Region`` field, the ``x-amz-bucket-region`` header, the message's
    ``expecting '<region>'``, the redirect ``Endpoint`` and the location constraint of
    ``IllegalLocationConstraintException``.
    """
    err = response.get("Error") or {}
    if isinstance(err.get("Region"), str) and re.fullmatch(_REGION_NAME, err["Region"]):
        return err["Region"]
    headers = (response.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
    header = next((v for k, v in headers.items() if str(k).lower() == "x-amz-bucket-region"), None)
    if isinstance(header, str) and re.fullmatch(_REGION_NAME, header):
        return header
    msg = str(err.get("Message", ""))
    for pattern, text in ((_EXPECTING, msg), (_ENDPOINT_REGION, str(err.get("Endpoint", ""))),
                          (_LOCATION_CONSTRAINT, msg)):
        match = pattern.search(text)
        if match and match.group(1) != "unspecified":
            return match.group(1)
    return None


def translate_client_error(exc: Exception, action: str, resource: str | None = None, *,
                           profile: str | None = None) -> GdnbError | Exception:
    """Turn a botocore ``ClientError`` a user can cause into a :class:`GdnbError`.

    Parameters
    ----------
    exc
        The exception raised by a boto3 call.
    action
        The IAM action that was attempted, e.g. ``s3:PutBucketPolicy``.
    resource
        The ARN or name of the resource the call was about.
    profile
        The AWS profile in use (named in the fix of rejected credentials; ``$AWS_PROFILE`` by default).

    Returns
    -------
    The translated error, or ``exc`` itself when it is not one a user can act on.
    """
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return exc
    err = response.get("Error", {})
    code = str(err.get("Code", ""))
    msg = str(err.get("Message", ""))
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    where = f" on {resource}" if resource else ""
    if code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "403"}:
        return AccessDeniedError(
            f"Access denied: {action}{where} ({msg or code}).",
            f"grant the caller the IAM permission {action}{where} (identity policy, and the "
            "resource's own policy where it has one), or run with a profile that has it (AWS_PROFILE).",
            code,
        )
    if code in {"NoSuchBucket", "NotFoundException", "ResourceNotFoundException", "EntityNotFoundException",
                "NoSuchKey", "404"}:
        return NotFoundError(
            f"Not found: {resource or action} ({msg or code}).",
            "check the name and the region in your params file; create it first with the setup notebooks.",
            code,
        )
    if code in _CREDENTIAL_CODES:
        return CredentialsError(
            f"AWS rejected the credentials for {action}{where}: {_CREDENTIAL_CODES[code]} ({code}: {msg or code}).",
            credentials_fix(profile, clock_first=code in _CLOCK_CODES),
            code,
        )
    if code in _REGION_CODES or status == 301 or ("region" in msg.lower() and "wrong" in msg.lower()):
        region = region_named_by_aws(response)
        if code == "AuthorizationHeaderMalformed" and not region and "region" not in msg.lower():
            return CredentialsError(  # e.g. "a non-empty Access Key (AKID) must be provided in the credential"
                f"AWS rejected the request's credentials for {action}{where} ({code}: {msg or code}).",
                credentials_fix(profile), code)
        return _region_mismatch(code, msg, action, resource, region)
    if code in _THROTTLE_CODES:
        return ThrottledError(
            f"AWS throttled {action}{where} even after retries ({msg or code}).",
            "wait a minute and run again, or lower the request rate (fewer parallel jobs).",
            code,
        )
    return exc


def _region_mismatch(code: str, msg: str, action: str, resource: str | None, region: str | None
                     ) -> RegionMismatchError:
    what = resource or action
    detail = msg or code
    if code == "IllegalLocationConstraintException":
        named = f"region {region}" if region else "no region (us-east-1)"
        return RegionMismatchError(
            f"Wrong region for {what}: the bucket's location constraint names {named}, but the request went to "
            f"another region's endpoint ({detail}).",
            f"create the bucket from a client of the region it should live in{f' ({region})' if region else ''}: "
            "set home_region in your params file to that region.",
            code, region=region)
    if region:
        return RegionMismatchError(
            f"Wrong region for {what}: AWS says it lives in {region} ({detail}).",
            f"use region {region} for it in your params file (home_region for the findings bucket and key, "
            "athena_region for Athena), or name a resource that lives in the region you use.",
            code, region=region)
    return RegionMismatchError(
        f"Wrong region for {what}: the request went to a region other than the one it lives in ({detail}).",
        "use the region the resource lives in in your params file (the S3 console shows a bucket's region; "
        "`aws s3api get-bucket-location --bucket NAME` prints it).",
        code)
