"""Notebooks 00, 01 and 99 run by papermill against the sandbox with params/sandbox.yaml, as `make demo` does.

What they made is checked through plain boto3; what they report is read back from their records.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import boto3
import nbformat
import pytest

from gdnb.config import load_settings
from gdnb.errors import ConfigError
from gdnb.notebooks import NotebookError, notebook_parameters, notebook_params, run_notebook
from gdnb.record import read_records
from gdnb.setup import apply, cloudformation_template, plan_key
from gdnb.setup import policies as P
from gdnb.setup.cloudformation import KEY_ID, TEMPLATE_SETTINGS

ROOT = Path(__file__).resolve().parent.parent
PARAMS = ROOT / "params" / "sandbox.yaml"
ACCOUNT = "123456789012"
HOME = "ap-northeast-1"
REGIONS = ["ap-northeast-1", "us-east-1", "eu-west-1"]
SETUP = ("00_kms_key", "01_bucket_and_export")
FOREIGN_KEY = {"Sid": "LetBackupRoleDescribe", "Effect": "Allow",
               "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/Backup"}, "Action": "kms:DescribeKey",
               "Resource": "*"}
FOREIGN_BUCKET = {"Sid": "LetAuditorsList", "Effect": "Allow",
                  "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/Auditor"}, "Action": "s3:ListBucket",
                  "Resource": "arn:aws:s3:::guardduty-alert"}


def run(name: str, out: Path, **overrides) -> dict:
    return read_records(run_notebook(name, PARAMS, overrides, output_dir=out))


def key_id() -> str:
    return boto3.client("kms", region_name=HOME).describe_key(KeyId="alias/guardduty-alert")["KeyMetadata"]["KeyId"]


def key_policy() -> dict:
    kms = boto3.client("kms", region_name=HOME)
    return json.loads(kms.get_key_policy(KeyId=key_id(), PolicyName="default")["Policy"])


def put_key_policy(policy: dict) -> None:
    boto3.client("kms", region_name=HOME).put_key_policy(KeyId=key_id(), PolicyName="default",
                                                         Policy=json.dumps(policy))


def bucket_policy() -> dict | None:
    s3 = boto3.client("s3", region_name=HOME)
    try:
        return json.loads(s3.get_bucket_policy(Bucket="guardduty-alert")["Policy"])
    except s3.exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchBucketPolicy"
        return None


def destinations() -> dict[str, list[str]]:
    out = {}
    for region in REGIONS:
        gd = boto3.client("guardduty", region_name=region)
        out[region] = [d["DestinationId"] for det in gd.list_detectors()["DetectorIds"]
                       for d in gd.list_publishing_destinations(DetectorId=det)["Destinations"]]
    return out


def exported_keys() -> list[str]:
    s3 = boto3.client("s3", region_name=HOME)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="guardduty-alert", Prefix="AWSLogs/")
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def notebook_text(name: str) -> str:
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def test_00_and_01_set_up_the_export_and_a_second_run_changes_nothing(clean_sandbox, tmp_path: Path):
    first = {name: run(name, tmp_path / "first") for name in SETUP}
    key_arn = first["00_kms_key"]["key_arn"]
    detector_ids = first["00_kms_key"]["detector_ids"]
    assert key_arn.startswith(f"arn:aws:kms:{HOME}:{ACCOUNT}:key/") and set(detector_ids) == set(REGIONS)

    # The key, its policy with every exporting detector, found again by its alias.
    kms = boto3.client("kms", region_name=HOME)
    assert kms.describe_key(KeyId="alias/guardduty-alert")["KeyMetadata"]["Arn"] == key_arn
    [statement] = [s for s in key_policy()["Statement"] if s["Sid"] == P.KEY_GUARDDUTY_SID]
    assert P.source_arns(statement) == {f"arn:aws:guardduty:{r}:{ACCOUNT}:detector/{d}"
                                        for r, d in detector_ids.items()}

    # The bucket, its policy, and one destination per region to it with the key.
    assert {s["Sid"] for s in bucket_policy()["Statement"]} == set(P.BUCKET_SIDS)
    setup = first["01_bucket_and_export"]
    assert setup["bucket"] == "guardduty-alert" and setup["destination_arn"] == "arn:aws:s3:::guardduty-alert"
    assert set(setup["destination_ids"]) == set(REGIONS)
    for region in REGIONS:
        gd = boto3.client("guardduty", region_name=region)
        detector = detector_ids[region]
        assert gd.get_detector(DetectorId=detector)["FindingPublishingFrequency"] == "FIFTEEN_MINUTES"
        props = gd.describe_publishing_destination(DetectorId=detector,
                                                   DestinationId=setup["destination_ids"][region])
        assert props["DestinationProperties"]["KmsKeyArn"] == key_arn
        sample = gd.list_findings(DetectorId=detector, FindingCriteria={"Criterion": {
            "service.additionalInfo.sample": {"Eq": ["true"]}}})["FindingIds"]
        assert sample

    # Sample findings exported for all three regions, under the date folders, SSE-KMS with the key.
    keys = exported_keys()
    pattern = re.compile(rf"^AWSLogs/{ACCOUNT}/GuardDuty/([a-z0-9-]+)/\d{{4}}/\d{{2}}/\d{{2}}/[^/]+\.jsonl\.gz$")
    assert {pattern.match(k).group(1) for k in keys} == set(REGIONS)
    assert setup["exported_objects"] == len(keys) and setup["exported_regions"] == sorted(REGIONS)
    head = boto3.client("s3", region_name=HOME).head_object(Bucket="guardduty-alert", Key=keys[0])
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key_arn

    second = {name: run(name, tmp_path / "second") for name in SETUP}
    for name, records in second.items():
        assert {a["change"] for a in records["planned_actions"]} == {"no-op"}, name
        assert records["aws_calls"] and not [c for c in records["aws_calls"] if c["write"]], name
    assert second["00_kms_key"]["key_arn"] == key_arn
    assert second["01_bucket_and_export"]["destination_ids"] == setup["destination_ids"]
    assert exported_keys() == keys  # no more samples

    # Every IAM action the notebooks used is listed in their "Needs (IAM)" text.
    for name in SETUP:
        text = notebook_text(name)
        used = {c["iam action"] for run_ in (first, second) for c in run_[name]["aws_calls"]}
        assert used and not [a for a in used if f"`{a}`" not in text], name


def test_teardown_is_a_dry_run_by_default_then_removes_exactly_what_gdnb_made(clean_sandbox, tmp_path: Path):
    for name in SETUP:
        run(name, tmp_path)
    put_key_policy({**key_policy(), "Statement": [*key_policy()["Statement"], FOREIGN_KEY]})
    policy = bucket_policy()
    policy["Statement"].insert(0, FOREIGN_BUCKET)
    boto3.client("s3", region_name=HOME).put_bucket_policy(Bucket="guardduty-alert", Policy=json.dumps(policy))
    before = (key_policy(), bucket_policy(), destinations(), exported_keys())

    # The sandbox params say apply: true (for 00 and 01); 99 carries its plan out only with teardown: true.
    dry = run("99_teardown", tmp_path / "dry")
    assert dry["applied"] is False
    assert {a["status"] for a in dry["planned_actions"]} == {"dry run (teardown: false)", "no change"}
    assert {a["change"] for a in dry["planned_actions"]} >= {"delete", "update"}  # there was something to do
    assert not [c for c in dry["aws_calls"] if c["write"]]
    assert (key_policy(), bucket_policy(), destinations(), exported_keys()) == before

    done = run("99_teardown", tmp_path / "apply", teardown=True)
    assert done["applied"] is True
    assert destinations() == {r: [] for r in REGIONS}
    assert [s["Sid"] for s in key_policy()["Statement"]] == [P.ROOT_SID, "LetBackupRoleDescribe"]
    assert bucket_policy()["Statement"] == [FOREIGN_BUCKET]
    assert exported_keys() == before[3]  # the findings stay without delete_findings
    kms = boto3.client("kms", region_name=HOME)
    assert kms.describe_key(KeyId=key_id())["KeyMetadata"]["KeyState"] == "Enabled"
    gone = run("99_teardown", tmp_path / "all", teardown=True, delete_findings=True, confirm_bucket="guardduty-alert")
    assert {a["step"] for a in gone["planned_actions"] if a["change"] == "delete"} == {
        "findings", "bucket", "kms key", "kms alias"}
    assert "guardduty-alert" not in [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
    for region in REGIONS:  # detectors stay
        assert boto3.client("guardduty", region_name=region).list_detectors()["DetectorIds"]
    used = {c["iam action"] for records in (dry, done, gone) for c in records["aws_calls"]}
    text = notebook_text("99_teardown")
    assert used and not [a for a in used if f"`{a}`" not in text]


def test_the_walkthrough_reads_as_plans_on_a_fresh_account(clean_sandbox, tmp_path: Path):
    """The README's promise: run 00 and 01 with apply: false to read the plans before anything is applied."""
    plans = {name: run(name, tmp_path, apply=False) for name in SETUP}
    for name, records in plans.items():
        assert records["applied"] is False, name
        assert not [c for c in records["aws_calls"] if c["write"]], name
        assert {a["status"] for a in records["planned_actions"]} <= {"dry run", "no change"}, name
    assert plans["00_kms_key"]["key_arn"] is None
    setup = plans["01_bucket_and_export"]
    assert setup["key_arn"] == f"arn:aws:kms:{HOME}:{ACCOUNT}:key/(created by 00_kms_key)"
    assert setup["detector_ids"] == {r: "(new)" for r in REGIONS}
    changes = [(a["step"], a["change"]) for a in setup["planned_actions"]]
    assert ("bucket", "create") in changes and ("bucket policy", "create") in changes
    assert changes.count(("publishing destination", "create")) == len(REGIONS)
    assert setup["exported_objects"] == 0 and setup["exported_regions"] == []
    assert boto3.client("guardduty", region_name=HOME).list_detectors()["DetectorIds"] == []


