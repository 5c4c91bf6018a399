"""AWS answers the sandbox cannot give, translated into errors that say what, why and the fix.

The sandbox does not enforce identity or key policies, nor does S3 in it answer 403 to HeadBucket on
another account's bucket, so these answers come from botocore's Stubber (the same clients, no network).
"""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import ANY, Stubber

from gdnb.config import load_settings
from gdnb.errors import AccessDeniedError, GdnbError, SetupError
from gdnb.setup import apply, plan_bucket, plan_export, plan_key
from gdnb.setup import policies as P
from gdnb.setup.calls import AwsCalls
from gdnb.setup.errors import BucketOwnedElsewhereError, GuardDutyRequestError

ACCOUNT = "123456789012"
REGION = "ap-northeast-1"
RETIRED_TYPE = "Discovery:S3/BucketEnumeration.Unusual"  # in GuardDuty's list, no longer generated
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


class Stubs:
    """Stubbed clients handed to AwsCalls, one per (service, region)."""

    def __init__(self) -> None:
        self.session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
        self.clients: dict[tuple[str, str], tuple[object, Stubber]] = {}

    def __call__(self, service: str, region: str = REGION) -> Stubber:
        if (service, region) not in self.clients:
            client = self.session.client(service, region_name=region, endpoint_url="https://stubbed.invalid")
            stubber = Stubber(client)
            stubber.activate()
            self.clients[(service, region)] = (client, stubber)
        return self.clients[(service, region)][1]

    def factory(self, service: str, region: str, settings) -> object:
        self(service, region)
        return self.clients[(service, region)][0]

    def verify(self) -> None:
        for _, stubber in self.clients.values():
            stubber.assert_no_pending_responses()


@pytest.fixture()
def stubs() -> Stubs:
    return Stubs()


def cfg(**overrides):
    return load_settings(overrides={"home_region": REGION, "export_regions": [REGION], **overrides})


def stub_identity(stubs: Stubs) -> None:
    stubs("sts").add_response("get_caller_identity", {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/me",
                                                      "UserId": "AIDAEXAMPLE"})


def stub_detector(stubs: Stubs) -> None:
    gd = stubs("guardduty")
    gd.add_response("list_detectors", {"DetectorIds": ["d1"]})
    gd.add_response("get_detector", {"ServiceRole": "r", "Status": "ENABLED",
                                     "FindingPublishingFrequency": "FIFTEEN_MINUTES"}, {"DetectorId": "d1"})


def stub_key(stubs: Stubs) -> None:
    stubs("kms").add_response("describe_key", {"KeyMetadata": {
        "KeyId": KEY_ARN.rsplit("/", 1)[1], "Arn": KEY_ARN, "KeyState": "Enabled", "KeySpec": "SYMMETRIC_DEFAULT",
        "KeyUsage": "ENCRYPT_DECRYPT", "KeyManager": "CUSTOMER"}}, {"KeyId": "alias/guardduty-alert"})


def test_access_denied_names_the_action_the_resource_and_the_permission(stubs: Stubs):
    stub_identity(stubs)
    stub_detector(stubs)
    stubs("kms").add_client_error(
        "describe_key", service_error_code="AccessDeniedException", http_status_code=400,
        service_message=f"User: arn:aws:iam::{ACCOUNT}:user/me is not authorized to perform: kms:DescribeKey")
    with pytest.raises(AccessDeniedError) as err:
        plan_key(cfg(), AwsCalls(cfg(), stubs.factory))
    text = str(err.value)
    assert "Access denied: kms:DescribeKey on alias/guardduty-alert in ap-northeast-1" in text
    assert "grant the caller the IAM permission kms:DescribeKey" in text
    stubs.verify()


def test_headbucket_403_means_another_account_owns_the_name(stubs: Stubs):
    stub_identity(stubs)
    stub_key(stubs)
    stub_detector(stubs)
    s3 = stubs("s3")
    s3.add_response("list_buckets", {"Buckets": [{"Name": "guardduty-alert-other"}]},
                    {"Prefix": "guardduty-alert"})
    s3.add_client_error("head_bucket", service_error_code="403", http_status_code=403, service_message="Forbidden")
    with pytest.raises(BucketOwnedElsewhereError) as err:
        plan_bucket(cfg(), AwsCalls(cfg(), stubs.factory))
    text = str(err.value)
    assert "403 Forbidden" in text and "not owned by account 123456789012" in text
    assert "bucket: guardduty-alert-123456789012" in text
    stubs.verify()


def test_bucket_already_exists_at_create_time_is_the_same_clear_error(stubs: Stubs):
    settings = cfg(apply=True)
    stub_identity(stubs)
    stub_key(stubs)
    stub_detector(stubs)
    s3 = stubs("s3")
    s3.add_response("list_buckets", {"Buckets": []}, {"Prefix": "guardduty-alert"})
    s3.add_client_error("head_bucket", service_error_code="404", http_status_code=404)
    plan = plan_bucket(settings, AwsCalls(settings, stubs.factory))
    assert plan.actions[0].step == "bucket" and plan.actions[0].change == "create"
    s3.add_client_error("create_bucket", service_error_code="BucketAlreadyExists", http_status_code=409,
                        expected_params={"Bucket": "guardduty-alert",
                                         "CreateBucketConfiguration": {"LocationConstraint": REGION}})
    with pytest.raises(BucketOwnedElsewhereError, match="BucketAlreadyExists"):
        apply(plan)
    assert plan.actions[0].status == "failed"
    stubs.verify()


