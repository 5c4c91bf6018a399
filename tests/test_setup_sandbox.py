"""gdnb.setup against the sandbox, driven as a script would: plans, apply, idempotency, foreign statements,
teardown and the errors a user can run into. Results are checked through plain boto3."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import boto3
import botocore.exceptions
import pytest

from gdnb import aws
from gdnb.config import load_settings
from gdnb.errors import AccessDeniedError, ConfigError, NotFoundError, RegionMismatchError, SetupError
from gdnb.setup import (
    apply,
    aws_calls,
    calls_mark,
    cloudformation_template,
    list_exported_objects,
    plan_bucket,
    plan_export,
    plan_key,
    plan_teardown,
)
from gdnb.setup import policies as P
from gdnb.setup.calls import is_write
from gdnb.setup.errors import (
    BucketNotEmptyError,
    BucketOwnedElsewhereError,
    KeyUnusableError,
    ObjectsNotDeletedError,
)

ACCOUNT = "123456789012"
HOME = "ap-northeast-1"
REGIONS = [HOME, "us-east-1", "eu-west-1"]

FOREIGN_KEY_STATEMENT = {"Sid": "LetBackupRoleDescribe", "Effect": "Allow",
                         "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/Backup"},
                         "Action": "kms:DescribeKey", "Resource": "*"}
FOREIGN_BUCKET_STATEMENT = {"Sid": "LetAuditorsList", "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/Auditor"},
                            "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::guardduty-alert"}
TWO_TYPES = ["Recon:EC2/PortProbeUnprotectedPort", "Trojan:EC2/DNSDataExfiltration"]
PLANNED_KEY = f"arn:aws:kms:{HOME}:{ACCOUNT}:key/(created by 00_kms_key)"


def settings(**overrides):
    base = {"home_region": HOME, "export_regions": REGIONS, "bucket": "guardduty-alert",
            "kms_alias": "alias/guardduty-alert", "sample_findings": "all", "apply": True}
    return load_settings(overrides={**base, **overrides})


def set_up(cfg) -> dict:
    """Apply the key, bucket and export steps; return the outputs of each."""
    out = {}
    for name, planner in (("key", plan_key), ("bucket", plan_bucket), ("export", plan_export)):
        out[name] = apply(planner(cfg)).outputs
    return out


@contextlib.contextmanager
def operations() -> Iterator[list[str]]:
    """Every AWS operation made through gdnb's session meanwhile, seen by botocore itself."""
    seen: list[str] = []

    def hook(model, **_):
        seen.append(model.name)

    events = aws.session().events
    events.register("before-call", hook, unique_id="test-setup-operations")
    try:
        yield seen
    finally:
        events.unregister("before-call", unique_id="test-setup-operations")


def key_policy(alias: str = "alias/guardduty-alert", region: str = HOME) -> dict:
    kms = boto3.client("kms", region_name=region)
    key_id = kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
    return json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])


def bucket_policy(bucket: str = "guardduty-alert") -> dict:
    return json.loads(boto3.client("s3", region_name=HOME).get_bucket_policy(Bucket=bucket)["Policy"])


def sids(policy: dict) -> list[str]:
    return [s.get("Sid") for s in policy["Statement"]]


def all_keys(bucket: str = "guardduty-alert") -> list[str]:
    s3 = boto3.client("s3", region_name=HOME)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def bucket_exists(bucket: str = "guardduty-alert") -> bool:
    return bucket in [b["Name"] for b in boto3.client("s3", region_name=HOME).list_buckets()["Buckets"]]


def key_state(key: str = "alias/guardduty-alert") -> str:
    return boto3.client("kms", region_name=HOME).describe_key(KeyId=key)["KeyMetadata"]["KeyState"]


def steps(plan) -> dict[str, list[str]]:
    """``{step: [change, ...]}`` of a plan."""
    out: dict[str, list[str]] = {}
    for a in plan.actions:
        out.setdefault(a.step, []).append(a.change)
    return out


# -- a first run makes everything, a second run writes nothing ----------------------------------------

