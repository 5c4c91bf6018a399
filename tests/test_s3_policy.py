"""Bucket policies in force as written: evaluated with the request's context (caller, TLS, SSE headers)."""

from __future__ import annotations

import json
from typing import Any

import gd_setup as gd
import pytest
from botocore.exceptions import ClientError

from gdnb.sandbox.iam_policy import Decision, Principal, RequestContext, evaluate, matching_statements

USER = Principal.aws("arn:aws:sts::123456789012:user/moto")
GUARDDUTY = Principal.service("guardduty.amazonaws.com")
DETECTOR_ARN = "arn:aws:guardduty:us-east-1:123456789012:detector/abc"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1111-2222"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


# -- the evaluator -------------------------------------------------------------------------------------------
def test_documented_guardduty_policy_allows_guardduty_with_the_right_key_and_denies_another_key() -> None:
    policy = doc(*gd.guardduty_bucket_statements("b", "gd", "123456789012", "us-east-1", "abc", KEY))
    keys = {"aws:SourceAccount": "123456789012", "aws:SourceArn": DETECTOR_ARN, "aws:SecureTransport": "true",
            "s3:x-amz-server-side-encryption": "aws:kms", "s3:x-amz-server-side-encryption-aws-kms-key-id": KEY}
    put = RequestContext(GUARDDUTY, "s3:PutObject", "arn:aws:s3:::b/gd/AWSLogs/x.jsonl.gz", keys)
    assert evaluate(policy, put) is Decision.ALLOW
    other_key = put.replace(keys={**keys, "s3:x-amz-server-side-encryption-aws-kms-key-id": KEY + "0"})
    assert evaluate(policy, other_key) is Decision.DENY
    assert [m.sid for m in matching_statements(policy, other_key) if m.effect == "Deny"] == [
        "Deny incorrect encryption header"]
    other_detector = put.replace(keys={**keys, "aws:SourceArn": DETECTOR_ARN + "x"})
    assert evaluate(policy, other_detector) is Decision.NONE
    outside_prefix = put.replace(resource="arn:aws:s3:::b/elsewhere/x.jsonl.gz")
    assert evaluate(policy, outside_prefix) is Decision.NONE


def test_documented_policy_does_not_deny_the_users_reads_over_the_sandbox_endpoint() -> None:
    policy = doc(*gd.guardduty_bucket_statements("b", "", "123456789012", "us-east-1", "abc", KEY))
    get = RequestContext(USER, "s3:GetObject", "arn:aws:s3:::b/AWSLogs/x", {"aws:SecureTransport": "true"})
    assert evaluate(policy, get) is Decision.NONE
    assert evaluate(policy, get.replace(keys={"aws:SecureTransport": "false"})) is Decision.DENY


@pytest.mark.parametrize(("operator", "expected", "context", "result"), [
    ("StringEquals", "a", {"k": "a"}, True),
    ("StringEquals", "a", {}, False),
    ("StringNotEquals", "a", {}, True),  # a negated operator holds when the key is absent
    ("StringNotEquals", "a", {"k": "a"}, False),
    ("StringEqualsIfExists", "a", {}, True),
    ("StringLike", "arn:aws:guardduty:*:123456789012:detector/*", {"k": DETECTOR_ARN}, True),
    ("StringLike", "a?c", {"k": "abd"}, False),
    ("ArnLike", "arn:aws:guardduty:us-*:123456789012:detector/*", {"k": DETECTOR_ARN}, True),
    ("ArnEquals", "arn:aws:guardduty:eu-*:123456789012:detector/*", {"k": DETECTOR_ARN}, False),
    ("ArnNotLike", "arn:aws:guardduty:eu-*:*", {"k": DETECTOR_ARN}, True),
    ("StringEqualsIgnoreCase", "AWS:KMS", {"k": "aws:kms"}, True),
    ("Bool", "false", {"k": "true"}, False),
    ("Null", "true", {}, True),
    ("Null", "false", {}, False),
    ("NumericLessThan", "10", {"k": "9"}, True),
    ("IpAddress", "127.0.0.0/8", {"k": "127.0.0.1"}, True),
    ("ForAnyValue:StringEquals", "b", {"k": ["a", "b"]}, True),
    ("ForAllValues:StringEquals", "b", {"k": ["a", "b"]}, False),
    ("SomethingUnknown", "a", {"k": "a"}, False),
])
def test_condition_operators(operator: str, expected: str, context: dict[str, Any], result: bool) -> None:
    policy = doc({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*",
                  "Condition": {operator: {"k": expected}}})
    ctx = RequestContext(USER, "s3:GetObject", "arn:aws:s3:::b/k", context)
    assert (evaluate(policy, ctx) is Decision.ALLOW) is result


def test_condition_keys_and_actions_are_case_insensitive_resources_are_not() -> None:
    policy = doc({"Effect": "Deny", "Principal": "*", "Action": "S3:get*", "Resource": "arn:aws:s3:::b/K*",
                  "Condition": {"StringEquals": {"AWS:SourceAccount": "1"}}})
    ctx = RequestContext(USER, "s3:GetObject", "arn:aws:s3:::b/Key", {"aws:sourceaccount": "1"})
    assert evaluate(policy, ctx) is Decision.DENY
    assert evaluate(policy, ctx.replace(resource="arn:aws:s3:::b/key")) is Decision.NONE