def test_access_denied_while_applying_says_what_was_done_before(stubs: Stubs):
    settings = cfg(apply=True)
    stub_identity(stubs)
    stub_detector(stubs)
    kms = stubs("kms")
    kms.add_client_error("describe_key", service_error_code="NotFoundException", http_status_code=400)
    plan = plan_key(settings, AwsCalls(settings, stubs.factory))
    kms.add_client_error("create_key", service_error_code="AccessDeniedException", http_status_code=400,
                         expected_params={"Policy": ANY, "Description": ANY, "KeyUsage": "ENCRYPT_DECRYPT",
                                          "KeySpec": "SYMMETRIC_DEFAULT", "Tags": ANY})
    with pytest.raises(AccessDeniedError, match="kms:CreateKey on alias/guardduty-alert") as err:
        apply(plan)
    assert "done before: nothing" in "".join(err.value.__notes__)
    stubs.verify()


def test_a_key_policy_kms_refuses_names_the_setting_to_fix(stubs: Stubs):
    settings = cfg(apply=True, reader_principals=[f"arn:aws:iam::{ACCOUNT}:role/NoSuchRole"])
    stub_identity(stubs)
    stub_detector(stubs)
    kms = stubs("kms")
    kms.add_client_error("describe_key", service_error_code="NotFoundException", http_status_code=400)
    plan = plan_key(settings, AwsCalls(settings, stubs.factory))
    kms.add_client_error("create_key", service_error_code="MalformedPolicyDocumentException", http_status_code=400,
                         service_message="Policy contains a statement with one or more invalid principals.")
    with pytest.raises(SetupError) as err:
        apply(plan)
    text = str(err.value)
    assert "invalid principals" in text and "role/NoSuchRole" in text and "reader_principals" in text
    stubs.verify()


def test_guardduty_refusing_sample_findings_is_a_clear_error_not_a_botocore_one(stubs: Stubs):
    """A retired type GuardDuty no longer generates passes the settings' check (it is in GuardDuty's list), so the
    service's own BadRequestException must still come out as a gdnb error that quotes it and says what to do."""
    settings = cfg(apply=True, sample_findings=[RETIRED_TYPE])
    detector = f"arn:aws:guardduty:{REGION}:{ACCOUNT}:detector/d1"
    stub_identity(stubs)
    stub_key(stubs)
    stub_detector(stubs)
    s3, kms, gd = stubs("s3"), stubs("kms"), stubs("guardduty")
    s3.add_response("list_buckets", {"Buckets": [{"Name": "guardduty-alert"}]}, {"Prefix": "guardduty-alert"})
    s3.add_response("get_bucket_location", {"LocationConstraint": REGION}, {"Bucket": "guardduty-alert"})
    key_policy = P.new_key_policy(ACCOUNT, P.key_statements(account=ACCOUNT, detector_arns=[detector],
                                                            regions=[REGION]))
    kms.add_response("get_key_policy", {"Policy": json.dumps(key_policy)})
    bucket_policy = {"Version": P.POLICY_VERSION, "Statement": P.bucket_statements(
        bucket="guardduty-alert", prefix="", key_arn=KEY_ARN, account=ACCOUNT, detector_arns=[detector],
        regions=[REGION])}
    s3.add_response("get_bucket_policy", {"Policy": json.dumps(bucket_policy)}, {"Bucket": "guardduty-alert"})
    gd.add_response("list_publishing_destinations", {"Destinations": [
        {"DestinationId": "dest1", "DestinationType": "S3", "Status": "PUBLISHING"}]}, {"DetectorId": "d1"})
    gd.add_response("describe_publishing_destination", {
        "DestinationId": "dest1", "DestinationType": "S3", "Status": "PUBLISHING",
        "PublishingFailureStartTimestamp": 0,
        "DestinationProperties": {"DestinationArn": "arn:aws:s3:::guardduty-alert", "KmsKeyArn": KEY_ARN}},
        {"DetectorId": "d1", "DestinationId": "dest1"})
    gd.add_response("list_findings", {"FindingIds": []})
    plan = plan_export(settings, AwsCalls(settings, stubs.factory))
    [sample] = [a for a in plan.actions if a.step == "sample findings"]
    assert sample.change == "create" and [a.step for a in plan.changes] == ["sample findings"]

    message = "The request is rejected because an invalid or out-of-range value is specified as an input parameter."
    gd.add_client_error("create_sample_findings", service_error_code="BadRequestException", http_status_code=400,
                        service_message=message,
                        expected_params={"DetectorId": "d1", "FindingTypes": [RETIRED_TYPE]})
    with pytest.raises(GuardDutyRequestError) as err:
        apply(plan)
    assert isinstance(err.value, GdnbError) and err.value.code == "BadRequestException"
    text = str(err.value)
    assert "GuardDuty refused CreateSampleFindings for sample findings of d1" in text and message in text
    assert "Fix: check sample_findings in the params file" in text and "retired types are refused" in text
    assert sample.status == "failed" and not plan.applied
    stubs.verify()


def test_any_guardduty_bad_request_in_setup_quotes_the_service(stubs: Stubs):
    settings = cfg()
    stubs("guardduty").add_client_error("list_detectors", service_error_code="BadRequestException",
                                        http_status_code=400, service_message="The request is rejected.")
    with pytest.raises(GuardDutyRequestError) as err:
        AwsCalls(settings, stubs.factory).call("guardduty", REGION, "list_detectors", f"GuardDuty in {REGION}")
    assert '"The request is rejected."' in str(err.value) and "Fix: check the values" in str(err.value)
