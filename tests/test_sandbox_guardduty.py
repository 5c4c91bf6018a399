"""The sandbox's GuardDuty: publishing destinations, sample findings, list/get/archive, and the S3 export."""

from __future__ import annotations

import re
from typing import Any

import boto3
import gd_setup as gd
import pytest
from botocore.exceptions import ClientError

REGION = "us-east-1"
BUCKET = "gd-export-test"
KEY_RE = re.compile(r"^gd/AWSLogs/(\d{12})/GuardDuty/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/"
                    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.jsonl\.gz$")


@pytest.fixture()
def export(clean_sandbox: Any) -> gd.Export:
    return gd.setup_export(REGION, BUCKET, "gd")


@pytest.fixture()
def guardduty(clean_sandbox: Any) -> Any:
    return gd.client("guardduty", REGION)


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def _all_ids(guardduty: Any, detector_id: str, **kwargs: Any) -> list[str]:
    pages = guardduty.get_paginator("list_findings").paginate(DetectorId=detector_id, **kwargs)
    return [i for p in pages for i in p["FindingIds"]]


# -- publishing destinations --------------------------------------------------------------------------------
def test_destination_create_list_describe_update_delete(export: gd.Export, guardduty: Any) -> None:
    listed = guardduty.list_publishing_destinations(DetectorId=export.detector_id)["Destinations"]
    assert listed == [{"DestinationId": export.destination_id, "DestinationType": "S3", "Status": "PUBLISHING"}]
    described = guardduty.describe_publishing_destination(DetectorId=export.detector_id,
                                                          DestinationId=export.destination_id)
    assert described["DestinationProperties"] == {"DestinationArn": f"arn:aws:s3:::{BUCKET}/gd",
                                                  "KmsKeyArn": export.key_arn}
    assert described["Status"] == "PUBLISHING" and described["DestinationType"] == "S3"

    # Move the export to another prefix: the bucket policy must allow it there too.
    gd.put_bucket_policy(BUCKET, REGION, *gd.guardduty_bucket_statements(
        BUCKET, "", export.account_id, REGION, export.detector_id, export.key_arn))
    guardduty.update_publishing_destination(DetectorId=export.detector_id, DestinationId=export.destination_id,
                                            DestinationProperties={"DestinationArn": f"arn:aws:s3:::{BUCKET}"})
    described = guardduty.describe_publishing_destination(DetectorId=export.detector_id,
                                                          DestinationId=export.destination_id)
    assert described["DestinationProperties"]["DestinationArn"] == f"arn:aws:s3:::{BUCKET}"

    guardduty.delete_publishing_destination(DetectorId=export.detector_id, DestinationId=export.destination_id)
    assert guardduty.list_publishing_destinations(DetectorId=export.detector_id)["Destinations"] == []
    guardduty.create_sample_findings(DetectorId=export.detector_id, FindingTypes=["Recon:EC2/Portscan"])
    assert gd.list_keys(BUCKET) == []  # no destination, no export
    with pytest.raises(ClientError) as exc:
        guardduty.describe_publishing_destination(DetectorId=export.detector_id, DestinationId=export.destination_id)
    assert _error(exc)[0] == "BadRequestException"


def test_unknown_detector_is_a_bad_request(guardduty: Any) -> None:
    for call in (lambda: guardduty.list_publishing_destinations(DetectorId="0" * 32),
                 lambda: guardduty.create_sample_findings(DetectorId="0" * 32),
                 lambda: guardduty.list_findings(DetectorId="0" * 32),
                 lambda: guardduty.get_findings(DetectorId="0" * 32, FindingIds=["a"])):
        with pytest.raises(ClientError) as exc:
            call()
        code, message = _error(exc)
        assert code == "BadRequestException"
        assert "detectorId is not owned by the current account" in message


def test_reset_forgets_destinations_and_findings(export: gd.Export, sandbox: Any) -> None:
    import urllib.request

    guardduty = gd.client("guardduty", REGION)
    guardduty.create_sample_findings(DetectorId=export.detector_id, FindingTypes=["Recon:EC2/Portscan"])
    urllib.request.urlopen(urllib.request.Request(f"{sandbox.endpoint}/moto-api/reset", data=b"", method="POST"))
    detector_id = gd.create_detector(REGION)
    assert guardduty.list_publishing_destinations(DetectorId=detector_id)["Destinations"] == []
    assert guardduty.list_findings(DetectorId=detector_id)["FindingIds"] == []


# -- bad destinations ---------------------------------------------------------------------------------------------
@pytest.fixture()
def parts(clean_sandbox: Any) -> dict[str, str]:
    """A detector, a key with the GuardDuty statement, a bucket with the GuardDuty policy; no destination yet."""
    account = gd.account_id()
    detector_id = gd.create_detector(REGION)
    key_arn = gd.create_key(REGION)
    gd.put_key_policy(REGION, key_arn, gd.key_admin_statement(account),
                      gd.guardduty_key_statement(account, REGION, detector_id, key_arn))
    gd.create_bucket(BUCKET, REGION)
    gd.put_bucket_policy(BUCKET, REGION, *gd.guardduty_bucket_statements(BUCKET, "gd", account, REGION,
                                                                         detector_id, key_arn))
    return {"account": account, "detector_id": detector_id, "key_arn": key_arn}


def _create(parts: dict[str, str], bucket: str = BUCKET, prefix: str = "gd", key_arn: str | None = None) -> str:
    return gd.create_destination(REGION, parts["detector_id"], bucket, prefix, key_arn or parts["key_arn"])


def _refused(parts: dict[str, str], **kwargs: Any) -> str:
    with pytest.raises(ClientError) as exc:
        _create(parts, **kwargs)
    code, message = _error(exc)
    assert code == "BadRequestException"
    return message


def test_the_documented_setup_is_accepted(parts: dict[str, str]) -> None:
    assert re.fullmatch(r"[0-9a-f]{32}", _create(parts))


def test_destination_to_a_missing_bucket_is_refused(parts: dict[str, str]) -> None:
    message = _refused(parts, bucket="no-such-bucket-here")
    assert "no-such-bucket-here" in message and "does not exist" in message


def test_destination_with_a_key_in_another_region_is_refused(parts: dict[str, str]) -> None:
    other = gd.create_key("eu-west-1")
    gd.put_key_policy("eu-west-1", other, gd.key_admin_statement(parts["account"]),
                      gd.guardduty_key_statement(parts["account"], REGION, parts["detector_id"], other))
    message = _refused(parts, key_arn=other)
    assert "eu-west-1" in message and "same region" in message


def test_destination_with_a_missing_key_is_refused(parts: dict[str, str]) -> None:
    missing = parts["key_arn"].rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    assert "does not exist" in _refused(parts, key_arn=missing)


def test_destination_without_the_key_policy_statement_is_refused(parts: dict[str, str]) -> None:
    gd.put_key_policy(REGION, parts["key_arn"], gd.key_admin_statement(parts["account"]))
    message = _refused(parts)
    assert "kms:GenerateDataKey" in message and "guardduty.amazonaws.com" in message


def test_key_policy_for_another_detector_is_refused(parts: dict[str, str]) -> None:
    gd.put_key_policy(REGION, parts["key_arn"], gd.key_admin_statement(parts["account"]),
                      gd.guardduty_key_statement(parts["account"], REGION, "f" * 32, parts["key_arn"]))
    assert "kms:GenerateDataKey" in _refused(parts)


def test_key_policy_with_wildcard_conditions_is_accepted(parts: dict[str, str]) -> None:
    statement = gd.guardduty_key_statement(parts["account"], REGION, parts["detector_id"], parts["key_arn"])
    statement["Condition"] = {"StringEquals": {"aws:SourceAccount": parts["account"]},
                              "ArnLike": {"aws:SourceArn": f"arn:aws:guardduty:*:{parts['account']}:detector/*"}}
    gd.put_key_policy(REGION, parts["key_arn"], gd.key_admin_statement(parts["account"]), statement)
    assert _create(parts)


def test_destination_without_the_bucket_policy_statement_is_refused(parts: dict[str, str]) -> None:
    statements = gd.guardduty_bucket_statements(BUCKET, "gd", parts["account"], REGION, parts["detector_id"],
                                                parts["key_arn"])
    gd.put_bucket_policy(BUCKET, REGION, *[s for s in statements if s["Sid"] != "Allow PutObject"])
    message = _refused(parts)
    assert "s3:PutObject" in message and "does not allow" in message


def test_destination_outside_the_allowed_prefix_is_refused(parts: dict[str, str]) -> None:
    assert "does not allow" in _refused(parts, prefix="elsewhere")


def test_encryption_statement_naming_another_key_is_refused(parts: dict[str, str]) -> None:
    other = gd.create_key(REGION)
    gd.put_bucket_policy(BUCKET, REGION, *gd.guardduty_bucket_statements(
        BUCKET, "gd", parts["account"], REGION, parts["detector_id"], other))
    message = _refused(parts)
    assert "Deny incorrect encryption header" in message


def test_bucket_without_policy_is_refused(parts: dict[str, str]) -> None:
    gd.client("s3", REGION).delete_bucket_policy(Bucket=BUCKET)
    assert "no bucket policy" in _refused(parts)


# -- sample findings and the export ----------------------------------------------------------------------------
def test_sample_findings_of_every_type_are_exported_as_the_service_writes_them(export: gd.Export,
                                                                               guardduty: Any) -> None:
    from gdnb.sandbox.findings.catalog import finding_types

    guardduty.create_sample_findings(DetectorId=export.detector_id)
    keys = gd.list_keys(BUCKET)
    assert len(keys) == 1
    match = KEY_RE.match(keys[0])
    assert match, keys[0]
    assert match.groups()[:2] == (export.account_id, REGION)
    head = gd.client("s3", REGION).head_object(Bucket=BUCKET, Key=keys[0])
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == export.key_arn
    rows = gd.read_findings(BUCKET, keys[0])
    assert {r["type"] for r in rows} == {t.name for t in finding_types()}
    assert len(rows) == 221
    for r in rows:
        assert r["service"]["additionalInfo"]["sample"] is True
        assert r["accountId"] == export.account_id and r["region"] == REGION
        assert r["arn"].startswith(f"arn:aws:guardduty:{REGION}:{export.account_id}:detector/{export.detector_id}/")
        assert r["updatedAt"][:10].replace("-", "/") == "/".join(match.groups()[2:])
    assert len(_all_ids(guardduty, export.detector_id)) == 221


def test_generating_samples_again_updates_them_and_exports_the_new_versions(export: gd.Export,
                                                                            guardduty: Any) -> None:
    types = ["Trojan:EC2/DNSDataExfiltration", "Recon:EC2/PortProbeUnprotectedPort"]
    guardduty.create_sample_findings(DetectorId=export.detector_id, FindingTypes=types)
    guardduty.create_sample_findings(DetectorId=export.detector_id, FindingTypes=types[:1])
    keys = gd.list_keys(BUCKET)
    assert len(keys) == 2
    rows = [r for k in keys for r in gd.read_findings(BUCKET, k)]
    dns = [r for r in rows if r["type"] == types[0]]
    assert len(dns) == 2 and dns[0]["id"] == dns[1]["id"]
    assert sorted(r["service"]["count"] for r in dns) == [1, 2]
    assert len(_all_ids(guardduty, export.detector_id)) == 2


def test_invalid_finding_type_is_a_bad_request_naming_it(export: gd.Export, guardduty: Any) -> None:
    with pytest.raises(ClientError) as exc:
        guardduty.create_sample_findings(DetectorId=export.detector_id,
                                         FindingTypes=["Recon:EC2/Portscan", "Recon:EC2/NoSuchThing"])
    code, message = _error(exc)
    assert code == "BadRequestException" and "Recon:EC2/NoSuchThing" in message
    assert gd.list_keys(BUCKET) == []


def test_a_second_destination_for_the_detector_is_refused(export: gd.Export, guardduty: Any) -> None:
    # GuardDuty takes one publishing destination per detector: a second one is a bad request, and the
    # export keeps going to the first only.
    account = export.account_id
    gd.create_bucket("gd-second-copy", REGION)
    gd.put_bucket_policy("gd-second-copy", REGION, *gd.guardduty_bucket_statements(
        "gd-second-copy", "", account, REGION, export.detector_id, export.key_arn))
    with pytest.raises(ClientError) as exc:
        gd.create_destination(REGION, export.detector_id, "gd-second-copy", "", export.key_arn)
    code, message = _error(exc)
    assert code == "BadRequestException"
    assert "publishing destination already exists for this detector" in message and export.destination_id in message
    assert [d["DestinationId"] for d in guardduty.list_publishing_destinations(
        DetectorId=export.detector_id)["Destinations"]] == [export.destination_id]
    guardduty.create_sample_findings(DetectorId=export.detector_id, FindingTypes=["Recon:EC2/Portscan"])
    assert len(gd.list_keys(BUCKET)) == 1 and gd.list_keys("gd-second-copy") == []

    # Once the first is deleted, the detector can publish to the other bucket.
    guardduty.delete_publishing_destination(DetectorId=export.detector_id, DestinationId=export.destination_id)
    second = gd.create_destination(REGION, export.detector_id, "gd-second-copy", "", export.key_arn)
    guardduty.create_sample_findings(DetectorId=export.detector_id, FindingTypes=["Recon:EC2/Portscan"])
    keys = gd.list_keys("gd-second-copy")
    assert len(keys) == 1 and keys[0].startswith(f"AWSLogs/{account}/GuardDuty/{REGION}/")
    assert len(gd.list_keys(BUCKET)) == 1
    assert guardduty.describe_publishing_destination(DetectorId=export.detector_id,
                                                     DestinationId=second)["Status"] == "PUBLISHING"


# -- a destination that stops being usable ------------------------------------------------------------------------
UNABLE = "UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY"


def _status(guardduty: Any, export: gd.Export) -> tuple[str, int]:
    described = guardduty.describe_publishing_destination(DetectorId=export.detector_id,
                                                          DestinationId=export.destination_id)
    listed = guardduty.list_publishing_destinations(DetectorId=export.detector_id)["Destinations"]
    assert listed[0]["Status"] == described["Status"]
    return described["Status"], described["PublishingFailureStartTimestamp"]


def _samples(guardduty: Any, export: gd.Export) -> None:
    guardduty.create_sample_findings(DetectorId=export.detector_id, FindingTypes=["Recon:EC2/Portscan"])


def _bucket_statements(export: gd.Export) -> list[dict[str, Any]]:
    return gd.guardduty_bucket_statements(BUCKET, "gd", export.account_id, REGION, export.detector_id,
                                          export.key_arn)


def test_export_stops_when_the_bucket_policy_loses_the_putobject_statement(export: gd.Export,
                                                                          guardduty: Any) -> None:
    import time

    statements = _bucket_statements(export)
    gd.put_bucket_policy(BUCKET, REGION, *[s for s in statements if s["Sid"] != "Allow PutObject"])
    before = int(time.time() * 1000)
    _samples(guardduty, export)
    assert gd.list_keys(BUCKET) == []  # nothing written
    status, since = _status(guardduty, export)
    assert status == UNABLE and before - 1000 <= since <= int(time.time() * 1000) + 1000
    assert len(_all_ids(guardduty, export.detector_id)) == 1  # the finding exists; only its export failed

    _samples(guardduty, export)  # still failing: the failure keeps its start time
    assert gd.list_keys(BUCKET) == [] and _status(guardduty, export) == (UNABLE, since)

    gd.put_bucket_policy(BUCKET, REGION, *statements)  # fixed: the next export goes through
    _samples(guardduty, export)
    keys = gd.list_keys(BUCKET)
    assert len(keys) == 1 and KEY_RE.match(keys[0])
    assert _status(guardduty, export) == ("PUBLISHING", 0)


def test_export_stops_when_the_bucket_policy_is_deleted(export: gd.Export, guardduty: Any) -> None:
    gd.client("s3", REGION).delete_bucket_policy(Bucket=BUCKET)
    _samples(guardduty, export)
    assert gd.list_keys(BUCKET) == [] and _status(guardduty, export)[0] == UNABLE


def test_export_stops_while_the_key_is_disabled(export: gd.Export, guardduty: Any) -> None:
    kms = gd.client("kms", REGION)
    key_id = export.key_arn.rsplit("/", 1)[1]  # moto's DisableKey/EnableKey take the id, not the ARN
    kms.disable_key(KeyId=key_id)
    _samples(guardduty, export)
    assert gd.list_keys(BUCKET) == [] and _status(guardduty, export)[0] == UNABLE
    kms.enable_key(KeyId=key_id)
    _samples(guardduty, export)
    assert len(gd.list_keys(BUCKET)) == 1 and _status(guardduty, export) == ("PUBLISHING", 0)


def test_export_stops_when_the_key_is_pending_deletion(export: gd.Export, guardduty: Any) -> None:
    key_id = export.key_arn.rsplit("/", 1)[1]
    gd.client("kms", REGION).schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    _samples(guardduty, export)
    assert gd.list_keys(BUCKET) == [] and _status(guardduty, export)[0] == UNABLE


def test_export_stops_when_the_key_policy_loses_the_guardduty_statement(export: gd.Export, guardduty: Any) -> None:
    gd.put_key_policy(REGION, export.key_arn, gd.key_admin_statement(export.account_id))
    _samples(guardduty, export)
    assert gd.list_keys(BUCKET) == [] and _status(guardduty, export)[0] == UNABLE


def test_export_stops_when_the_bucket_is_gone(export: gd.Export, guardduty: Any) -> None:
    gd.client("s3", REGION).delete_bucket(Bucket=BUCKET)
    _samples(guardduty, export)
    assert _status(guardduty, export)[0] == UNABLE
    assert BUCKET not in [b["Name"] for b in gd.client("s3", REGION).list_buckets()["Buckets"]]


def test_updating_a_failing_destination_to_a_usable_one_resumes_publishing(export: gd.Export,
                                                                          guardduty: Any) -> None:
    gd.client("s3", REGION).delete_bucket_policy(Bucket=BUCKET)
    _samples(guardduty, export)
    assert _status(guardduty, export)[0] == UNABLE
    gd.create_bucket("gd-export-moved", REGION)
    gd.put_bucket_policy("gd-export-moved", REGION, *gd.guardduty_bucket_statements(
        "gd-export-moved", "", export.account_id, REGION, export.detector_id, export.key_arn))
    guardduty.update_publishing_destination(DetectorId=export.detector_id, DestinationId=export.destination_id,
                                            DestinationProperties={"DestinationArn": "arn:aws:s3:::gd-export-moved"})
    assert _status(guardduty, export) == ("PUBLISHING", 0)
    _samples(guardduty, export)
    assert len(gd.list_keys("gd-export-moved")) == 1


# -- list, get, archive ----------------------------------------------------------------------------------------
def test_get_findings_returns_the_api_form(export: gd.Export, guardduty: Any) -> None:
    guardduty.create_sample_findings(DetectorId=export.detector_id, FindingTypes=["Trojan:EC2/DNSDataExfiltration"])
    ids = _all_ids(guardduty, export.detector_id)
    finding = guardduty.get_findings(DetectorId=export.detector_id, FindingIds=ids)["Findings"][0]
    assert finding["Type"] == "Trojan:EC2/DNSDataExfiltration"
    assert finding["Resource"]["ResourceType"] == "Instance"
    assert finding["Resource"]["InstanceDetails"]["InstanceId"].startswith("i-")
    assert finding["Service"]["Action"]["DnsRequestAction"]["Domain"]
    assert finding["Service"]["AdditionalInfo"]["Type"] == "default"
    assert '"sample":true' in finding["Service"]["AdditionalInfo"]["Value"]
    assert isinstance(finding["Severity"], float) and finding["Service"]["Count"] == 1
    exported = gd.read_findings(BUCKET, gd.list_keys(BUCKET)[0])[0]
    assert finding["Id"] == exported["id"] and finding["UpdatedAt"] == exported["updatedAt"]


def test_list_findings_criteria_sort_and_paging(export: gd.Export, guardduty: Any) -> None:
    guardduty.create_sample_findings(DetectorId=export.detector_id)
    findings = {}
    ids = _all_ids(guardduty, export.detector_id)
    for start in range(0, len(ids), 50):
        for f in guardduty.get_findings(DetectorId=export.detector_id, FindingIds=ids[start:start + 50])["Findings"]:
            findings[f["Id"]] = f

    def listed(criterion: dict[str, Any], **kwargs: Any) -> list[str]:
        return _all_ids(guardduty, export.detector_id, FindingCriteria={"Criterion": criterion}, **kwargs)

    def expected(pred: Any) -> set[str]:
        return {i for i, f in findings.items() if pred(f)}

    assert set(listed({"type": {"Eq": ["Recon:EC2/Portscan", "Trojan:EC2/DropPoint"]}})) == expected(
        lambda f: f["Type"] in ("Recon:EC2/Portscan", "Trojan:EC2/DropPoint"))
    assert set(listed({"severity": {"Gte": 7}})) == expected(lambda f: f["Severity"] >= 7)
    assert set(listed({"severity": {"GreaterThanOrEqual": 4, "LessThan": 7}})) == expected(
        lambda f: 4 <= f["Severity"] < 7)
    assert set(listed({"severity": {"Eq": ["4", "5", "6"]}})) == expected(lambda f: 4 <= f["Severity"] < 7)
    assert set(listed({"type": {"Neq": ["Recon:EC2/Portscan"]}, "severity": {"Lt": 4}})) == expected(
        lambda f: f["Type"] != "Recon:EC2/Portscan" and f["Severity"] < 4)
    assert set(listed({"resource.resourceType": {"Equals": ["S3Bucket"]}})) == expected(
        lambda f: f["Resource"]["ResourceType"] == "S3Bucket")
    assert set(listed({"type": {"Matches": ["Trojan:*"]}})) == expected(lambda f: f["Type"].startswith("Trojan:"))
    assert listed({"service.archived": {"Eq": ["true"]}}) == []

    ordered = listed({"severity": {"Gte": 1}}, SortCriteria={"AttributeName": "severity", "OrderBy": "DESC"})
    severities = [findings[i]["Severity"] for i in ordered]
    assert severities == sorted(severities, reverse=True) and len(ordered) == 221
    page = guardduty.list_findings(DetectorId=export.detector_id, MaxResults=7)
    assert len(page["FindingIds"]) == 7 and page["NextToken"]


def test_archived_findings_are_listed_as_archived_and_not_exported(export: gd.Export, guardduty: Any) -> None:
    types = ["Recon:EC2/Portscan", "Trojan:EC2/DropPoint"]
    guardduty.create_sample_findings(DetectorId=export.detector_id, FindingTypes=types)
    ids = {f["Type"]: f["Id"] for f in guardduty.get_findings(
        DetectorId=export.detector_id, FindingIds=_all_ids(guardduty, export.detector_id))["Findings"]}
    guardduty.archive_findings(DetectorId=export.detector_id, FindingIds=[ids["Recon:EC2/Portscan"]])
    archived = _all_ids(guardduty, export.detector_id,
                        FindingCriteria={"Criterion": {"service.archived": {"Eq": ["true"]}}})
    assert archived == [ids["Recon:EC2/Portscan"]]

    guardduty.create_sample_findings(DetectorId=export.detector_id, FindingTypes=types)  # updates both
    second = [k for k in gd.list_keys(BUCKET)]
    rows = [r for k in second for r in gd.read_findings(BUCKET, k)]
    portscan = [r for r in rows if r["type"] == "Recon:EC2/Portscan"]
    assert len(portscan) == 1 and portscan[0]["service"]["count"] == 1  # the archived update was not exported
    assert len([r for r in rows if r["type"] == "Trojan:EC2/DropPoint"]) == 2

    guardduty.unarchive_findings(DetectorId=export.detector_id, FindingIds=[ids["Recon:EC2/Portscan"]])
    assert _all_ids(guardduty, export.detector_id,
                    FindingCriteria={"Criterion": {"service.archived": {"Eq": ["true"]}}}) == []


# -- criteria the service refuses ----------------------------------------------------------------------------------
def _refused_listing(guardduty: Any, detector_id: str, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as exc:
        guardduty.list_findings(DetectorId=detector_id, **kwargs)
    code, message = _error(exc)
    assert code == "BadRequestException"
    return message


def test_an_unknown_criterion_attribute_is_a_bad_request_naming_it(export: gd.Export, guardduty: Any) -> None:
    # Before any finding exists too: the criteria are checked, not just applied.
    message = _refused_listing(guardduty, export.detector_id,
                               FindingCriteria={"Criterion": {"severty": {"Gte": 7}}})
    assert "'severty'" in message and "not a valid finding attribute" in message
    _samples(guardduty, export)
    message = _refused_listing(guardduty, export.detector_id, FindingCriteria={"Criterion": {
        "type": {"Eq": ["Recon:EC2/Portscan"]}, "resource.instanceDetails.instanceID.value": {"Eq": ["i-1"]}}})
    assert "resource.instanceDetails.instanceID.value" in message
    message = _refused_listing(guardduty, export.detector_id, FindingCriteria={"Criterion": {}},
                               SortCriteria={"AttributeName": "sevérity", "OrderBy": "DESC"})
    assert "sevérity" in message


def test_attributes_of_the_finding_schema_are_accepted(export: gd.Export, guardduty: Any) -> None:
    _samples(guardduty, export)  # one Recon:EC2/Portscan finding
    accepted = {
        "resource.instanceDetails.networkInterfaces.securityGroups.groupId": {"Neq": ["sg-none"]},
        "RESOURCE.InstanceDetails.InstanceId": {"Matches": ["i-*"]},  # names match case-insensitively
        "service.additionalInfo.threatListName": {"Neq": ["x"]},  # free-form JSON on the wire
        "service.resourceRole": {"Eq": ["ACTOR", "TARGET"]},
        "updatedAt": {"Gte": 0},
    }
    for attribute, condition in accepted.items():
        ids = _all_ids(guardduty, export.detector_id, FindingCriteria={"Criterion": {attribute: condition}})
        assert len(ids) == 1, attribute


def test_a_comparison_with_a_non_numeric_operand_is_a_bad_request_naming_it(export: gd.Export) -> None:
    # boto3 checks the operand's type itself; other clients (and boto3 without validation) send anything.
    from botocore.config import Config

    raw = boto3.client("guardduty", region_name=REGION,
                          config=Config(parameter_validation=False, retries={"max_attempts": 1}))
    raw.create_sample_findings(DetectorId=export.detector_id, FindingTypes=["Recon:EC2/Portscan"])
    for operand in ("high", "2024-01-01T00:00:00Z", ["7"]):
        message = _refused_listing(raw, export.detector_id,
                                   FindingCriteria={"Criterion": {"severity": {"GreaterThanOrEqual": operand}}})
        assert "severity" in message and "not a number" in message and "greaterthanorequal" in message.lower()
    message = _refused_listing(raw, export.detector_id, FindingCriteria={"Criterion": {"updatedAt": {"Gt": "soon"}}})
    assert "'soon'" in message and "epoch milliseconds" in message
    # A number sent as text is still a number.
    assert len(raw.list_findings(DetectorId=export.detector_id, FindingCriteria={
        "Criterion": {"severity": {"Gte": "1"}}})["FindingIds"]) == 1