@pytest.mark.parametrize(("principal", "who", "applies"), [
    ("*", USER, True),
    ({"AWS": "*"}, GUARDDUTY, True),
    ({"AWS": "123456789012"}, USER, True),
    ({"AWS": "arn:aws:iam::123456789012:root"}, USER, True),
    ({"AWS": "arn:aws:iam::111122223333:root"}, USER, False),
    ({"AWS": "arn:aws:sts::123456789012:user/moto"}, USER, True),
    ({"Service": "guardduty.amazonaws.com"}, USER, False),
    ({"Service": ["s3.amazonaws.com", "guardduty.amazonaws.com"]}, GUARDDUTY, True),
])
def test_principals(principal: Any, who: Principal, applies: bool) -> None:
    policy = doc({"Effect": "Deny", "Principal": principal, "Action": "*", "Resource": "*"})
    assert (evaluate(policy, RequestContext(who, "s3:GetObject", "arn:aws:s3:::b/k")) is Decision.DENY) is applies


def test_not_principal_not_action_not_resource() -> None:
    policy = doc({"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:root"},
                  "NotAction": "s3:List*", "NotResource": "arn:aws:s3:::b/public/*"})
    outsider = Principal.aws("arn:aws:iam::111122223333:user/x")
    assert evaluate(policy, RequestContext(outsider, "s3:GetObject", "arn:aws:s3:::b/k")) is Decision.DENY
    assert evaluate(policy, RequestContext(outsider, "s3:ListBucket", "arn:aws:s3:::b/k")) is Decision.NONE
    assert evaluate(policy, RequestContext(outsider, "s3:GetObject", "arn:aws:s3:::b/public/x")) is Decision.NONE
    assert evaluate(policy, RequestContext(USER, "s3:GetObject", "arn:aws:s3:::b/k")) is Decision.NONE


# -- through boto3, against the sandbox -----------------------------------------------------------------------
BUCKET = "gd-policy-test"


@pytest.fixture()
def s3(clean_sandbox: Any) -> Any:
    gd.create_bucket(BUCKET, "us-east-1")
    return gd.client("s3", "us-east-1")


def _code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    return exc.value.response["ResponseMetadata"]["HTTPStatusCode"], exc.value.response["Error"]["Code"]


def test_user_lists_gets_heads_puts_and_deletes_with_the_documented_guardduty_policy(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="AWSLogs/seed.txt", Body=b"before")
    gd.put_bucket_policy(BUCKET, "us-east-1", *gd.guardduty_bucket_statements(
        BUCKET, "", "123456789012", "us-east-1", "abc", KEY))
    s3.put_object(Bucket=BUCKET, Key="AWSLogs/x.txt", Body=b"hello")
    assert s3.get_object(Bucket=BUCKET, Key="AWSLogs/x.txt")["Body"].read() == b"hello"
    assert s3.head_object(Bucket=BUCKET, Key="AWSLogs/seed.txt")["ContentLength"] == 6
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == ["AWSLogs/seed.txt", "AWSLogs/x.txt"]
    s3.delete_object(Bucket=BUCKET, Key="AWSLogs/x.txt")
    s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "AWSLogs/seed.txt"}]})
    assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 0


def test_a_plain_deny_of_getobject_to_everyone_denies_the_user(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="secret.txt", Body=b"x")
    gd.put_bucket_policy(BUCKET, "us-east-1", {"Sid": "NoReads", "Effect": "Deny", "Principal": "*",
                                               "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"})
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=BUCKET, Key="secret.txt")
    assert _code(exc) == (403, "AccessDenied")
    assert "explicit deny" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=BUCKET, Key="secret.txt")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    s3.put_object(Bucket=BUCKET, Key="other.txt", Body=b"y")  # only reads are denied


def test_deny_of_unencrypted_uploads_reads_the_request_headers(s3: Any) -> None:
    gd.put_bucket_policy(BUCKET, "us-east-1", {
        "Sid": "DenyUnencrypted", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
        "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}})
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=BUCKET, Key="plain.txt", Body=b"x")
    assert _code(exc) == (403, "AccessDenied")
    s3.put_object(Bucket=BUCKET, Key="sealed.txt", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=KEY)
    assert s3.get_object(Bucket=BUCKET, Key="sealed.txt")["ServerSideEncryption"] == "aws:kms"


def test_deny_of_listing_and_deny_for_another_principal(s3: Any) -> None:
    gd.put_bucket_policy(BUCKET, "us-east-1",
                         {"Effect": "Deny", "Principal": "*", "Action": "s3:ListBucket",
                          "Resource": f"arn:aws:s3:::{BUCKET}"},
                         {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                          "Action": "s3:*", "Resource": f"arn:aws:s3:::{BUCKET}/*"})
    with pytest.raises(ClientError) as exc:
        s3.list_objects_v2(Bucket=BUCKET)
    assert _code(exc) == (403, "AccessDenied")
    s3.put_object(Bucket=BUCKET, Key="mine.txt", Body=b"x")  # the other account's Deny is not about us
    assert s3.get_object(Bucket=BUCKET, Key="mine.txt")["Body"].read() == b"x"
