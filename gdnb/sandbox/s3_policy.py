"""S3 bucket policies in force as written: evaluated with the request's own context.

moto checks bucket policies on object operations without the request: it ignores ``Principal`` and
evaluates conditions with no context, so every Deny applies to every caller. The GuardDuty-recommended
bucket policy (its ``Principal: "*"`` Deny when ``aws:SecureTransport`` is false, its Deny of uploads by
``guardduty.amazonaws.com`` without the right SSE-KMS headers) then blocks the notebooks' own reads.

Here every S3 request to a bucket that has a policy is evaluated with:

* the caller's principal (the sandbox's user, e.g. ``arn:aws:sts::123456789012:user/moto``);
* ``aws:SecureTransport = true``: the sandbox listens on plain HTTP on the loopback interface, where it
  stands in for AWS's HTTPS endpoint; a request that reaches it never crossed a network in clear text;
* ``s3:x-amz-server-side-encryption`` and ``s3:x-amz-server-side-encryption-aws-kms-key-id`` from the
  request's headers only (as on AWS: a bucket's default encryption is applied after the policy is
  evaluated, so it does not satisfy a condition on these keys);
* ``aws:SourceIp``, ``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``s3:prefix``, ``s3:delimiter``,
  ``s3:max-keys``, ``s3:ResourceAccount``, ``s3:authType``, ``s3:signatureversion``.

An explicit Deny that applies answers ``403 AccessDenied`` (as S3 does); anything else goes on to moto,
whose own check (``FakeBucket.get_permission``) is replaced by the same evaluation. Identity policies
are not enforced (the sandbox user may do anything its account may), so an Allow is not needed.
Only path-style requests are recognised (what boto3 uses against ``127.0.0.1``).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from gdnb.sandbox import iam_policy
from gdnb.sandbox.iam_policy import Decision, Principal, RequestContext
from gdnb.sandbox.requestinfo import RequestInfo

if TYPE_CHECKING:
    from gdnb.sandbox.server import Gateway, StartResponse

log = logging.getLogger(__name__)

# The context of the request being served on this thread, read by the patched FakeBucket.get_permission.
_current = threading.local()

# moto names some checks after the HTTP method; IAM knows them under these actions.
_MOTO_ACTIONS = {"s3:HeadObject": "s3:GetObject", "s3:PostObject": "s3:PutObject"}
_OBJECT_SUBRESOURCES_SKIPPED = {"acl", "tagging", "retention", "legal-hold", "attributes", "torrent", "restore",
                                "select"}
_LIST_PARAMS = {"list-type", "prefix", "delimiter", "max-keys", "marker", "continuation-token", "start-after",
                "encoding-type", "fetch-owner", "x-id"}


def install(gateway: Gateway) -> None:
    """Evaluate bucket policies with each request's context instead of moto's context-free check."""
    from moto.s3.models import FakeBucket

    FakeBucket.get_permission = _bucket_permission  # type: ignore[method-assign]
    gateway.add_extension(BucketPolicyGate(gateway))


class BucketPolicyGate:
    """An extension that evaluates the bucket policy of every S3 request, then hands it to moto."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def handles(self, info: RequestInfo) -> bool:
        if info.service != "s3":
            return False
        bucket = _find_bucket(_bucket_of(info.path))
        return bucket is not None and bucket.policy is not None

    def reset(self) -> None:
        pass

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        info = RequestInfo.from_environ(environ)
        bucket_name = _bucket_of(info.path)
        bucket = _find_bucket(bucket_name)
        principal = iam_policy.caller_principal(environ, info.access_key, info.region)
        base = _base_context(environ, principal, bucket)
        action, resource = _action_of(environ, bucket_name, info)
        if action and bucket is not None and bucket.policy is not None:
            ctx = base.replace(action=action, resource=resource)
            if _decide(bucket.policy, ctx) is Decision.DENY:
                log.info("bucket policy of %s denies %s %s to %s", bucket_name, action, resource, principal.arn)
                return _access_denied(start_response, ctx, head=info.method == "HEAD")
        _current.context = base
        try:
            return self.gateway.moto_app(environ, start_response)
        finally:
            _current.context = None


def _bucket_permission(self: Any, action: str, resource: str) -> Any:
    """Replacement for moto's ``FakeBucket.get_permission``: evaluate with the current request's context."""
    from moto.iam.access_control import PermissionResult

    if self.policy is None:
        return PermissionResult.NEUTRAL
    base = getattr(_current, "context", None) or _anonymous_context()
    ctx = base.replace(action=_MOTO_ACTIONS.get(action, action), resource=resource)
    decision = _decide(self.policy, ctx)
    if decision is Decision.DENY:
        return PermissionResult.DENIED
    return PermissionResult.PERMITTED if decision is Decision.ALLOW else PermissionResult.NEUTRAL


