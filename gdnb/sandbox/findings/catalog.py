"""The GuardDuty finding types (``finding_types.tsv``) and what each implies for a finding's body.

A type name reads ``ThreatPurpose:ResourceTypeAffected/ThreatFamilyName.DetectionMechanism!Artifact``.
From the name and the tsv's data source this module derives the *family* that decides the finding's
resource details and ``service.action``, and the severity bands the type may take.
"""

from __future__ import annotations

import dataclasses
import functools
from importlib import resources

SEVERITY_BANDS: dict[str, tuple[float, float]] = {
    "Low": (1.0, 3.9),
    "Medium": (4.0, 6.9),
    "High": (7.0, 8.9),
    "Critical": (9.0, 10.0),
}

# Families: what a finding of the type is about and which log produced it.
EC2_NETWORK = "ec2_network"  # VPC flow logs: NETWORK_CONNECTION / PORT_PROBE on an Instance
EC2_DNS = "ec2_dns"  # DNS logs: DNS_REQUEST from an Instance
IAM_API = "iam_api"  # CloudTrail management events: AWS_API_CALL with an AccessKey
S3_API = "s3_api"  # CloudTrail (data) events on an S3Bucket: AWS_API_CALL
S3_MALWARE = "s3_malware"  # Malware Protection for S3: an S3Object
EKS_AUDIT = "eks_audit"  # EKS audit logs: KUBERNETES_API_CALL on an EKSCluster
RDS_LOGIN = "rds_login"  # RDS login activity: RDS_LOGIN_ATTEMPT on an RDSDBInstance
LAMBDA_NETWORK = "lambda_network"  # Lambda network activity: NETWORK_CONNECTION from a function
RUNTIME = "runtime"  # Runtime Monitoring: runtimeDetails on an Instance, EKS, ECS or container workload
EBS_MALWARE = "ebs_malware"  # GuardDuty-initiated EBS malware scans
BACKUP_MALWARE = "backup_malware"  # Malware Protection for Backup: snapshots, AMIs, recovery points
ATTACK_SEQUENCE = "attack_sequence"  # Extended Threat Detection: correlated signals


@dataclasses.dataclass(frozen=True)
class FindingType:
    """One finding type and what the generator needs to know about it."""

    name: str
    resource_column: str
    default_severity: str
    data_source: str
    status: str
    family: str
    bands: tuple[str, ...]

    @property
    def threat_purpose(self) -> str:
        return self.name.split(":", 1)[0]

    @property
    def resource_segment(self) -> str:
        return self.name.split(":", 1)[1].split("/", 1)[0]

    @property
    def detail(self) -> str:
        """What follows the ``/``, without the ``!Artifact`` suffix."""
        return self.name.split("/", 1)[1].split("!", 1)[0]

    @property
    def artifact(self) -> str | None:
        return self.name.split("!", 1)[1] if "!" in self.name else None

    @property
    def is_dns(self) -> bool:
        """Whether the finding comes from a DNS query (``service.action.actionType = DNS_REQUEST``)."""
        return (self.artifact == "DNS" or "DomainRequest" in self.name or self.detail == "DNSDataExfiltration"
                or self.data_source == "DNS logs")

    @property
    def retired(self) -> bool:
        return self.status.startswith("retired")


def _family(name: str, resource_column: str, data_source: str) -> str:
    if name.startswith("AttackSequence:"):
        return ATTACK_SEQUENCE
    source = data_source.lower()
    if "malware protection for backup" in source:
        return BACKUP_MALWARE
    if "malware protection for s3" in source:
        return S3_MALWARE
    if "ebs malware" in source:
        return EBS_MALWARE
    if "runtime monitoring" in source:
        return RUNTIME
    if "lambda" in source:
        return LAMBDA_NETWORK
    if "rds" in source:
        return RDS_LOGIN
    if "audit log" in source:
        return EKS_AUDIT
    if source == "dns logs":
        return EC2_DNS
    if source == "vpc flow logs":
        return EC2_NETWORK
    if resource_column.startswith("S3"):
        return S3_API
    return IAM_API


def _bands(default: str, name: str) -> tuple[str, ...]:
    """The severity bands a type takes: the documented one first, then the ones it may vary into."""
    text = default.strip()
    if text == "Critical":
        return ("Critical",)
    if text.startswith("Variable"):
        return ("Medium", "High", "Low")
    if text == "n/a":
        return ("High", "Medium") if "Malicious" in name else ("Medium", "High")
    base = text.split("*", 1)[0].strip().split(" ", 1)[0]
    if base not in SEVERITY_BANDS:
        return ("Medium",)
    if "*" not in text:
        return (base,)
    others = {"Low": ("Medium",), "Medium": ("High", "Low"), "High": ("Medium",)}[base]
    return (base, *others)


@functools.lru_cache(maxsize=1)
def finding_types() -> tuple[FindingType, ...]:
    """Every finding type of ``finding_types.tsv`` (active and retired), in file order."""
    text = resources.files("gdnb.data").joinpath("finding_types.tsv").read_text(encoding="utf-8")
    out = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, resource_column, severity, source, status = (line.split("\t") + [""] * 5)[:5]
        out.append(FindingType(name=name, resource_column=resource_column, default_severity=severity,
                               data_source=source, status=status, family=_family(name, resource_column, source),
                               bands=_bands(severity, name)))
    return tuple(out)


@functools.lru_cache(maxsize=1)
def types_by_name() -> dict[str, FindingType]:
    """The finding types keyed by name."""
    return {t.name: t for t in finding_types()}


def severity_band(severity: float) -> str:
    """The band (Low, Medium, High, Critical) of a numeric severity, with AWS's boundaries."""
    if severity >= 9.0:
        return "Critical"
    if severity >= 7.0:
        return "High"
    if severity >= 4.0:
        return "Medium"
    return "Low"
