"""The AWS calls setup makes: clients, error translation, and a log of every operation.

Every call names the IAM action it needs, so an ``AccessDenied`` says which permission is missing
on which resource. Every operation is logged (service, region, operation, IAM action), so a notebook
can show what it called and a test can check that a second run wrote nothing.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

import botocore.exceptions

from gdnb import aws
from gdnb.config import Settings
from gdnb.errors import translate_client_error
from gdnb.setup.errors import GuardDutyRequestError

log = logging.getLogger(__name__)

READ_PREFIXES = ("Get", "List", "Describe", "Head")

# Where the IAM action is not "<service>:<Operation>".
_IAM_ACTIONS: dict[tuple[str, str], str] = {
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjectVersions"): "s3:ListBucketVersions",
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "DeleteObjects"): "s3:DeleteObject",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "PutBucketEncryption"): "s3:PutEncryptionConfiguration",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "PutPublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("s3", "DeleteBucketTagging"): "s3:PutBucketTagging",
}


def iam_action(service: str, operation: str) -> str:
    """The IAM action an API operation needs, e.g. ``("s3", "HeadBucket") -> "s3:ListBucket"``."""
    return _IAM_ACTIONS.get((service, operation), f"{service}:{operation}")


def is_write(operation: str) -> bool:
    """Whether an API operation changes something (anything but Get/List/Describe/Head)."""
    return not operation.startswith(READ_PREFIXES)


@dataclasses.dataclass(frozen=True)
class CallRecord:
    """One AWS operation gdnb made."""

    service: str
    region: str
    operation: str

    @property
    def iam_action(self) -> str:
        return iam_action(self.service, self.operation)

    @property
    def write(self) -> bool:
        return is_write(self.operation)


_LOG: list[CallRecord] = []
_LOG_LOCK = threading.Lock()


def _recorder(service: str, region: str) -> Callable[..., None]:
    def record(model: Any = None, **_: Any) -> None:
        with _LOG_LOCK:
            _LOG.append(CallRecord(service, region, model.name if model is not None else "?"))
    return record


def aws_calls(since: int = 0) -> list[CallRecord]:
    """The AWS operations setup made in this process (from index ``since`` on)."""
    with _LOG_LOCK:
        return list(_LOG[since:])


def calls_mark() -> int:
    """A mark to pass to :func:`aws_calls` to see only later calls."""
    with _LOG_LOCK:
        return len(_LOG)


def calls_table(calls: Iterable[CallRecord] | None = None):
    """The calls as a DataFrame: one row per distinct operation, with its IAM action and count."""
    import pandas as pd

    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for c in aws_calls() if calls is None else calls:
        row = rows.setdefault((c.service, c.operation, c.iam_action),
                              {"service": c.service, "operation": c.operation, "iam action": c.iam_action,
                               "write": c.write, "regions": set(), "calls": 0})
        row["regions"].add(c.region)
        row["calls"] += 1
    out = [{**r, "regions": ", ".join(sorted(r["regions"]))} for r in rows.values()]
    return pd.DataFrame(out, columns=["service", "operation", "iam action", "write", "regions", "calls"])


ClientFactory = Callable[..., Any]


class AwsCalls:
    """Clients for one run of a setup step, with errors a user can act on.

    Parameters
    ----------
    settings
        The profile and regions to use.
    factory
        ``factory(service, region, settings)`` returns a boto3 client (tests pass stubbed ones).
    """

    def __init__(self, settings: Settings, factory: ClientFactory | None = None) -> None:
        self.settings = settings
        self._factory = factory or aws.client
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            c = self._factory(service, region, self.settings)
            c.meta.events.register("before-call", _recorder(service, region))
            self._clients[key] = c
        return self._clients[key]

    def call(self, service: str, region: str, method: str, resource: str | None = None, *,
             absent: Iterable[str] = (), **params: Any) -> Any:
        """Call ``method`` (boto3's snake_case name) and translate the errors a user can cause.

        Parameters
        ----------
        resource
            The ARN or name the call is about (named in error messages).
        absent
            Error codes that mean "there is none" (e.g. ``NoSuchBucketPolicy``): the call returns None.
        """
        c = self.client(service, region)
        operation = c.meta.method_to_api_mapping[method]
        try:
            return getattr(c, method)(**params)
        except botocore.exceptions.ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in set(absent):
                return None
            if service == "guardduty" and code == "BadRequestException":
                # GuardDuty's answer to a value it does not accept; its message says which one.
                message = str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
                raise GuardDutyRequestError(operation, resource, message) from exc
            translated = translate_client_error(exc, iam_action(service, operation), resource,
                                                  profile=self.settings.profile)
            if translated is exc:
                raise
            raise translated from exc

    def pages(self, service: str, region: str, method: str, key: str, resource: str | None = None, *,
              absent: Iterable[str] = (), **params: Any) -> list[Any]:
        """Every item under ``key`` across the pages of a paginated call (none when an ``absent`` code answers)."""
        items: list[Any] = []
        token_in, token_out = _TOKENS.get((service, method), ("NextToken", "NextToken"))
        while True:
            page = self.call(service, region, method, resource, absent=absent, **params)
            if page is None:
                return items
            items.extend(page.get(key, []))
            token = page.get(token_out)
            if not token:
                return items
            params[token_in] = token


# Pagination tokens where they are not NextToken/NextToken.
_TOKENS: dict[tuple[str, str], tuple[str, str]] = {
    ("s3", "list_objects_v2"): ("ContinuationToken", "NextContinuationToken"),
    ("s3", "list_buckets"): ("ContinuationToken", "ContinuationToken"),
    ("kms", "list_resource_tags"): ("Marker", "NextMarker"),
    ("kms", "list_aliases"): ("Marker", "NextMarker"),
}
