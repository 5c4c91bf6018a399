"""The findings generator: every type of finding_types.tsv, realistic shapes, deterministic output."""

from __future__ import annotations

import random
import re
from typing import Any

import botocore.session
import orjson
import pytest

from gdnb.sandbox.findings import catalog
from gdnb.sandbox.findings.builder import FindingFactory, Hints, Timing, finding_id, pick_severity
from gdnb.sandbox.findings.world import build_world

ACCOUNT = "123456789012"
REGION = "eu-west-1"
DETECTOR = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
TIMING = Timing(created_ms=1_796_119_200_123, updated_ms=1_796_205_600_456, first_seen_ms=1_796_118_000_000,
                last_seen_ms=1_796_205_000_000)


def build(type_name: str, seed: int = 1, **kwargs: Any) -> dict[str, Any]:
    factory = FindingFactory(7, ACCOUNT, REGION, DETECTOR)
    rng = random.Random(seed)
    return factory.build(catalog.types_by_name()[type_name], rng, finding_id(rng), TIMING, **kwargs)


@pytest.fixture(scope="module")
def every_type() -> dict[str, list[dict[str, Any]]]:
    """Five findings of each of the 221 types."""
    return {t.name: [build(t.name, seed) for seed in range(5)] for t in catalog.finding_types()}


def test_catalog_holds_all_221_types_active_and_retired() -> None:
    types = catalog.finding_types()
    assert len(types) == 221
    assert len({t.name for t in types}) == 221
    assert sum(t.retired for t in types) == 17
    assert catalog.types_by_name()["Trojan:EC2/DNSDataExfiltration"].family == catalog.EC2_DNS
    assert catalog.types_by_name()["Exfiltration:S3/MaliciousIPCaller"].family == catalog.S3_API
    assert catalog.types_by_name()["AttackSequence:IAM/CompromisedCredentials"].bands == ("Critical",)


@pytest.mark.parametrize(("severity", "band"), [(1.0, "Low"), (3.9, "Low"), (4, "Medium"), (6.9, "Medium"),
                                                (7, "High"), (8.9, "High"), (9, "Critical"), (10, "Critical")])
def test_severity_bands_use_the_documented_boundaries(severity: float, band: str) -> None:
    assert catalog.severity_band(severity) == band


# -- the shape of every finding ----------------------------------------------------------------------------
def _unknown_members(value: Any, shape: Any, path: str, problems: list[str]) -> None:
    """Keys or value types that botocore's Finding model does not know (boto3 would drop or choke on them)."""
    if value is None:
        return
    kind = shape.type_name
    if kind == "structure":
        wire = {m.serialization.get("name", n): m for n, m in shape.members.items()}
        for key, item in value.items():
            if key not in wire:
                problems.append(f"{path}.{key}")
            elif not (path.endswith(".service") and key == "additionalInfo"):  # export form: a bare object
                _unknown_members(item, wire[key], f"{path}.{key}", problems)
    elif kind == "list":
        for item in value:
            _unknown_members(item, shape.member, f"{path}[]", problems)
    elif kind == "map":
        for item in value.values():
            _unknown_members(item, shape.value, f"{path}{{}}", problems)
    else:
        python = {"string": str, "boolean": bool, "integer": int, "long": int, "double": (int, float),
                  "timestamp": (int, float)}[kind]
        if not isinstance(value, python) or (kind in ("integer", "long", "double") and isinstance(value, bool)):
            problems.append(f"{path}: {type(value).__name__} is not {kind}")


def test_every_key_and_value_type_is_in_botocores_finding_model(every_type: dict[str, list[dict]]) -> None:
    shape = botocore.session.get_session().get_service_model("guardduty").shape_for("Finding")
    problems: list[str] = []
    for findings in every_type.values():
        for f in findings:
            _unknown_members(f, shape, "finding", problems)
    assert sorted(set(problems)) == []