def _decide(policy: bytes | str, ctx: RequestContext) -> Decision:
    try:
        return iam_policy.evaluate(policy, ctx)
    except ValueError:
        # An invalid policy (moto accepts any text) cannot deny anything; say so instead of failing every call.
        log.warning("the bucket policy is not valid JSON; it is ignored")
        return Decision.NONE


def _base_context(environ: dict[str, Any], principal: Principal, bucket: Any) -> RequestContext:
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    keys: dict[str, str | list[str]] = {
        "aws:SecureTransport": "true",  # the loopback endpoint stands in for AWS's HTTPS endpoint
        "aws:SourceIp": environ.get("REMOTE_ADDR", "127.0.0.1"),
        "aws:PrincipalArn": principal.arn,
        "aws:PrincipalType": "User",
        "s3:authType": "REST-HEADER" if environ.get("HTTP_AUTHORIZATION") else "REST-QUERY-STRING",
        "s3:signatureversion": "AWS4-HMAC-SHA256",
    }
    if principal.account:
        keys["aws:PrincipalAccount"] = principal.account
    if bucket is not None:
        keys["s3:ResourceAccount"] = bucket.account_id
    for header, key in (("HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION", "s3:x-amz-server-side-encryption"),
                        ("HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION_AWS_KMS_KEY_ID",
                         "s3:x-amz-server-side-encryption-aws-kms-key-id")):
        if environ.get(header):
            keys[key] = environ[header]
    for param in ("prefix", "delimiter", "max-keys"):
        if param in query:
            keys[f"s3:{param}"] = query[param][0]
    return RequestContext(principal=principal, action="", resource="", keys=keys)


def _anonymous_context() -> RequestContext:
    return RequestContext(principal=Principal.anonymous(), action="", resource="",
                          keys={"aws:SecureTransport": "true"})


def _action_of(environ: dict[str, Any], bucket: str, info: RequestInfo) -> tuple[str | None, str]:
    """The IAM action and resource ARN of an S3 request, for the operations a bucket policy usually governs."""
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    parts = info.path.lstrip("/").split("/", 1)
    key = parts[1] if len(parts) > 1 else ""
    method = info.method
    if not key:
        if method in ("GET", "HEAD") and set(query) <= _LIST_PARAMS:
            return "s3:ListBucket", f"arn:aws:s3:::{bucket}"
        if method == "GET" and "versions" in query:
            return "s3:ListBucketVersions", f"arn:aws:s3:::{bucket}"
        return None, ""  # bucket configuration calls: the owner's, not governed here
    resource = f"arn:aws:s3:::{bucket}/{key}"
    if set(query) & _OBJECT_SUBRESOURCES_SKIPPED:
        return None, ""
    if method in ("GET", "HEAD"):
        return "s3:GetObject", resource
    if method in ("PUT", "POST"):
        return "s3:PutObject", resource  # PutObject, UploadPart, Create/CompleteMultipartUpload
    if method == "DELETE":
        return ("s3:AbortMultipartUpload" if "uploadId" in query else "s3:DeleteObject"), resource
    return None, ""


def _access_denied(start_response: StartResponse, ctx: RequestContext, head: bool) -> list[bytes]:
    message = (f"User: {ctx.principal.arn} is not authorized to perform: {ctx.action} on resource: "
               f"\"{ctx.resource}\" with an explicit deny in a resource-based policy")
    request_id = uuid.uuid4().hex[:16].upper()
    body = b"" if head else (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>AccessDenied</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{request_id}</RequestId><HostId>gdnb-sandbox</HostId></Error>"
    ).encode()
    start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body))),
                                     ("x-amz-request-id", request_id)])
    return [body]


def _bucket_of(path: str) -> str:
    return path.lstrip("/").split("/", 1)[0]


def _find_bucket(name: str) -> Any:
    """moto's bucket called ``name`` in whichever account owns it, or None."""
    if not name or name.startswith(("_gdnb", "moto-api")):
        return None
    from moto.s3.models import s3_backends

    owner = s3_backends.bucket_accounts.get(name)
    if owner is None:
        return None
    partition, account = owner
    return s3_backends[account][partition].buckets.get(name)
