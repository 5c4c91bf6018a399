"""The gdnb error hierarchy.

Every failure a user can cause is a :class:`GdnbError` whose message says what was wrong,
why, and what to do about it. AWS errors a user can cause are translated by
:func:`translate_client_error`.
"""

from __future__ import annotations

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
    """Two resources that must share a region do not."""


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


def translate_client_error(exc: Exception, action: str, resource: str | None = None) -> GdnbError | Exception:
    """Turn a botocore ``ClientError`` a user can cause into a :class:`GdnbError`.

    Parameters
    ----------
    exc
        The exception raised by a boto3 call.
    action
        The IAM action that was attempted, e.g. ``s3:PutBucketPolicy``.
    resource
        The ARN or name of the resource the call was about.

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
    if code == "AuthorizationHeaderMalformed" or ("region" in msg.lower() and "wrong" in msg.lower()):
        return RegionMismatchError(
            f"Wrong region for {resource or action}: {msg}",
            "use the region the resource lives in (see the message's 'expecting' region) in your params file.",
            code,
        )
    if code in _THROTTLE_CODES:
        return ThrottledError(
            f"AWS throttled {action}{where} even after retries ({msg or code}).",
            "wait a minute and run again, or lower the request rate (fewer parallel jobs).",
            code,
        )
    return exc