def test_common_fields_of_every_finding(every_type: dict[str, list[dict]]) -> None:
    for type_name, findings in every_type.items():
        for f in findings:
            assert f["type"] == type_name
            assert f["schemaVersion"] == "2.0" and f["partition"] == "aws"
            assert (f["accountId"], f["region"]) == (ACCOUNT, REGION)
            assert re.fullmatch(r"[0-9a-f]{32}", f["id"])
            assert f["arn"] == f"arn:aws:guardduty:{REGION}:{ACCOUNT}:detector/{DETECTOR}/finding/{f['id']}"
            assert ISO_MS.match(f["createdAt"]) and ISO_MS.match(f["updatedAt"])
            assert f["createdAt"] == "2026-12-01T10:00:00.123Z" and f["updatedAt"] == "2026-12-02T10:00:00.456Z"
            service = f["service"]
            assert ISO_MS.match(service["eventFirstSeen"]) and ISO_MS.match(service["eventLastSeen"])
            assert service["eventFirstSeen"] <= service["eventLastSeen"]
            assert service["serviceName"] == "guardduty" and service["detectorId"] == DETECTOR
            assert service["archived"] is False and service["count"] == 1
            assert "sample" not in service["additionalInfo"]
            assert f["title"] and f["description"]
            assert catalog.severity_band(f["severity"]) in catalog.types_by_name()[type_name].bands


EXPECTED_RESOURCE = {
    catalog.EC2_NETWORK: {"Instance"}, catalog.EC2_DNS: {"Instance"}, catalog.IAM_API: {"AccessKey"},
    catalog.S3_API: {"S3Bucket"}, catalog.S3_MALWARE: {"S3Object"}, catalog.EKS_AUDIT: {"EKSCluster"},
    catalog.RDS_LOGIN: {"RDSDBInstance"}, catalog.LAMBDA_NETWORK: {"Lambda"},
    catalog.RUNTIME: {"Instance", "EKSCluster", "ECSCluster", "Container"},
    catalog.EBS_MALWARE: {"Instance", "EKSCluster", "ECSCluster", "Container"},
    catalog.BACKUP_MALWARE: {"EBSSnapshot", "EC2Image", "RecoveryPoint"},
    catalog.ATTACK_SEQUENCE: {"AttackSequence"},
}
DETAILS_OF = {"Instance": ["instanceDetails"], "AccessKey": ["accessKeyDetails"],
              "S3Bucket": ["s3BucketDetails", "accessKeyDetails"], "S3Object": ["s3BucketDetails"],
              "EKSCluster": ["eksClusterDetails", "kubernetesDetails"], "ECSCluster": ["ecsClusterDetails"],
              "Container": ["containerDetails"], "RDSDBInstance": ["rdsDbInstanceDetails", "rdsDbUserDetails"],
              "Lambda": ["lambdaDetails"], "EBSSnapshot": ["ebsSnapshotDetails"], "EC2Image": ["ec2ImageDetails"],
              "RecoveryPoint": ["recoveryPointDetails"], "AttackSequence": []}


def test_resource_type_and_details_follow_the_family(every_type: dict[str, list[dict]]) -> None:
    for type_name, findings in every_type.items():
        family = catalog.types_by_name()[type_name].family
        for f in findings:
            resource = f["resource"]
            assert resource["resourceType"] in EXPECTED_RESOURCE[family], type_name
            for details in DETAILS_OF[resource["resourceType"]]:
                assert resource.get(details), (type_name, details)


