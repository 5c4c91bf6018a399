"""Seeding a history through the publishing destinations (``POST /_gdnb/seed``) and its manifest."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import gd_setup as gd
import pytest

from gdnb.errors import SandboxError
from gdnb.sandbox import control
from gdnb.sandbox.findings.catalog import severity_band
from gdnb.sandbox.seed import History, SeedRequest, parse_request

MEMBER = "111122223333"
END = "2026-11-30"
REQUEST = {"days": 8, "findings_per_day": 40, "seed": 3, "regions": ["us-east-1", "eu-west-1"],
           "accounts": [MEMBER], "end": END}
KEY_RE = re.compile(r"^(?:gd/)?AWSLogs/(\d{12})/GuardDuty/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/"
                    r"[0-9a-f-]{36}\.jsonl\.gz$")


def seed(sandbox: control.SandboxState, **changes: Any) -> dict[str, Any]:
    return control.control_call(sandbox, "/_gdnb/seed", {**REQUEST, **changes})


@pytest.fixture()
def two_regions(clean_sandbox: control.SandboxState) -> list[gd.Export]:
    return [gd.setup_export("us-east-1", "gd-seed-east", "gd"), gd.setup_export("eu-west-1", "gd-seed-west")]


def read_export(exports: list[gd.Export]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Every exported object, decoded: {(bucket, key): rows}."""
    out = {}
    for e in exports:
        for key in gd.list_keys(e.bucket, region=e.region):
            out[(e.bucket, key)] = gd.read_findings(e.bucket, key, region=e.region)
    return out


@pytest.fixture()
def seeded(two_regions: list[gd.Export], clean_sandbox: control.SandboxState) -> dict[str, Any]:
    reply = seed(clean_sandbox)
    return {"reply": reply, "manifest": json.loads(Path(reply["manifest_path"]).read_text()),
            "objects": read_export(two_regions), "exports": two_regions}


def test_export_layout_encryption_and_dates(seeded: dict[str, Any]) -> None:
    reply, manifest, objects = seeded["reply"], seeded["manifest"], seeded["objects"]
    assert {(o["bucket"], o["key"]) for o in reply["objects"]} == set(objects)
    assert reply["objects"] == manifest["objects"] and reply["objects_written"] == len(objects)
    assert reply["manifest"] == manifest
    per_day_region: Counter[tuple[str, str]] = Counter()
    for (bucket, key), rows in objects.items():
        match = KEY_RE.match(key)
        assert match, key
        account, region, y, m, d = match.groups()
        assert account == "123456789012"  # the exporting account, also for member findings
        assert region == ("us-east-1" if bucket == "gd-seed-east" else "eu-west-1")
        per_day_region[(f"{y}-{m}-{d}", region)] += 1
        assert rows and all(r["updatedAt"][:10] == f"{y}-{m}-{d}" for r in rows)
        assert all(r["region"] == region for r in rows)
    days = {(dt.date(2026, 11, 30) - dt.timedelta(days=n)).isoformat() for n in range(8)}
    assert {d for d, _ in per_day_region} == days
    assert all(n >= 3 for n in per_day_region.values())  # GuardDuty writes several objects a day
    bucket, key = next(iter(objects))
    head = gd.client("s3", "us-east-1").head_object(Bucket=bucket, Key=key)
    export = next(e for e in seeded["exports"] if e.bucket == bucket)
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == export.key_arn


def test_manifest_counts_match_the_exported_rows(seeded: dict[str, Any]) -> None:
    manifest, objects = seeded["manifest"], seeded["objects"]
    rows_by_cell: Counter[tuple[str, ...]] = Counter()
    last: dict[str, tuple[tuple[str, ...], str]] = {}
    for (_bucket, key), rows in objects.items():
        _account, region, y, m, d = KEY_RE.match(key).groups()
        day = f"{y}-{m}-{d}"
        for r in rows:
            cell = (day, region, r["accountId"], r["type"], severity_band(r["severity"]))
            rows_by_cell[cell] += 1
            if r["id"] not in last or r["updatedAt"] > last[r["id"]][1]:
                last[r["id"]] = (cell, r["updatedAt"])
    latest_by_cell = Counter(cell for cell, _ in last.values())
    columns = manifest["cells_columns"]
    assert columns == ["day", "region", "account_id", "type", "severity_band", "rows", "latest"]
    assert {tuple(c[:5]): c[5] for c in manifest["cells"]} == dict(rows_by_cell)
    assert {tuple(c[:5]): c[6] for c in manifest["cells"] if c[6]} == dict(latest_by_cell)
    counts = manifest["counts"]
    assert counts["all_rows"]["total"] == sum(rows_by_cell.values()) == seeded["reply"]["rows"]
    assert counts["latest"]["total"] == len(last) == seeded["reply"]["findings"]
    for kind in ("all_rows", "latest"):
        c = counts[kind]
        for by in ("by_day", "by_region", "by_account", "by_type", "by_severity_band"):
            assert sum(c[by].values()) == c["total"], (kind, by)
    assert set(counts["all_rows"]["by_severity_band"]) == {"Low", "Medium", "High", "Critical"}
    assert set(manifest["accounts"]) == {"123456789012", MEMBER}
    # 40 new findings a day and region, plus updates and the planted incidents
    assert all(n >= 80 for n in counts["all_rows"]["by_day"].values())
    assert counts["latest"]["total"] >= 8 * 2 * 40


