"""The key and bucket policy statements, merging by Sid and the statement-level diff (pure: no AWS)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gdnb.config import load_settings
from gdnb.errors import ConfigError, SetupError, ThrottledError
from gdnb.setup import policies as P
from gdnb.setup.cloudformation import cloudformation_yaml, render_cloudformation
from gdnb.setup.common import preflight
from gdnb.setup.plan import CREATE, NOOP, Plan, apply

ACCOUNT = "123456789012"
KEY_ARN = f"arn:aws:kms:ap-northeast-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
DET_TOKYO = f"arn:aws:guardduty:ap-northeast-1:{ACCOUNT}:detector/aaa"
DET_VIRGINIA = f"arn:aws:guardduty:us-east-1:{ACCOUNT}:detector/bbb"

FOREIGN = {"Sid": "LetAuditorsList", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
           "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::guardduty-alert"}
NO_SID = {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket", "Resource": "arn:aws:s3:::guardduty-alert"}


def _bucket(prefix: str = "", detectors=(DET_TOKYO, DET_VIRGINIA), key_arn: str = KEY_ARN):
    return P.bucket_statements(bucket="guardduty-alert", prefix=prefix, key_arn=key_arn, account=ACCOUNT,
                               detector_arns=list(detectors), regions=["ap-northeast-1", "us-east-1"])


def _by_sid(statements):
    return {s["Sid"]: s for s in statements}


def test_key_statement_is_the_documented_one_with_exact_detector_arns():
    [st] = P.key_statements(account=ACCOUNT, detector_arns=[DET_VIRGINIA, DET_TOKYO],
                            regions=["ap-northeast-1", "us-east-1"])
    assert st == {
        "Sid": P.KEY_GUARDDUTY_SID, "Effect": "Allow", "Principal": {"Service": "guardduty.amazonaws.com"},
        "Action": "kms:GenerateDataKey", "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": [DET_TOKYO, DET_VIRGINIA]}},
    }
    [one] = P.key_statements(account=ACCOUNT, detector_arns=[DET_TOKYO], regions=["ap-northeast-1"])
    assert one["Condition"]["StringEquals"]["aws:SourceArn"] == DET_TOKYO  # one detector: a plain string


def test_opt_in_regions_add_their_regional_service_principal():
    [st] = P.key_statements(account=ACCOUNT, detector_arns=[DET_TOKYO], regions=["ap-northeast-1", "me-south-1"])
    assert st["Principal"]["Service"] == ["guardduty.amazonaws.com", "guardduty.me-south-1.amazonaws.com"]


def test_readers_get_decrypt_through_s3_only():
    statements = P.key_statements(account=ACCOUNT, detector_arns=[DET_TOKYO], regions=["ap-northeast-1"],
                                  reader_principals=[f"arn:aws:iam::{ACCOUNT}:role/Analyst"],
                                  home_region="ap-northeast-1")
    readers = _by_sid(statements)[P.KEY_READERS_SID]
    assert readers["Action"] == "kms:Decrypt"
    assert readers["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:role/Analyst"}
    assert readers["Condition"] == {"StringEquals": {"kms:ViaService": "s3.ap-northeast-1.amazonaws.com"}}


def test_new_key_policy_keeps_the_account_root_statement_first():
    policy = P.new_key_policy(ACCOUNT, P.key_statements(account=ACCOUNT, detector_arns=[DET_TOKYO],
                                                        regions=["ap-northeast-1"]))
    root = policy["Statement"][0]
    assert root["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"} and root["Action"] == "kms:*"
    assert [s["Sid"] for s in policy["Statement"]] == [P.ROOT_SID, P.KEY_GUARDDUTY_SID]


def test_bucket_statements_follow_the_docs():
    st = _by_sid(_bucket())
    assert list(st) == list(P.BUCKET_SIDS)
    cond = {"StringEquals": {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": [DET_TOKYO, DET_VIRGINIA]}}
    assert st[P.BUCKET_LOCATION_SID]["Resource"] == "arn:aws:s3:::guardduty-alert"
    assert st[P.BUCKET_LOCATION_SID]["Condition"] == cond and st[P.BUCKET_PUT_SID]["Condition"] == cond
    assert st[P.BUCKET_PUT_SID]["Resource"] == "arn:aws:s3:::guardduty-alert/*"
    assert st[P.BUCKET_DENY_UNENCRYPTED_SID]["Condition"] == {
        "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}
    # The exact key ARN: a wildcard under StringNotEquals would block every export.
    assert st[P.BUCKET_DENY_WRONG_KEY_SID]["Condition"] == {
        "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": KEY_ARN}}
    http = st[P.BUCKET_DENY_HTTP_SID]
    assert http["Principal"] == "*" and http["Action"] == "s3:*" and http["Effect"] == "Deny"
    assert http["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_a_prefix_narrows_the_object_statements_only():
    st = _by_sid(_bucket(prefix="guardduty"))
    assert st[P.BUCKET_LOCATION_SID]["Resource"] == "arn:aws:s3:::guardduty-alert"
    for sid in (P.BUCKET_PUT_SID, P.BUCKET_DENY_UNENCRYPTED_SID, P.BUCKET_DENY_WRONG_KEY_SID, P.BUCKET_DENY_HTTP_SID):
        assert st[sid]["Resource"] == "arn:aws:s3:::guardduty-alert/guardduty/*"
    assert P.destination_arn("aws", "guardduty-alert", "guardduty") == "arn:aws:s3:::guardduty-alert/guardduty"
    assert P.destination_arn("aws", "guardduty-alert") == "arn:aws:s3:::guardduty-alert"


def test_merge_keeps_foreign_statements_in_place_and_replaces_ours_by_sid():
    old_ours = copy.deepcopy(_by_sid(_bucket(detectors=[DET_TOKYO]))[P.BUCKET_PUT_SID])
    current = {"Version": "2012-10-17", "Id": "theirs", "Statement": [FOREIGN, old_ours, NO_SID]}
    merged = P.merge_statements(current, _bucket(), owned=P.BUCKET_SIDS)
    sids = [s.get("Sid") for s in merged["Statement"]]
    assert sids[:3] == ["LetAuditorsList", P.BUCKET_PUT_SID, None]  # positions kept, ours replaced where it stood
    assert set(sids[3:]) == set(P.BUCKET_SIDS) - {P.BUCKET_PUT_SID}
    assert merged["Id"] == "theirs" and merged["Statement"][0] == FOREIGN and merged["Statement"][2] == NO_SID
    assert P.merge_statements(merged, _bucket(), owned=P.BUCKET_SIDS) == merged  # idempotent
    # The input is not changed.
    assert current["Statement"][1] == old_ours


def test_merge_drops_an_owned_statement_no_longer_wanted():
    with_readers = P.key_statements(account=ACCOUNT, detector_arns=[DET_TOKYO], regions=["ap-northeast-1"],
                                    reader_principals=[f"arn:aws:iam::{ACCOUNT}:role/A"], home_region="ap-northeast-1")
    policy = P.new_key_policy(ACCOUNT, with_readers)
    without = P.key_statements(account=ACCOUNT, detector_arns=[DET_TOKYO], regions=["ap-northeast-1"])
    merged = P.merge_statements(policy, without, owned=P.KEY_SIDS)
    assert [s["Sid"] for s in merged["Statement"]] == [P.ROOT_SID, P.KEY_GUARDDUTY_SID]
    statuses = {c.sid: c.status for c in P.diff_policies(policy, merged, owned=P.KEY_SIDS)}
    assert statuses == {P.ROOT_SID: P.FOREIGN_KEPT, P.KEY_GUARDDUTY_SID: P.UNCHANGED, P.KEY_READERS_SID: P.REMOVED}


def test_diff_reports_added_changed_unchanged_and_foreign_kept():
    before = {"Version": "2012-10-17", "Statement": [FOREIGN, NO_SID, *_bucket(detectors=[DET_TOKYO])[:2]]}
    after = P.merge_statements(before, _bucket(), owned=P.BUCKET_SIDS)
    changes = {c.sid: c for c in P.diff_policies(before, after, owned=P.BUCKET_SIDS)}
    assert changes["LetAuditorsList"].status == P.FOREIGN_KEPT
    no_sid = [c for sid, c in changes.items() if sid.startswith("(no Sid)")]
    assert [c.status for c in no_sid] == [P.FOREIGN_KEPT]
    assert changes[P.BUCKET_PUT_SID].status == P.CHANGED
    assert changes[P.BUCKET_PUT_SID].changed == ("Condition.StringEquals.aws:SourceArn",)
    assert changes[P.BUCKET_DENY_HTTP_SID].status == P.ADDED
    assert P.policy_changes(list(changes.values()))
    assert not P.policy_changes(P.diff_policies(after, after, owned=P.BUCKET_SIDS))


def test_diff_ignores_how_aws_rewrites_a_stored_policy():
    ours = _bucket()
    stored = json.loads(json.dumps(ours))
    stored.reverse()
    for st in stored:
        if st["Sid"] == P.BUCKET_PUT_SID:
            st["Action"] = ["s3:putobject"]  # case, one-item list
            st["Condition"]["StringEquals"]["aws:SourceArn"].reverse()  # order
        if st["Sid"] == P.BUCKET_DENY_HTTP_SID:
            st["Condition"]["Bool"]["aws:SecureTransport"] = False  # boolean instead of "false"
    foreign_as_given = {**FOREIGN, "Principal": {"AWS": "111122223333"}}
    foreign_as_stored = {**FOREIGN, "Principal": {"AWS": ["arn:aws:iam::111122223333:root"]}}
    changes = P.diff_policies({"Statement": [*ours, foreign_as_given]}, {"Statement": [*stored, foreign_as_stored]})
    assert not P.policy_changes(changes), [c for c in changes if c.status != P.UNCHANGED]


def test_remove_statements_keeps_everyone_elses_and_says_when_nothing_is_left():
    policy = {"Version": "2012-10-17", "Statement": [FOREIGN, *_bucket()]}
    assert P.remove_statements(policy, P.BUCKET_SIDS) == {"Version": "2012-10-17", "Statement": [FOREIGN]}
    assert P.remove_statements({"Statement": _bucket()}, P.BUCKET_SIDS) is None


def test_parse_policy_accepts_a_single_statement_object():
    doc = P.parse_policy(json.dumps({"Version": "2012-10-17", "Statement": FOREIGN}))
    assert doc["Statement"] == [FOREIGN]
    assert P.parse_policy(None) is None and P.parse_policy("") is None


def test_source_arns_reads_back_what_a_statement_allows():
    [st] = P.key_statements(account=ACCOUNT, detector_arns=[DET_TOKYO, DET_VIRGINIA], regions=["us-east-1"])
    assert P.source_arns(st) == {DET_TOKYO, DET_VIRGINIA}
    assert P.source_arns(None) == set()


@pytest.mark.parametrize(("regions", "home", "ok"), [
    (["ap-northeast-1", "us-east-1", "eu-west-1"], "ap-northeast-1", True),
    (["me-south-1"], "ap-northeast-1", True),       # opt-in region to a commercial region
    (["me-south-1"], "me-south-1", True),           # opt-in region to itself
    (["us-east-1"], "me-south-1", False),           # commercial region to an opt-in region
    (["af-south-1"], "me-south-1", False),          # opt-in region to another opt-in region
])
def test_preflight_applies_the_opt_in_region_rules_before_any_call(regions, home, ok):
    settings = load_settings(overrides={"home_region": home, "export_regions": regions})
    if ok:
        preflight(settings)
        return
    with pytest.raises(ConfigError) as err:
        preflight(settings)
    text = str(err.value)
    assert "export_regions" in text and home in text and "Fix:" in text


def test_a_dry_run_plan_changes_nothing_and_apply_runs_the_actions_in_order():
    ran: list[str] = []
    for apply_it in (False, True):
        plan = Plan("t", load_settings(overrides={"apply": apply_it}))
        plan.add("a", "x", CREATE, run=lambda ctx: ran.append("a"))
        plan.add("b", "y", NOOP)
        plan.add("c", "z", CREATE, run=lambda ctx: ran.append(ctx.setdefault("seen", "c")))
        apply(plan)
        assert list(plan.table()["status"]) == (["done", "no change", "done"] if apply_it
                                                else ["dry run", "no change", "dry run"])
    assert ran == ["a", "c"]


def test_a_failed_action_says_what_was_done_before():
    plan = Plan("t", load_settings(overrides={"apply": True}))
    plan.add("first", "x", CREATE, run=lambda ctx: None)
    plan.add("second", "y", CREATE, run=lambda ctx: 1 / 0)
    with pytest.raises(ZeroDivisionError) as err:
        apply(plan)
    assert "create first x" in "".join(err.value.__notes__)
    assert "again" not in "".join(err.value.__notes__)  # nothing says a rerun would help
    assert [a.status for a in plan.actions] == ["done", "failed"]


def _fail_with(exc: Exception) -> str:
    def fail(ctx):
        raise exc

    plan = Plan("t", load_settings(overrides={"apply": True}))
    plan.add("step", "x", CREATE, run=fail)
    with pytest.raises(type(exc)):
        apply(plan)
    return "".join(exc.__notes__)


def test_a_rerun_is_advised_only_when_it_can_succeed():
    # A refusal fails the same way until its cause is fixed: never "run it again to finish" alone.
    refused = _fail_with(SetupError("S3 did not delete 1 of 1 object versions", "remove the Deny"))
    assert "once the cause is fixed" in refused and "idempotent" not in refused
    throttled = _fail_with(ThrottledError("AWS throttled", "wait a minute"))
    assert "Run the step again to finish" in throttled


@pytest.mark.parametrize(("settings", "carried_out"), [
    ({"apply": True, "teardown": False}, False),
    ({"apply": False, "teardown": True}, True),
    ({"apply": True, "teardown": True}, True),
])
def test_a_teardown_plan_follows_teardown_not_apply(settings, carried_out):
    ran: list[str] = []
    plan = Plan("teardown", load_settings(overrides=settings), switch="teardown")
    plan.add("bucket policy", "b", "delete", run=lambda ctx: ran.append("deleted"))
    status_before = plan.table()["status"].tolist()
    apply(plan)
    assert (ran == ["deleted"]) is carried_out and plan.applied is carried_out
    expected = "done" if carried_out else "dry run (teardown: false)"
    assert plan.table()["status"].tolist() == [expected]
    assert status_before == ["planned" if carried_out else "dry run (teardown: false)"]
    assert ("teardown: false" in str(plan)) is not carried_out


def test_cloudformation_template_passes_cfn_lint_and_uses_the_same_statements(tmp_path: Path):
    settings = load_settings(overrides={"export_regions": ["ap-northeast-1", "us-east-1", "me-south-1"],
                                        "prefix": "guardduty",
                                        "reader_principals": [f"arn:aws:iam::{ACCOUNT}:role/Analyst"]})
    arns = [DET_TOKYO, DET_VIRGINIA, f"arn:aws:guardduty:me-south-1:{ACCOUNT}:detector/ccc"]
    template = render_cloudformation(settings, account=ACCOUNT, detector_arns=arns)
    resources = template["Resources"]
    key_policy = resources["GuardDutyExportKey"]["Properties"]["KeyPolicy"]
    assert key_policy == P.new_key_policy(ACCOUNT, P.key_statements(
        account=ACCOUNT, detector_arns=arns, regions=settings.exporting_regions,
        reader_principals=settings.reader_principals, home_region="ap-northeast-1"))
    bucket_policy = resources["FindingsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert bucket_policy == _bucket_for_cfn(settings, arns)
    path = tmp_path / "guardduty-export.yaml"
    path.write_text(cloudformation_yaml(template))
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    out = subprocess.run([str(cfn_lint), str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def _bucket_for_cfn(settings, arns):
    return P.bucket_statements(bucket=settings.bucket, prefix=settings.prefix,
                               key_arn={"Fn::GetAtt": ["GuardDutyExportKey", "Arn"]}, account=ACCOUNT,
                               detector_arns=arns, regions=settings.exporting_regions)
