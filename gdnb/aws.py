"""boto3 sessions and clients: the standard credential chain, endpoint overrides, retries.

Nothing here knows about the sandbox: it is reached through ``AWS_ENDPOINT_URL`` (and the
per-service ``AWS_ENDPOINT_URL_<SERVICE>`` variables), which boto3 reads itself.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from gdnb.config import Settings
from gdnb.errors import AwsError, CredentialsError, credentials_fix, translate_client_error

log = logging.getLogger(__name__)

RETRY_CONFIG = botocore.config.Config(retries={"mode": "standard", "max_attempts": 5},
                                      user_agent_extra="gdnb/0.1")


@functools.lru_cache(maxsize=16)
def _session(profile: str | None) -> boto3.Session:
    return boto3.Session(profile_name=profile) if profile else boto3.Session()


def session(settings: Settings | None = None) -> boto3.Session:
    """The boto3 session for ``settings.profile`` (or the default credential chain)."""
    try:
        return _session(settings.profile if settings else None)
    except botocore.exceptions.ProfileNotFound as exc:
        raise AwsError(f"AWS profile {settings.profile!r} is not configured ({exc}).",  # type: ignore[union-attr]
                       "run `aws configure --profile NAME`, or set profile: null to use the default chain.") from exc


def client(service: str, region: str, settings: Settings | None = None, **kwargs: Any) -> Any:
    """A boto3 client with standard retries; endpoints come from the environment as usual."""
    return session(settings).client(service, region_name=region, config=RETRY_CONFIG, **kwargs)


# Credentials that cannot be resolved or refreshed: an SSO session that is over or was never started
# (TokenRetrievalError, UnauthorizedSSOTokenError, SSOTokenLoadError), a credential_process that fails.
# botocore raises them at the first call, not when the session is made.
CREDENTIAL_EXCEPTIONS: tuple[type[Exception], ...] = (
    botocore.exceptions.SSOError,
    botocore.exceptions.TokenRetrievalError,
    botocore.exceptions.CredentialRetrievalError,
)


def credentials_error(exc: Exception, settings: Settings | None = None) -> CredentialsError:
    """The :class:`CredentialsError` for one of :data:`CREDENTIAL_EXCEPTIONS`, naming the profile to refresh."""
    profile = settings.profile if settings else None
    sso = isinstance(exc, botocore.exceptions.SSOError | botocore.exceptions.TokenRetrievalError)
    what = "The SSO session of the AWS profile in use is over or was never started" if sso else \
        "The AWS credentials could not be retrieved"
    return CredentialsError(f"{what} ({type(exc).__name__}: {exc}).", credentials_fix(profile),
                            type(exc).__name__)


def caller_identity(settings: Settings | None = None, region: str | None = None) -> dict[str, str]:
    """``{"Account", "Arn", "UserId"}`` of the caller, from STS.

    Raises
    ------
    AwsError
        When no credentials are found or the endpoint cannot be reached, with what to do.
    CredentialsError
        When the credentials are rejected (expired, revoked, clock skew) or an SSO session is over.
    """
    region = region or (settings.home_region if settings else "us-east-1")
    try:
        ident = client("sts", region, settings).get_caller_identity()
    except botocore.exceptions.NoCredentialsError as exc:
        raise AwsError("No AWS credentials found.",
                       "set AWS_PROFILE (or profile: in the params file), or run `eval \"$(gdnb sandbox env)\"` "
                       "to use the offline sandbox.") from exc
    except botocore.exceptions.EndpointConnectionError as exc:
        raise AwsError(f"Cannot reach the AWS endpoint ({exc}).",
                       "check your network, or start the sandbox with `gdnb sandbox up` if AWS_ENDPOINT_URL "
                       "points at it.") from exc
    except CREDENTIAL_EXCEPTIONS as exc:
        raise credentials_error(exc, settings) from exc
    except botocore.exceptions.ClientError as exc:
        translated = translate_client_error(exc, "sts:GetCallerIdentity",
                                            profile=settings.profile if settings else None)
        if translated is exc:
            raise
        raise translated from exc
    return {"Account": ident["Account"], "Arn": ident["Arn"], "UserId": ident["UserId"]}


def account_id(settings: Settings) -> str:
    """The account id from the settings, or the caller's account."""
    return settings.account_id or caller_identity(settings)["Account"]
