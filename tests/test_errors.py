"""Translation of AWS errors into gdnb errors that say what to do: rejected credentials (keys, session
tokens, SSO, clock), wrong regions, access, absence, throttling; and what passes through untouched."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import botocore.credentials
import botocore.exceptions
import botocore.tokens
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from gdnb import aws
from gdnb.config import Settings
from gdnb.errors import (
    AccessDeniedError,
    AwsError,
    CredentialsError,
    GdnbError,
    NotFoundError,
    RegionMismatchError,
    ThrottledError,
    translate_client_error,
)


def client_error(code: str, message: str = "", status: int = 400, operation: str = "GetObject",
                 headers: dict[str, str] | None = None, **fields: str) -> ClientError:
    """A ClientError shaped as botocore builds it from an error answer."""
    return ClientError({"Error": {"Code": code, "Message": message, **fields},
                        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers or {}}}, operation)


# -- rejected credentials -------------------------------------------------------------------------------------
@pytest.mark.parametrize("code, message", [
    ("ExpiredToken", "The security token included in the request is expired"),
    ("ExpiredTokenException", "The security token included in the request is expired"),
    ("InvalidClientTokenId", "The security token included in the request is invalid."),
    ("UnrecognizedClientException", "The security token included in the request is invalid."),
    ("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."),
    ("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."),
    ("RequestExpired", "Request has expired."),
])
def test_rejected_credentials_say_to_refresh_them(code: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    err = translate_client_error(client_error(code, message, 403), "s3:GetObject", "s3://b/k", profile="corp-admin")
    assert isinstance(err, CredentialsError) and isinstance(err, AwsError)
    assert err.code == code
    assert code in err.message and message in err.message and "s3:GetObject on s3://b/k" in err.message
    assert err.fix is not None
    assert "`aws sso login --profile corp-admin`" in err.fix
    assert "aws configure --profile corp-admin" in err.fix and "clock" in err.fix


def test_a_clock_error_puts_the_clock_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    err = translate_client_error(client_error("RequestExpired", "Request has expired."), "sts:GetCallerIdentity")
    assert isinstance(err, CredentialsError) and err.fix is not None
    assert err.fix.index("clock") < err.fix.index("aws sso login")
    assert "--profile" not in err.fix  # no profile known: the command without one


def test_the_profile_comes_from_aws_profile_when_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "from-env")
    err = translate_client_error(client_error("ExpiredToken", "expired"), "glue:GetTable")
    assert isinstance(err, CredentialsError) and "aws sso login --profile from-env" in (err.fix or "")


# -- wrong region -----------------------------------------------------------------------------------------------
def test_authorization_header_malformed_names_the_expected_region() -> None:
    exc = client_error("AuthorizationHeaderMalformed", "The authorization header is malformed; the region "
                       "'us-east-1' is wrong; expecting 'eu-west-1'", Region="eu-west-1")
    err = translate_client_error(exc, "s3:ListBucket", "s3://findings")
    assert isinstance(err, RegionMismatchError) and err.region == "eu-west-1"
    assert "eu-west-1" in err.message and "s3://findings" in err.message and "eu-west-1" in (err.fix or "")


def test_the_region_is_read_from_the_message_when_there_is_no_region_field() -> None:
    exc = client_error("AuthorizationHeaderMalformed", "The authorization header is malformed; the region "
                       "'us-east-1' is wrong; expecting 'ap-northeast-1'")
    err = translate_client_error(exc, "s3:ListBucket", "s3://findings")
    assert isinstance(err, RegionMismatchError) and err.region == "ap-northeast-1"


def test_a_malformed_header_without_a_region_is_a_credentials_problem() -> None:
    exc = client_error("AuthorizationHeaderMalformed", "The authorization header is malformed; a non-empty Access "
                       "Key (AKID) must be provided in the credential.")
    assert isinstance(translate_client_error(exc, "s3:ListBucket"), CredentialsError)


def test_permanent_redirect_names_the_bucket_region_from_the_header() -> None:
    exc = client_error("PermanentRedirect", "The bucket you are attempting to access must be addressed using the "
                       "specified endpoint.", 301, headers={"x-amz-bucket-region": "eu-central-1"},
                       Endpoint="findings.s3.eu-central-1.amazonaws.com", Bucket="findings")
    err = translate_client_error(exc, "s3:PutBucketPolicy", "findings")
    assert isinstance(err, RegionMismatchError) and err.region == "eu-central-1"
    assert err.code == "PermanentRedirect" and "eu-central-1" in (err.fix or "")


def test_permanent_redirect_without_the_header_uses_the_endpoint() -> None:
    exc = client_error("PermanentRedirect", "must be addressed using the specified endpoint", 301,
                       Endpoint="findings.s3-us-west-2.amazonaws.com")
    err = translate_client_error(exc, "s3:GetObject", "findings")
    assert isinstance(err, RegionMismatchError) and err.region == "us-west-2"


def test_a_bare_301_is_a_region_mismatch() -> None:
    # HeadBucket answers without a body: botocore makes the code from the status.
    exc = client_error("301", "Moved Permanently", 301, operation="HeadBucket",
                       headers={"X-Amz-Bucket-Region": "sa-east-1"})
    err = translate_client_error(exc, "s3:HeadBucket", "findings")
    assert isinstance(err, RegionMismatchError) and err.region == "sa-east-1" and "sa-east-1" in err.message


def test_a_301_without_any_region_still_says_wrong_region() -> None:
    err = translate_client_error(client_error("301", "Moved Permanently", 301), "s3:HeadBucket", "findings")
    assert isinstance(err, RegionMismatchError) and err.region is None and "get-bucket-location" in (err.fix or "")


def test_illegal_location_constraint_names_the_constraint_region() -> None:
    exc = client_error("IllegalLocationConstraintException", "The eu-west-1 location constraint is incompatible "
                       "for the region specific endpoint this request was sent to.", operation="CreateBucket")
    err = translate_client_error(exc, "s3:CreateBucket", "findings")
    assert isinstance(err, RegionMismatchError) and err.region == "eu-west-1"
    assert "location constraint" in err.message and "home_region" in (err.fix or "")


def test_illegal_unspecified_location_constraint_names_no_region() -> None:
    exc = client_error("IllegalLocationConstraintException", "The unspecified location constraint is incompatible "
                       "for the region specific endpoint this request was sent to.", operation="CreateBucket")
    err = translate_client_error(exc, "s3:CreateBucket", "findings")
    assert isinstance(err, RegionMismatchError) and err.region is None


def test_a_region_header_alone_does_not_make_a_region_mismatch() -> None:
    exc = client_error("MalformedPolicy", "Policy has invalid resource", headers={"x-amz-bucket-region": "eu-west-1"})
    assert translate_client_error(exc, "s3:PutBucketPolicy", "findings") is exc


# -- the families that were already there -------------------------------------------------------------------------
@pytest.mark.parametrize("code, kind", [
    ("AccessDenied", AccessDeniedError), ("AccessDeniedException", AccessDeniedError), ("403", AccessDeniedError),
    ("NoSuchBucket", NotFoundError), ("EntityNotFoundException", NotFoundError), ("404", NotFoundError),
    ("ThrottlingException", ThrottledError), ("SlowDown", ThrottledError), ("Throttling", ThrottledError),
])
def test_access_absence_and_throttling(code: str, kind: type[GdnbError]) -> None:
    err = translate_client_error(client_error(code, "nope"), "glue:GetTable", "db.t")
    assert type(err) is kind and err.code == code and err.fix  # type: ignore[attr-defined]


@pytest.mark.parametrize("code", ["ValidationException", "InvalidRequestException", "BucketAlreadyOwnedByYou", ""])
def test_an_unknown_code_passes_through_unchanged(code: str) -> None:
    exc = client_error(code, "something else")
    assert translate_client_error(exc, "athena:StartQueryExecution") is exc


def test_an_exception_without_a_response_passes_through() -> None:
    exc = ValueError("not from botocore")
    assert translate_client_error(exc, "s3:GetObject") is exc


# -- caller_identity: the first call, where credentials are resolved ------------------------------------------------
def _stubbed_sts(monkeypatch: pytest.MonkeyPatch, code: str, message: str) -> None:
    sts = boto3.client("sts", region_name="us-east-1", aws_access_key_id="AKIAEXAMPLE",
                       aws_secret_access_key="secret", endpoint_url="https://sts.us-east-1.amazonaws.com")
    stubber = Stubber(sts)
    stubber.add_client_error("get_caller_identity", service_error_code=code, service_message=message,
                             http_status_code=403)
    stubber.activate()
    monkeypatch.setattr(aws, "client", lambda *_args, **_kw: sts)


def test_caller_identity_with_an_expired_token_is_a_credentials_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _stubbed_sts(monkeypatch, "ExpiredToken", "The security token included in the request is expired")
    with pytest.raises(CredentialsError) as err:
        aws.caller_identity(Settings(profile="corp-admin"))
    assert "aws sso login --profile corp-admin" in str(err.value)
    assert isinstance(err.value.__cause__, ClientError)


def test_caller_identity_lets_an_unknown_client_error_through(monkeypatch: pytest.MonkeyPatch) -> None:
    _stubbed_sts(monkeypatch, "SomethingNew", "a code gdnb does not know")
    with pytest.raises(ClientError, match="SomethingNew"):
        aws.caller_identity()


@pytest.fixture()
def sso_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An AWS config with SSO profiles, and no credentials in the environment (no network is needed)."""
    config = tmp_path / "config"
    config.write_text(
        "[profile gdnb-sso]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Reader\n\n"
        "[profile gdnb-sso-legacy]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n"
        "sso_account_id = 111122223333\nsso_role_name = Reader\n\n"
        "[sso-session corp]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    # botocore fixes the SSO token cache directory at import time, from the real home.
    cache = str(tmp_path / ".aws" / "sso" / "cache")
    monkeypatch.setattr(botocore.tokens.SSOTokenProvider, "_SSO_TOKEN_CACHE_DIR", cache)
    monkeypatch.setattr(botocore.credentials.SSOProvider, "_SSO_TOKEN_CACHE_DIR", cache)
    aws._session.cache_clear()
    yield tmp_path
    aws._session.cache_clear()


@pytest.mark.parametrize("profile", ["gdnb-sso", "gdnb-sso-legacy"])
def test_caller_identity_without_an_sso_login_says_to_log_in(sso_home: Path, profile: str) -> None:
    with pytest.raises(CredentialsError) as err:  # botocore: SSOTokenLoadError (no cached token)
        aws.caller_identity(Settings(profile=profile))
    assert isinstance(err.value.__cause__, botocore.exceptions.SSOTokenLoadError)
    assert f"aws sso login --profile {profile}" in str(err.value) and "SSO session" in err.value.message


def test_caller_identity_with_an_expired_sso_token_says_to_log_in(sso_home: Path) -> None:
    cache = sso_home / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    # botocore names an sso-session's cached token by the SHA-1 of the session name.
    (cache / f"{hashlib.sha1(b'corp').hexdigest()}.json").write_text(json.dumps(
        {"startUrl": "https://example.awsapps.com/start", "region": "us-east-1", "accessToken": "old",
         "expiresAt": "2020-01-01T00:00:00Z"}))
    with pytest.raises(CredentialsError) as err:  # botocore: TokenRetrievalError (expired, no refresh token)
        aws.caller_identity(Settings(profile="gdnb-sso"))
    assert isinstance(err.value.__cause__, botocore.exceptions.TokenRetrievalError)
    assert "aws sso login --profile gdnb-sso" in str(err.value)


def test_unauthorized_sso_token_is_a_credentials_error() -> None:
    err = aws.credentials_error(botocore.exceptions.UnauthorizedSSOTokenError(), Settings(profile="corp"))
    assert isinstance(err, CredentialsError) and "aws sso login --profile corp" in (err.fix or "")
    assert err.code == "UnauthorizedSSOTokenError"