def test_setup_makes_everything_and_a_second_run_writes_nothing(clean_sandbox):
    cfg = settings()
    with operations() as first:
        out = set_up(cfg)
    assert {"CreateDetector", "CreateKey", "CreateBucket", "PutBucketPolicy", "CreatePublishingDestination",
            "CreateSampleFindings"} <= set(first)

    key_arn = out["key"]["key_arn"]
    assert key_arn.startswith(f"arn:aws:kms:{HOME}:{ACCOUNT}:key/")
    kms = boto3.client("kms", region_name=HOME)
    meta = kms.describe_key(KeyId="alias/guardduty-alert")["KeyMetadata"]
    assert meta["Arn"] == key_arn and meta["KeySpec"] == "SYMMETRIC_DEFAULT" and meta["KeyManager"] == "CUSTOMER"
    assert kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"] is True
    gd_statement = next(s for s in key_policy()["Statement"] if s["Sid"] == P.KEY_GUARDDUTY_SID)
    detector_arns = {f"arn:aws:guardduty:{r}:{ACCOUNT}:detector/{d}" for r, d in out["key"]["detector_ids"].items()}
    assert len(detector_arns) == 3 and P.source_arns(gd_statement) == detector_arns
    assert P.ROOT_SID in sids(key_policy())

    s3 = boto3.client("s3", region_name=HOME)
    assert s3.get_bucket_location(Bucket="guardduty-alert")["LocationConstraint"] == HOME
    assert all(s3.get_public_access_block(Bucket="guardduty-alert")["PublicAccessBlockConfiguration"].values())
    rule = s3.get_bucket_encryption(Bucket="guardduty-alert")["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
    assert rule["BucketKeyEnabled"] is True
    owner = s3.get_bucket_ownership_controls(Bucket="guardduty-alert")["OwnershipControls"]["Rules"]
    assert owner == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert set(sids(bucket_policy())) == set(P.BUCKET_SIDS)

    for region in REGIONS:
        gd = boto3.client("guardduty", region_name=region)
        [detector_id] = gd.list_detectors()["DetectorIds"]
        assert gd.get_detector(DetectorId=detector_id)["FindingPublishingFrequency"] == "FIFTEEN_MINUTES"
        [dest] = gd.list_publishing_destinations(DetectorId=detector_id)["Destinations"]
        assert dest["DestinationId"] == out["export"]["destination_ids"][region]
        props = gd.describe_publishing_destination(DetectorId=detector_id, DestinationId=dest["DestinationId"])
        assert props["DestinationProperties"] == {"DestinationArn": "arn:aws:s3:::guardduty-alert",
                                                  "KmsKeyArn": key_arn}
        assert gd.list_findings(DetectorId=detector_id)["FindingIds"]

    objects = list_exported_objects(cfg)
    assert set(objects["region"]) == set(REGIONS)
    assert objects["key"].str.match(rf"^AWSLogs/{ACCOUNT}/GuardDuty/[a-z0-9-]+/\d{{4}}/\d{{2}}/\d{{2}}/.+").all()
    head = s3.head_object(Bucket="guardduty-alert", Key=objects["key"].iloc[0])
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key_arn

    mark = calls_mark()
    with operations() as second:
        plans = [plan_key(cfg), plan_bucket(cfg), plan_export(cfg)]
        for plan in plans:
            apply(plan)
        list_exported_objects(cfg)
    assert all(plan.is_noop for plan in plans), [str(p) for p in plans if not p.is_noop]
    assert second and not [op for op in second if is_write(op)], second
    # gdnb's own call log agrees with botocore's.
    assert [c.operation for c in aws_calls(mark)] == second


def test_a_dry_run_plans_the_creation_and_writes_nothing(clean_sandbox):
    """On a fresh account the whole walkthrough reads as plans: 01's steps plan against what 00 would create."""
    cfg = settings(apply=False, prefix="guardduty")
    with operations() as seen:
        key_plan = apply(plan_key(cfg))
        bucket_plan = apply(plan_bucket(cfg))
        export_plan = apply(plan_export(cfg))
        objects = list_exported_objects(cfg, wait=True)
        template = cloudformation_template(cfg)
    assert seen and not [op for op in seen if is_write(op)], seen

    assert [a.change for a in key_plan.actions] == ["create"] * 5 + ["update"]  # rotation: an update of the new key
    assert [(a.step, a.change) for a in bucket_plan.actions] == [
        ("bucket", "create"), ("block public access", "create"), ("object ownership", "create"),
        ("default encryption", "create"), ("prefix folder", "create"), ("bucket policy", "create")]
    assert {c.status for c in bucket_plan.policies["bucket policy"]} == {P.ADDED}
    new_detectors = {r: "(new)" for r in REGIONS}
    assert bucket_plan.outputs["key_arn"] == PLANNED_KEY and bucket_plan.outputs["detector_ids"] == new_detectors
    assert "planned against what 00_kms_key would create" in bucket_plan.title
    assert [(a.region, a.step, a.change) for a in export_plan.actions] == [
        (r, step, change) for r in REGIONS for step, change in (("publishing frequency", "no-op"),
                                                                ("publishing destination", "create"),
                                                                ("sample findings", "create"))]
    [dest] = [a for a in export_plan.actions if a.step == "publishing destination" and a.region == HOME]
    assert dest.resource == "arn:aws:s3:::guardduty-alert/guardduty" and PLANNED_KEY in dest.detail
    assert "alias/guardduty-alert does not exist yet" in dest.detail and "does not exist yet" in dest.detail
    for plan in (key_plan, bucket_plan, export_plan):
        assert {a.status for a in plan.actions} <= {"dry run", "no change"} and not plan.applied
    assert objects.empty
    assert set(template["Metadata"]["gdnb"]["detector_arns"]) == {
        f"arn:aws:guardduty:{r}:{ACCOUNT}:detector/(new)" for r in REGIONS}
    assert "render the template again after applying" in template["Metadata"]["gdnb"]["planned"]

    assert boto3.client("guardduty", region_name=HOME).list_detectors()["DetectorIds"] == []
    assert not bucket_exists()
    with pytest.raises(NotFoundError, match="run 00_kms_key with the same params"):
        plan_bucket(cfg.replace(apply=True))  # carrying it out needs the real key


# -- never destroy what is not ours ------------------------------------------------------------------

def test_foreign_statements_survive_setup_and_teardown(clean_sandbox):
    cfg = settings(export_regions=[HOME], sample_findings="none")
    kms = boto3.client("kms", region_name=HOME)
    key = kms.create_key(Policy=json.dumps(P.new_key_policy(ACCOUNT, [FOREIGN_KEY_STATEMENT])))["KeyMetadata"]
    kms.create_alias(AliasName="alias/guardduty-alert", TargetKeyId=key["KeyId"])
    s3 = boto3.client("s3", region_name=HOME)
    s3.create_bucket(Bucket="guardduty-alert", CreateBucketConfiguration={"LocationConstraint": HOME})
    s3.put_bucket_policy(Bucket="guardduty-alert",
                         Policy=json.dumps({"Version": "2012-10-17", "Statement": [FOREIGN_BUCKET_STATEMENT]}))

    key_plan = plan_key(cfg)
    statuses = {c.sid: c.status for c in key_plan.policies["key policy"]}
    assert statuses == {P.ROOT_SID: P.FOREIGN_KEPT, "LetBackupRoleDescribe": P.FOREIGN_KEPT,
                        P.KEY_GUARDDUTY_SID: P.ADDED}
    apply(key_plan)
    bucket_plan = plan_bucket(cfg)
    assert [a.change for a in bucket_plan.actions if a.step == "bucket"] == ["no-op"]
    assert {c.sid: c.status for c in bucket_plan.policies["bucket policy"]}["LetAuditorsList"] == P.FOREIGN_KEPT
    apply(bucket_plan)
    apply(plan_export(cfg))
    assert sids(key_policy()) == [P.ROOT_SID, "LetBackupRoleDescribe", P.KEY_GUARDDUTY_SID]
    assert bucket_policy()["Statement"][0] == FOREIGN_BUCKET_STATEMENT
    assert set(sids(bucket_policy())) == {"LetAuditorsList", *P.BUCKET_SIDS}

    teardown = apply(plan_teardown(cfg.replace(teardown=True)))
    assert teardown.applied
    assert sids(key_policy()) == [P.ROOT_SID, "LetBackupRoleDescribe"]
    assert bucket_policy()["Statement"] == [FOREIGN_BUCKET_STATEMENT]
    # A key gdnb did not create is never scheduled for deletion.
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
    assert plan_teardown(cfg).is_noop


def test_adding_a_region_updates_both_policies_by_sid(clean_sandbox):
    one = settings(export_regions=[HOME], sample_findings="none")
    set_up(one)
    two = settings(export_regions=[HOME, "us-east-1"], sample_findings="none")
    key_plan = plan_key(two)
    assert [a.change for a in key_plan.actions if a.step == "detector"] == ["no-op", "create"]
    changes = {c.sid: c for c in key_plan.policies["key policy"]}
    assert changes[P.KEY_GUARDDUTY_SID].status == P.CHANGED
    assert "Condition.StringEquals.aws:SourceArn" in changes[P.KEY_GUARDDUTY_SID].changed
    with pytest.raises(SetupError, match="run 00_kms_key"):
        plan_export(two.replace(export_regions=[HOME, "eu-west-1"]))  # no detector there yet
    apply(key_plan)
    apply(plan_bucket(two))
    export = apply(plan_export(two))
    assert set(export.outputs["destination_ids"]) == {HOME, "us-east-1"}
    statement = next(s for s in key_policy()["Statement"] if s["Sid"] == P.KEY_GUARDDUTY_SID)
    assert len(P.source_arns(statement)) == 2


def test_a_prefix_gets_its_folder_object_and_the_export_writes_under_it(clean_sandbox):
    cfg = settings(export_regions=[HOME], prefix="guardduty/prod",
                   sample_findings=["Recon:EC2/PortProbeUnprotectedPort", "Trojan:EC2/DNSDataExfiltration"])
    out = set_up(cfg)
    s3 = boto3.client("s3", region_name=HOME)
    s3.head_object(Bucket="guardduty-alert", Key="guardduty/prod/")
    assert out["export"]["destination_arn"] == "arn:aws:s3:::guardduty-alert/guardduty/prod"
    objects = list_exported_objects(cfg)
    assert len(objects) and objects["key"].str.startswith(f"guardduty/prod/AWSLogs/{ACCOUNT}/GuardDuty/{HOME}/").all()
    again = plan_export(cfg)
    samples = [a for a in again.actions if a.step == "sample findings"]
    assert [a.change for a in samples] == ["no-op"] and "2 types" in samples[0].detail
    more = plan_export(cfg.replace(sample_findings=["Recon:EC2/PortProbeUnprotectedPort",
                                                    "Backdoor:EC2/C&CActivity.B!DNS"]))
    [sample] = [a for a in more.actions if a.step == "sample findings"]
    assert sample.change == "create" and "Backdoor:EC2/C&CActivity.B!DNS" in sample.detail
    assert "PortProbe" not in sample.detail


# -- teardown ----------------------------------------------------------------------------------------

def test_teardown_dry_run_changes_nothing_and_applied_removes_exactly_what_gdnb_made(clean_sandbox):
    cfg = settings()  # apply: true, as params/sandbox.yaml says
    out = set_up(cfg)
    key_arn = out["key"]["key_arn"]
    snapshot = (key_policy(), bucket_policy(), _destinations(), len(list_exported_objects(cfg)))

    with operations() as seen:  # apply: true does not carry a teardown out; only teardown: true does
        dry = apply(plan_teardown(cfg))
    assert not [op for op in seen if is_write(op)]
    assert (key_policy(), bucket_policy(), _destinations(), len(list_exported_objects(cfg))) == snapshot
    assert {a.change for a in dry.actions} == {"delete", "update", "keep"} and not dry.applied
    assert {a.status for a in dry.changes} == {"dry run (teardown: false)"}

    cfg = cfg.replace(teardown=True)
    apply(plan_teardown(cfg))
    assert _destinations() == {r: [] for r in REGIONS}
    assert sids(key_policy()) == [P.ROOT_SID]  # the readers' statement would stay; none was asked for
    with pytest.raises(botocore.exceptions.ClientError, match="NoSuchBucketPolicy"):
        bucket_policy()
    kms = boto3.client("kms", region_name=HOME)
    assert kms.describe_key(KeyId=key_arn)["KeyMetadata"]["KeyState"] == "Enabled"  # the findings stay
    assert len(list_exported_objects(cfg)) == snapshot[3]
    for region in REGIONS:  # detectors always stay
        assert boto3.client("guardduty", region_name=region).list_detectors()["DetectorIds"]

    with pytest.raises(ConfigError, match="confirm_bucket"):
        plan_teardown(cfg.replace(delete_findings=True, confirm_bucket="guardduty-alrt"))
    final = apply(plan_teardown(cfg.replace(delete_findings=True, confirm_bucket="guardduty-alert",
                                            key_pending_days=7)))
    assert [a.step for a in final.actions if a.change == "delete"] == ["findings", "bucket", "kms key", "kms alias"]
    assert "guardduty-alert" not in [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
    meta = kms.describe_key(KeyId=key_arn)["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion"
    assert not [a for a in kms.list_aliases(KeyId=key_arn)["Aliases"] if a["AliasName"] == "alias/guardduty-alert"]


def test_teardown_never_deletes_a_bucket_or_objects_that_are_not_gdnbs(clean_sandbox):
    """A bucket gdnb did not create (here a shared CloudTrail bucket) keeps everything but the export's objects."""
    s3 = boto3.client("s3", region_name=HOME)
    s3.create_bucket(Bucket="shared-logs", CreateBucketConfiguration={"LocationConstraint": HOME})
    s3.put_object(Bucket="shared-logs", Key="cloudtrail/AWSLogs/important.json.gz", Body=b"trail")
    cfg = settings(bucket="shared-logs", prefix="guardduty", export_regions=[HOME], sample_findings=TWO_TYPES,
                   teardown=True)
    set_up(cfg)
    exported = [k for k in all_keys("shared-logs") if k.startswith(f"guardduty/AWSLogs/{ACCOUNT}/GuardDuty/{HOME}/")]
    assert exported and "cloudtrail/AWSLogs/important.json.gz" in all_keys("shared-logs")

    plan = plan_teardown(cfg.replace(delete_findings=True, confirm_bucket="shared-logs"))
    rows = {a.step: a for a in plan.actions}
    assert steps(plan)["findings"] == ["delete"] and f"{len(exported)} object versions" in rows["findings"].detail
    assert rows["bucket"].change == "keep" and "not created by gdnb" in rows["bucket"].detail
    assert rows["prefix folder"].change == "keep"
    assert steps(plan)["bucket policy"] == ["delete"]  # only gdnb's statements were in it
    assert rows["kms key"].change == "keep" and "default encryption" in rows["kms key"].detail
    apply(plan)

    assert all_keys("shared-logs") == ["cloudtrail/AWSLogs/important.json.gz", "guardduty/"]
    assert bucket_exists("shared-logs")
    with pytest.raises(botocore.exceptions.ClientError, match="NoSuchBucketPolicy"):
        bucket_policy("shared-logs")
    assert key_state() == "Enabled" and P.KEY_GUARDDUTY_SID not in sids(key_policy())


def test_teardown_keeps_gdnbs_bucket_while_it_holds_something_else(clean_sandbox):
    cfg = settings(prefix="guardduty", export_regions=[HOME], sample_findings=TWO_TYPES, teardown=True,
                   delete_findings=True, confirm_bucket="guardduty-alert", key_pending_days=7)
    key_arn = set_up(cfg)["key"]["key_arn"]
    s3 = boto3.client("s3", region_name=HOME)
    s3.put_object(Bucket="guardduty-alert", Key="notes/readme.txt", Body=b"someone's notes")

    plan = apply(plan_teardown(cfg))
    rows = {a.step: a for a in plan.actions}
    assert rows["bucket"].change == "keep" and "1 object versions that are not the export's (notes/readme.txt)" \
        in rows["bucket"].detail
    assert [rows[s].change for s in ("findings", "prefix folder")] == ["delete", "delete"]
    assert all_keys() == ["notes/readme.txt"] and bucket_exists()
    assert key_state() == "Enabled"  # the bucket it encrypts stays

    s3.delete_object(Bucket="guardduty-alert", Key="notes/readme.txt")
    final = plan_teardown(cfg)
    assert [a.step for a in final.actions if a.change == "delete"] == ["bucket", "kms key", "kms alias"]
    s3.put_object(Bucket="guardduty-alert", Key="late/arrival.txt", Body=b"written after the plan")
    with pytest.raises(BucketNotEmptyError, match="plan and apply the teardown again"):
        apply(final)
    assert all_keys() == ["late/arrival.txt"] and key_state(key_arn) == "Enabled"  # stopped before the key

    s3.delete_object(Bucket="guardduty-alert", Key="late/arrival.txt")
    apply(plan_teardown(cfg))
    assert not bucket_exists() and key_state(key_arn) == "PendingDeletion"


def test_a_deletion_s3_refuses_is_an_error_and_nothing_is_reported_done(clean_sandbox):
    cfg = settings(export_regions=[HOME], sample_findings=TWO_TYPES, teardown=True, delete_findings=True,
                   confirm_bucket="guardduty-alert")
    set_up(cfg)
    deny = {"Sid": "KeepEveryObject", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
            "Resource": "arn:aws:s3:::guardduty-alert/*"}
    policy = bucket_policy()
    boto3.client("s3", region_name=HOME).put_bucket_policy(
        Bucket="guardduty-alert", Policy=json.dumps({**policy, "Statement": [*policy["Statement"], deny]}))
    before = all_keys()

    plan = plan_teardown(cfg)
    with pytest.raises(ObjectsNotDeletedError) as err:
        apply(plan)
    text = str(err.value)
    assert f"did not delete {len(before)} of {len(before)} object versions" in text and before[0] in text
    assert "AccessDenied" in text and "KeepEveryObject" in text
    assert "Fix: let this caller delete" in text and "s3:DeleteObject" in text
    notes = "".join(err.value.__notes__)
    assert "once the cause is fixed" in notes and "idempotent" not in notes
    assert [(a.step, a.status) for a in plan.changes] == [
        ("publishing destination", "done"), ("findings", "failed"), ("bucket", "planned"), ("kms key", "planned"),
        ("kms alias", "planned")]
    assert not plan.applied
    assert all_keys() == before and bucket_exists() and key_state() == "Enabled"


def _destinations() -> dict[str, list[str]]:
    out = {}
    for region in REGIONS:
        gd = boto3.client("guardduty", region_name=region)
        ids = gd.list_detectors()["DetectorIds"]
        out[region] = [d["DestinationId"] for i in ids for d in gd.list_publishing_destinations(DetectorId=i)
                       ["Destinations"]]
    return out


# -- errors ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("state", "words"), [
    ("Disabled", ["Disabled", "aws kms enable-key"]),
    ("PendingDeletion", ["PendingDeletion", "aws kms cancel-key-deletion"]),
])
def test_an_alias_to_an_unusable_key_is_a_clear_error(clean_sandbox, state, words):
    kms = boto3.client("kms", region_name=HOME)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/guardduty-alert", TargetKeyId=key_id)
    if state == "Disabled":
        kms.disable_key(KeyId=key_id)
    else:
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    mark = calls_mark()
    with pytest.raises(KeyUnusableError) as err:
        plan_key(settings(export_regions=[HOME]))
    text = str(err.value)
    assert "alias/guardduty-alert" in text and key_id in text and "GuardDuty cannot encrypt" in text
    assert all(w in text for w in words)
    assert not [c for c in aws_calls(mark) if c.write]


def test_a_bucket_in_another_region_than_the_key_is_a_clear_error(clean_sandbox):
    cfg = settings(home_region="us-east-1", export_regions=["us-east-1"])
    apply(plan_key(cfg))  # the key in us-east-1
    boto3.client("s3", region_name=HOME).create_bucket(
        Bucket="guardduty-alert", CreateBucketConfiguration={"LocationConstraint": HOME})
    with pytest.raises(RegionMismatchError) as err:
        plan_bucket(cfg)
    text = str(err.value)
    assert "ap-northeast-1" in text and "us-east-1" in text and "same region" in text
    assert "home_region: ap-northeast-1" in text


def test_a_bucket_owned_by_another_account_is_a_clear_error(clean_sandbox):
    other = boto3.client("s3", region_name=HOME)

    def as_other_account(request, **_):
        request.headers["x-moto-account-id"] = "111122223333"

    other.meta.events.register("before-send.s3.*", as_other_account)
    other.create_bucket(Bucket="guardduty-alert", CreateBucketConfiguration={"LocationConstraint": HOME})
    cfg = settings(export_regions=[HOME])
    apply(plan_key(cfg))
    mark = calls_mark()
    with pytest.raises(BucketOwnedElsewhereError) as err:
        plan_bucket(cfg)
    text = str(err.value)
    assert "'guardduty-alert'" in text and ACCOUNT in text and "global" in text
    assert f"bucket: guardduty-alert-{ACCOUNT}" in text
    assert not [c for c in aws_calls(mark) if c.write]


def test_a_deny_in_the_bucket_policy_names_the_action_and_resource(clean_sandbox):
    cfg = settings(export_regions=[HOME], prefix="gd")
    apply(plan_key(cfg))
    s3 = boto3.client("s3", region_name=HOME)
    s3.create_bucket(Bucket="guardduty-alert", CreateBucketConfiguration={"LocationConstraint": HOME})
    deny = {"Sid": "NoWritesUnderGd", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::guardduty-alert/gd/*"}
    s3.put_bucket_policy(Bucket="guardduty-alert", Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]}))
    plan = plan_bucket(cfg)
    with pytest.raises(AccessDeniedError) as err:
        apply(plan)
    text = str(err.value)
    assert "s3:PutObject" in text and "s3://guardduty-alert/gd/" in text and "grant the caller" in text
    assert "prefix folder" in "".join(err.value.__notes__)


def test_credentials_of_another_account_stop_before_any_change(clean_sandbox):
    mark = calls_mark()
    with pytest.raises(SetupError) as err:
        plan_key(settings(account_id="111122223333"))
    assert "111122223333" in str(err.value) and ACCOUNT in str(err.value)
    assert [c.operation for c in aws_calls(mark)] == ["GetCallerIdentity"]


def test_bad_region_rules_fail_before_any_call(clean_sandbox):
    mark = calls_mark()
    for planner in (plan_key, plan_bucket, plan_export):
        with pytest.raises(ConfigError, match="opt-in"):
            planner(settings(home_region="me-south-1", export_regions=["me-south-1", "us-east-1"]))
    with pytest.raises(ConfigError, match="confirm_bucket"):
        plan_teardown(settings(delete_findings=True))
    assert aws_calls(mark) == []


def test_export_before_the_bucket_is_a_clear_plan_then_a_clear_error(clean_sandbox):
    cfg = settings(export_regions=[HOME])
    apply(plan_key(cfg))
    dry = plan_export(cfg.replace(apply=False))
    [dest] = [a for a in dry.actions if a.step == "publishing destination"]
    assert dest.change == "create" and "does not exist yet" in dest.detail
    with pytest.raises(SetupError, match="bucket guardduty-alert does not exist yet"):
        plan_export(cfg)


def test_a_failing_destination_is_planned_as_an_update_not_a_no_op(clean_sandbox):
    """When a policy change stops the export, the next run says so and sends the destination again."""
    import boto3

    import gdnb

    cfg = gdnb.load_settings(overrides={"apply": True, "export_regions": ["ap-northeast-1"],
                                        "sample_findings": "none"})
    for plan_step in (gdnb.plan_key, gdnb.plan_bucket, gdnb.plan_export):
        gdnb.apply(plan_step(cfg))
    s3 = boto3.client("s3", region_name="ap-northeast-1")
    s3.delete_bucket_policy(Bucket=cfg.bucket)
    gd = boto3.client("guardduty", region_name="ap-northeast-1")
    detector = gd.list_detectors()["DetectorIds"][0]
    gd.create_sample_findings(DetectorId=detector, FindingTypes=["Recon:EC2/Portscan"])  # the export fails now
    dest = gd.list_publishing_destinations(DetectorId=detector)["Destinations"][0]
    assert dest["Status"] == "UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY"
    gdnb.apply(gdnb.plan_bucket(cfg))  # the policy is back
    rows = gdnb.plan_export(cfg).table()
    row = rows[rows["step"] == "publishing destination"].iloc[0]
    assert row["change"] == "update" and "failing" in row["detail"]
    gdnb.apply(gdnb.plan_export(cfg))
    dest = gd.list_publishing_destinations(DetectorId=detector)["Destinations"][0]
    assert dest["Status"] == "PUBLISHING"