def test_action_follows_the_family(every_type: dict[str, list[dict]]) -> None:
    expected = {catalog.EC2_DNS: "DNS_REQUEST", catalog.IAM_API: "AWS_API_CALL", catalog.S3_API: "AWS_API_CALL",
                catalog.EKS_AUDIT: "KUBERNETES_API_CALL", catalog.RDS_LOGIN: "RDS_LOGIN_ATTEMPT",
                catalog.LAMBDA_NETWORK: "NETWORK_CONNECTION"}
    for type_name, findings in every_type.items():
        ftype = catalog.types_by_name()[type_name]
        for f in findings:
            action = f["service"].get("action")
            if ftype.is_dns:
                assert action["actionType"] == "DNS_REQUEST", type_name
                dns = action["dnsRequestAction"]
                assert dns["domain"] and dns["protocol"] == "UDP" and dns["blocked"] is False
            elif ftype.family in expected:
                assert action["actionType"] == expected[ftype.family], type_name
            elif ftype.family == catalog.EC2_NETWORK:
                want = "PORT_PROBE" if "PortProbe" in type_name else "NETWORK_CONNECTION"
                assert action["actionType"] == want, type_name
            if action and action["actionType"] == "AWS_API_CALL":
                call = action["awsApiCallAction"]
                assert call["api"] and call["serviceName"].endswith(".amazonaws.com")
                assert call["callerType"] in ("Remote IP", "Remote account")
                remote = call["remoteIpDetails"]
                assert remote["country"]["countryName"] and remote["organization"]["asnOrg"]
                assert isinstance(call["affectedResources"], dict)
            if ftype.family == catalog.S3_API:
                bucket = f["resource"]["s3BucketDetails"][0]["name"]
                assert action["awsApiCallAction"]["affectedResources"] == {"AWS::S3::Bucket": bucket}


def test_runtime_types_carry_runtime_details(every_type: dict[str, list[dict]]) -> None:
    for type_name, findings in every_type.items():
        if catalog.types_by_name()[type_name].family != catalog.RUNTIME:
            continue
        for f in findings:
            runtime = f["service"]["runtimeDetails"]
            assert runtime["process"]["name"] and runtime["process"]["executablePath"]
            assert f["service"]["featureName"] == "RuntimeMonitoring"


def test_severity_is_numeric_within_the_types_band() -> None:
    rng = random.Random(3)
    for ftype in catalog.finding_types():
        for _ in range(30):
            value = pick_severity(ftype, rng)
            assert isinstance(value, int | float) and not isinstance(value, bool)
            assert catalog.severity_band(value) in ftype.bands
            assert 1.0 <= value <= 10.0


def test_the_same_seed_builds_the_same_finding_and_another_seed_another() -> None:
    a = build("Recon:EC2/PortProbeUnprotectedPort", seed=11)
    b = build("Recon:EC2/PortProbeUnprotectedPort", seed=11)
    c = build("Recon:EC2/PortProbeUnprotectedPort", seed=12)
    assert orjson.dumps(a) == orjson.dumps(b)
    assert a["id"] != c["id"]


def test_sample_flag_count_and_archived_are_as_asked() -> None:
    f = build("Backdoor:EC2/C&CActivity.B!DNS", sample=True, count=4, archived=True)
    assert f["service"]["additionalInfo"]["sample"] is True
    assert f["service"]["count"] == 4 and f["service"]["archived"] is True


def test_hints_pin_the_incident_fields() -> None:
    world = build_world(7, ACCOUNT, REGION)
    instance = world.instances[3]
    remote = world.remote_ips[5]
    dns = build("Trojan:EC2/DNSDataExfiltration", hints=Hints(instance=instance, domain="q.exfil.example",
                                                              severity=8))
    assert dns["resource"]["instanceDetails"]["instanceId"] == instance.instance_id
    assert dns["service"]["action"]["dnsRequestAction"]["domain"] == "q.exfil.example"
    assert dns["severity"] == 8
    principal = world.principals[2]
    cred = build("UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
                 hints=Hints(principal=principal, remote_ip=remote, api=("ListBuckets", "s3.amazonaws.com")))
    assert cred["resource"]["accessKeyDetails"]["accessKeyId"] == principal.access_key_id
    call = cred["service"]["action"]["awsApiCallAction"]
    assert (call["api"], call["remoteIpDetails"]["ipAddressV4"]) == ("ListBuckets", remote.ip)


def test_generated_values_point_at_documentation_addresses_and_reserved_domains(
        every_type: dict[str, list[dict]]) -> None:
    text = b"\n".join(orjson.dumps(f) for fs in every_type.values() for f in fs).decode()
    for ip in re.findall(r'"ipAddressV4":"([0-9.]+)"', text):
        assert ip.startswith(("192.0.2.", "198.51.100.", "203.0.113.", "10.")), ip
    for domain in re.findall(r'"domain":"([^"]+)"', text):
        assert domain.endswith((".example", ".test")), domain