def test_01s_template_has_the_key_policy_00_applied(clean_sandbox):
    """Notebook 01 renders the CloudFormation template from its own parameters: it must declare every setting
    the template uses, or the template differs from what 00 applied (the readers' kms:Decrypt statement)."""
    assert set(TEMPLATE_SETTINGS) <= set(notebook_parameters("01_bucket_and_export"))
    overrides = {"reader_principals": [f"arn:aws:iam::{ACCOUNT}:role/SecurityAnalyst"], "key_pending_days": 9}
    apply(plan_key(load_settings(overrides=notebook_params("00_kms_key", PARAMS, overrides))))
    template = cloudformation_template(load_settings(overrides=notebook_params("01_bucket_and_export", PARAMS,
                                                                               overrides)))
    key = template["Resources"][KEY_ID]["Properties"]
    canonical = [P.canonical_statement(s) for s in key["KeyPolicy"]["Statement"]]
    assert canonical == [P.canonical_statement(s) for s in key_policy()["Statement"]]
    assert P.KEY_READERS_SID in [s["Sid"] for s in key["KeyPolicy"]["Statement"]]
    assert key["PendingWindowInDays"] == 9


def test_a_failing_step_is_a_notebook_error_with_the_reason(clean_sandbox, tmp_path: Path):
    with pytest.raises(NotebookError) as err:
        run("01_bucket_and_export", tmp_path)
    assert err.value.ename == "NotFoundError" and "run 00_kms_key" in err.value.evalue
    assert err.value.output_path.is_file()


@pytest.mark.parametrize(("overrides", "field"), [
    ({"home_region": "ap-northeast-9"}, "home_region"),
    ({"bucket": "GuardDuty_Alert"}, "bucket"),
    ({"key_pending_days": 3}, "key_pending_days"),
    ({"sample_findings": "Trojan EC2"}, "sample_findings"),
    ({"bukcet": "guardduty-alert"}, "bukcet"),
])
def test_bad_params_fail_before_the_notebook_runs(tmp_path: Path, overrides, field):
    with pytest.raises(ConfigError) as err:
        run_notebook("01_bucket_and_export", PARAMS, overrides, output_dir=tmp_path)
    assert err.value.field == field and "Fix:" in str(err.value)
    assert not list(tmp_path.iterdir())  # no kernel ran, no notebook written