def test_updates_are_exported_again_with_a_higher_count(seeded: dict[str, Any]) -> None:
    versions: dict[str, list[dict[str, Any]]] = {}
    for rows in seeded["objects"].values():
        for r in rows:
            versions.setdefault(r["id"], []).append(r)
    updated = {i: sorted(v, key=lambda r: r["updatedAt"]) for i, v in versions.items() if len(v) > 1}
    assert len(updated) > 20
    for rows in updated.values():
        counts = [r["service"]["count"] for r in rows]
        assert counts == sorted(counts) and counts[0] < counts[-1]
        assert len({r["createdAt"] for r in rows}) == 1 and len({r["type"] for r in rows}) == 1
        assert len({r["updatedAt"][:10] for r in rows}) == len(rows)  # each update on a later day


def test_member_findings_carry_the_member_account(seeded: dict[str, Any]) -> None:
    members = [r for rows in seeded["objects"].values() for r in rows if r["accountId"] == MEMBER]
    assert members
    assert all(f":{MEMBER}:detector/" in r["arn"] for r in members)


def test_planted_incidents_are_in_the_export_as_the_manifest_says(seeded: dict[str, Any]) -> None:
    incidents = {i["kind"]: i for i in seeded["manifest"]["incidents"]}
    assert set(incidents) == {"dns_exfiltration", "instance_credential_exfiltration", "s3_exfiltration"}
    by_id: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for (_bucket, key), rows in seeded["objects"].items():
        for r in rows:
            by_id.setdefault(r["id"], []).append((key, r))

    dns = incidents["dns_exfiltration"]
    rows = sorted((r for _, r in by_id[dns["finding_id"]]), key=lambda r: r["updatedAt"])
    assert len(rows) == dns["exports"] == len(dns["days"]) == 5  # a multi-day incident
    assert [r["updatedAt"][:10] for r in rows] == dns["days"]
    assert [r["service"]["count"] for r in rows] == dns["counts"]
    assert {r["type"] for r in rows} == {"Trojan:EC2/DNSDataExfiltration"}
    assert {r["resource"]["instanceDetails"]["instanceId"] for r in rows} == {dns["instance_id"]}
    assert {r["service"]["action"]["dnsRequestAction"]["domain"] for r in rows} == {dns["domain"]}
    assert {r["region"] for r in rows} == {dns["region"]}
    # the planted domain appears nowhere else
    others = [r for rs in seeded["objects"].values() for r in rs if r["id"] != dns["finding_id"]
              and r.get("service", {}).get("action", {}).get("dnsRequestAction", {}).get("domain") == dns["domain"]]
    assert others == []

    cred = incidents["instance_credential_exfiltration"]
    rows = [r for _, r in by_id[cred["finding_id"]]]
    assert len(rows) == cred["exports"]
    for r in rows:
        assert r["type"] == "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"
        assert r["resource"]["accessKeyDetails"]["accessKeyId"] == cred["access_key_id"]
        assert r["resource"]["accessKeyDetails"]["principalId"] == cred["principal_id"]
        call = r["service"]["action"]["awsApiCallAction"]
        assert call["api"] == cred["api"] and call["remoteIpDetails"]["ipAddressV4"] == cred["remote_ip"]
        assert call["remoteIpDetails"]["country"]["countryName"] == cred["country"]
        assert call["remoteIpDetails"]["organization"]["asnOrg"] == cred["asn_org"]

    s3x = incidents["s3_exfiltration"]
    (_, row), = by_id[s3x["finding_id"]]
    assert row["type"] == "Exfiltration:S3/MaliciousIPCaller"
    assert row["resource"]["s3BucketDetails"][0]["name"] == s3x["bucket"]
    call = row["service"]["action"]["awsApiCallAction"]
    assert (call["api"], call["remoteIpDetails"]["ipAddressV4"]) == (s3x["api"], s3x["remote_ip"])
    assert call["affectedResources"] == {"AWS::S3::Bucket": s3x["bucket"]}


def test_same_seed_same_objects_other_seed_other_objects(two_regions: list[gd.Export],
                                                         clean_sandbox: control.SandboxState) -> None:
    first = seed(clean_sandbox, days=3, findings_per_day=25)
    before = read_export(two_regions)
    again = seed(clean_sandbox, days=3, findings_per_day=25)
    assert [o["key"] for o in again["objects"]] == [o["key"] for o in first["objects"]]
    assert read_export(two_regions) == before  # same keys, same decoded rows
    other = seed(clean_sandbox, days=3, findings_per_day=25, seed=4)
    assert {o["key"] for o in other["objects"]}.isdisjoint(o["key"] for o in first["objects"])
    assert Path(other["manifest_path"]) != Path(first["manifest_path"])


def test_history_is_deterministic_without_the_sandbox() -> None:
    request = SeedRequest(days=4, findings_per_day=30, seed=9, regions=None, accounts=(MEMBER,),
                          end=dt.date(2026, 11, 30))

    def run() -> list[Any]:
        history = History(request, "123456789012", ["us-east-1", "eu-west-1"],
                          {"us-east-1": "a" * 32, "eu-west-1": "b" * 32})
        return [(b.region, b.day, b.slot, b.findings) for b in history.batches()]

    assert run() == run()


def test_zero_findings_per_day_leaves_only_the_planted_incidents(two_regions: list[gd.Export],
                                                                 clean_sandbox: control.SandboxState) -> None:
    reply = seed(clean_sandbox, findings_per_day=0)
    rows = [r for rs in read_export(two_regions).values() for r in rs]
    planted = {i["finding_id"] for i in reply["incidents"]}
    assert {r["id"] for r in rows} == planted
    assert reply["rows"] == len(rows) == 5 + 2 + 1


def test_without_regions_every_region_with_a_destination_is_seeded(two_regions: list[gd.Export],
                                                                   clean_sandbox: control.SandboxState) -> None:
    gd.create_detector("ap-southeast-2")  # a detector without destination is left out
    reply = seed(clean_sandbox, regions=None, days=2, findings_per_day=5)
    assert reply["regions"] == ["eu-west-1", "us-east-1"]


def test_region_without_detector_is_refused_with_the_fix(two_regions: list[gd.Export],
                                                         clean_sandbox: control.SandboxState) -> None:
    with pytest.raises(SandboxError) as exc:
        seed(clean_sandbox, regions=["us-east-1", "ap-southeast-2"])
    message = str(exc.value)
    assert "ap-southeast-2" in message and "no GuardDuty detector" in message and "create-detector" in message
    assert gd.list_keys("gd-seed-east") == []  # nothing was written


def test_region_without_destination_is_refused_with_the_fix(two_regions: list[gd.Export],
                                                            clean_sandbox: control.SandboxState) -> None:
    gd.create_detector("ap-southeast-2")
    with pytest.raises(SandboxError) as exc:
        seed(clean_sandbox, regions=["ap-southeast-2"])
    message = str(exc.value)
    assert "ap-southeast-2" in message and "no publishing destination" in message
    assert "create-publishing-destination" in message


def test_destination_that_lost_its_bucket_policy_is_refused(two_regions: list[gd.Export],
                                                           clean_sandbox: control.SandboxState) -> None:
    gd.client("s3", "eu-west-1").delete_bucket_policy(Bucket="gd-seed-west")
    with pytest.raises(SandboxError) as exc:
        seed(clean_sandbox)
    assert "eu-west-1" in str(exc.value) and "bucket policy" in str(exc.value)


@pytest.mark.parametrize(("body", "words"), [
    ({"days": 0}, "days must be between"),
    ({"findings_per_day": "many"}, "findings_per_day must be an integer"),
    ({"regions": ["us-east-1", "mars-1"]}, "not a region name"),
    ({"accounts": ["12345"]}, "12-digit"),
    ({"end": "30/11/2026"}, "YYYY-MM-DD"),
])
def test_bad_arguments_are_refused(body: dict[str, Any], words: str) -> None:
    from gdnb.sandbox.seed import SeedError

    with pytest.raises(SeedError, match=words):
        parse_request(body)


def test_end_defaults_to_yesterday_utc() -> None:
    assert parse_request({}, today=dt.date(2026, 3, 1)).end == dt.date(2026, 2, 28)
