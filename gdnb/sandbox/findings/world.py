"""The resources and outside actors that findings are about: a small, deterministic world per account and region.

Findings reuse these (the same instances, keys and buckets show up again and again, as in a real
account), which keeps a report's "top resources" meaningful and makes generation fast: the resource
dicts are built once and shared by every finding that names them (never mutated afterwards).

Remote addresses come from the documentation ranges (RFC 5737) and domains from the reserved
``.example``/``.test`` names (RFC 2606), so no generated value points at a real host.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import string
from typing import Any

# (country name, code, city, lat, lon, asn, organisation) — labels only; the addresses are documentation ones.
_GEO = (
    ("France", "FR", "Roubaix", 50.6942, 3.1746, "16276", "OVH SAS"),
    ("Germany", "DE", "Falkenstein", 50.4779, 12.3713, "24940", "Hetzner Online GmbH"),
    ("Netherlands", "NL", "Amsterdam", 52.3759, 4.8975, "60781", "LeaseWeb Netherlands B.V."),
    ("United States", "US", "Clifton", 40.8344, -74.1377, "14061", "DigitalOcean, LLC"),
    ("United States", "US", "Piscataway", 40.5511, -74.4606, "20473", "The Constant Company, LLC"),
    ("Russia", "RU", "Moscow", 55.7522, 37.6156, "49505", "Selectel"),
    ("China", "CN", "Hangzhou", 30.2936, 120.1614, "45102", "Alibaba US Technology Co., Ltd."),
    ("China", "CN", "Shanghai", 31.2222, 121.4581, "4134", "Chinanet"),
    ("Romania", "RO", "Bucharest", 44.4323, 26.1063, "9009", "M247 Europe SRL"),
    ("Brazil", "BR", "Sao Paulo", -23.5475, -46.6361, "28573", "Claro NXT Telecomunicacoes Ltda"),
    ("Korea, Republic of", "KR", "Seoul", 37.5660, 126.9784, "4766", "Korea Telecom"),
    ("Singapore", "SG", "Singapore", 1.2897, 103.8501, "132203", "Tencent Building, Kejizhongyi Avenue"),
    ("Iran", "IR", "Tehran", 35.6944, 51.4215, "58224", "Iran Telecommunication Company PJS"),
    ("Vietnam", "VN", "Hanoi", 21.0245, 105.8412, "45899", "VNPT Corp"),
    ("Seychelles", "SC", "Victoria", -4.6167, 55.4500, "204957", "GreenFloid LLC"),
    ("United Kingdom", "GB", "London", 51.5085, -0.1257, "51167", "Contabo GmbH"),
)
_TEST_NETS = ("192.0.2", "198.51.100", "203.0.113")

_WORDS = ("alpha", "billing", "batch", "cache", "checkout", "data", "etl", "gateway", "ingest", "jobs", "ledger",
          "media", "orders", "payments", "reports", "search", "users", "web", "worker", "analytics")
_INSTANCE_TYPES = ("t3.micro", "t3.medium", "m5.large", "m5.xlarge", "c5.2xlarge", "r5.large", "t4g.small")
_IMAGES = (("ami-0c02fb55956c7d316", "Amazon Linux 2 Kernel 5.10 AMI 2.0.20230119.1 x86_64 HVM gp2"),
           ("ami-0557a15b87f6559cf", "Canonical, Ubuntu, 22.04 LTS, amd64 jammy image build on 2023-02-08"),
           ("ami-0dfcb1ef8550277af", "Amazon Linux 2023 AMI 2023.0.20230315.0 x86_64 HVM kernel-6.1"),
           ("ami-0a7e505f26c66ccb1", "Microsoft Windows Server 2019 with Desktop Experience Locale English AMI"))
_USERS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "deploy-bot",
          "ci-runner", "backup-svc", "terraform", "admin")
_ROLES = ("app-server-role", "batch-worker-role", "eks-node-role", "lambda-exec-role", "ReadOnlyAuditor",
          "OrganizationAccountAccessRole", "ec2-ssm-role")
_CONTAINER_IMAGES = ("nginx:1.25", "python:3.11-slim", "node:20-alpine", "redis:7", "busybox:1.36",
                     "ubuntu:22.04", "public.ecr.aws/docker/library/httpd:2.4")

DOMAIN_KINDS = {
    "c2": ("update-check.{w}.example", "cdn-{w}.example", "{w}-sync.test"),
    "bitcoin": ("pool.{w}coin.example", "stratum.{w}-mine.test", "xmr.{w}pool.example"),
    "phishing": ("login-{w}.example", "secure-{w}-verify.test", "account-{w}.example"),
    "dropzone": ("files.{w}drop.example", "upload.{w}-store.test"),
    "blackhole": ("sink.{w}.test", "{w}.blackhole.example"),
    "driveby": ("ads.{w}-media.example", "{w}-track.test"),
    "malicious": ("{w}-payload.example", "get.{w}-tools.test", "{w}.malware.example"),
    "suspicious": ("{w}-free-vpn.example", "{w}.cheap-hosting.test"),
    "abused": ("{w}.dyn-dns.example", "{w}.freehost.test"),
}


@dataclasses.dataclass(frozen=True)
class RemoteIp:
    """An outside address with its geolocation, as GuardDuty's ``remoteIpDetails`` reports it."""

    ip: str
    details: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Principal:
    """An IAM identity with an access key (``accessKeyDetails``)."""

    user_name: str
    user_type: str  # IAMUser | AssumedRole | Root
    access_key_id: str
    principal_id: str
    arn: str

    @property
    def details(self) -> dict[str, str]:
        return {"accessKeyId": self.access_key_id, "principalId": self.principal_id,
                "userType": self.user_type, "userName": self.user_name}


@dataclasses.dataclass(frozen=True)
class Instance:
    instance_id: str
    private_ip: str
    details: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Bucket:
    name: str
    details: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class World:
    """The resources of one account in one region."""

    account_id: str
    region: str
    instances: tuple[Instance, ...]
    principals: tuple[Principal, ...]
    buckets: tuple[Bucket, ...]
    eks_clusters: tuple[dict[str, Any], ...]
    ecs_clusters: tuple[dict[str, Any], ...]
    lambdas: tuple[dict[str, Any], ...]
    rds_instances: tuple[dict[str, Any], ...]
    remote_ips: tuple[RemoteIp, ...]
    domains: dict[str, tuple[str, ...]]


def _hex(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


def _upper(rng: random.Random, n: int) -> str:
    return "".join(rng.choices(string.ascii_uppercase + string.digits, k=n))


def remote_ips(seed: int) -> tuple[RemoteIp, ...]:
    """The outside actors' addresses (documentation ranges), each with a fixed geolocation."""
    rng = random.Random(f"gdnb-remote-ips-{seed}")
    out = []
    for net in _TEST_NETS:
        for host in rng.sample(range(1, 255), 40):
            country, code, city, lat, lon, asn, org = rng.choice(_GEO)
            ip = f"{net}.{host}"
            out.append(RemoteIp(ip, {
                "ipAddressV4": ip,
                "organization": {"asn": asn, "asnOrg": org.upper().replace(",", ""), "isp": org, "org": org},
                "country": {"countryName": country, "countryCode": code},
                "city": {"cityName": city},
                "geoLocation": {"lat": lat, "lon": lon},
            }))
    return tuple(out)


@functools.lru_cache(maxsize=256)
def build_world(seed: int, account_id: str, region: str) -> World:
    """The deterministic world of ``account_id`` in ``region`` for ``seed``."""
    rng = random.Random(f"gdnb-world-{seed}-{account_id}-{region}")
    azs = [f"{region}{z}" for z in "abc"]
    vpc = f"vpc-{_hex(rng, 17)}"
    subnets = [f"subnet-{_hex(rng, 17)}" for _ in azs]
    instances = []
    for i in range(40):
        iid = f"i-{_hex(rng, 17)}"
        az_i = i % 3
        ip = f"10.{az_i}.{rng.randint(0, 255)}.{rng.randint(4, 254)}"
        pub = f"{rng.choice(_TEST_NETS)}.{rng.randint(1, 254)}"
        image, image_desc = rng.choice(_IMAGES)
        name = f"{rng.choice(_WORDS)}-{rng.choice(('prod', 'staging', 'dev'))}-{i:02d}"
        role = rng.choice(_ROLES[:3] + _ROLES[6:])
        private_dns = f"ip-{ip.replace('.', '-')}.{region}.compute.internal"
        details = {
            "instanceId": iid,
            "instanceType": rng.choice(_INSTANCE_TYPES),
            "outpostArn": None,
            "launchTime": f"20{rng.randint(23, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
                          f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.000Z",
            "platform": "windows" if "Windows" in image_desc else None,
            "productCodes": [],
            "iamInstanceProfile": {"arn": f"arn:aws:iam::{account_id}:instance-profile/{role}",
                                   "id": "AIPA" + _upper(rng, 17)},
            "networkInterfaces": [{
                "ipv6Addresses": [],
                "networkInterfaceId": f"eni-{_hex(rng, 17)}",
                "privateDnsName": private_dns,
                "privateIpAddress": ip,
                "privateIpAddresses": [{"privateDnsName": private_dns, "privateIpAddress": ip}],
                "subnetId": subnets[az_i],
                "vpcId": vpc,
                "securityGroups": [{"groupName": f"{name.rsplit('-', 1)[0]}-sg", "groupId": f"sg-{_hex(rng, 17)}"}],
                "publicDnsName": f"ec2-{pub.replace('.', '-')}.{region}.compute.amazonaws.com",
                "publicIp": pub,
            }],
            "tags": [{"key": "Name", "value": name}, {"key": "team", "value": rng.choice(_WORDS)}],
            "instanceState": "running",
            "availabilityZone": azs[az_i],
            "imageId": image,
            "imageDescription": image_desc,
        }
        instances.append(Instance(iid, ip, details))

    principals = []
    for user in _USERS:
        principals.append(Principal(user, "IAMUser", "AKIA" + _upper(rng, 16), "AIDA" + _upper(rng, 17),
                                    f"arn:aws:iam::{account_id}:user/{user}"))
    for role in _ROLES:
        session = f"i-{_hex(rng, 17)}" if "role" in role else rng.choice(_USERS)
        role_id = "AROA" + _upper(rng, 17)
        principals.append(Principal(role, "AssumedRole", "ASIA" + _upper(rng, 16), f"{role_id}:{session}",
                                    f"arn:aws:sts::{account_id}:assumed-role/{role}/{session}"))
    principals.append(Principal("Root", "Root", "ASIA" + _upper(rng, 16), account_id,
                                f"arn:aws:iam::{account_id}:root"))

    buckets = []
    for word in rng.sample(_WORDS, 12):
        name = f"{word}-{rng.choice(('prod', 'archive', 'exports', 'logs', 'backup'))}-{account_id[-4:]}-{region}"
        buckets.append(Bucket(name, {
            "arn": f"arn:aws:s3:::{name}",
            "name": name,
            "type": "Destination",
            "createdAt": 1.6e9 + rng.randint(0, 9 * 10**7) + rng.randint(0, 999) / 1000,
            "owner": {"id": _hex(rng, 64)},
            "tags": [{"key": "data-classification", "value": rng.choice(("internal", "confidential", "public"))}],
            "defaultServerSideEncryption": {"encryptionType": "aws:kms",
                                            "kmsMasterKeyArn": f"arn:aws:kms:{region}:{account_id}:key/"
                                                               f"{_hex(rng, 8)}-{_hex(rng, 4)}-{_hex(rng, 4)}-"
                                                               f"{_hex(rng, 4)}-{_hex(rng, 12)}"},
            "publicAccess": _public_access(False),
        }))

    eks = []
    for word in rng.sample(_WORDS, 3):
        name = f"{word}-cluster"
        eks.append({"name": name, "arn": f"arn:aws:eks:{region}:{account_id}:cluster/{name}",
                    "vpcId": vpc, "status": "ACTIVE", "tags": [{"key": "team", "value": word}],
                    "createdAt": 1.65e9 + rng.randint(0, 5 * 10**7) + rng.randint(0, 999) / 1000})
    ecs = []
    for word in rng.sample(_WORDS, 3):
        name = f"{word}-ecs"
        ecs.append({"name": name, "arn": f"arn:aws:ecs:{region}:{account_id}:cluster/{name}", "status": "ACTIVE",
                    "activeServicesCount": rng.randint(1, 12), "registeredContainerInstancesCount": rng.randint(0, 6),
                    "runningTasksCount": rng.randint(1, 40), "tags": [{"key": "team", "value": word}]})
    lambdas = []
    for word in rng.sample(_WORDS, 8):
        fn = f"{word}-handler"
        lambdas.append({"functionArn": f"arn:aws:lambda:{region}:{account_id}:function:{fn}", "functionName": fn,
                        "description": f"{word} events", "lastModifiedAt": 1.68e9 + rng.randint(0, 4 * 10**7),
                        "revisionId": f"{_hex(rng, 8)}-{_hex(rng, 4)}-{_hex(rng, 4)}-{_hex(rng, 4)}-{_hex(rng, 12)}",
                        "functionVersion": "$LATEST", "role": f"arn:aws:iam::{account_id}:role/lambda-exec-role",
                        "vpcConfig": {"subnetIds": subnets[:2], "vpcId": vpc,
                                      "securityGroups": [{"groupId": f"sg-{_hex(rng, 17)}", "groupName": f"{fn}-sg"}]},
                        "tags": []})
    rds = []
    for word, engine, version in zip(rng.sample(_WORDS, 4), ("aurora-postgresql", "aurora-mysql", "postgres", "mysql"),
                                     ("15.4", "8.0.mysql_aurora.3.05.2", "16.1", "8.0.35"), strict=True):
        ident = f"{word}-db-1"
        rds.append({"dbInstanceIdentifier": ident, "engine": engine, "engineVersion": version,
                    "dbClusterIdentifier": f"{word}-db",
                    "dbInstanceArn": f"arn:aws:rds:{region}:{account_id}:db:{ident}",
                    "dbiResourceId": "db-" + _upper(rng, 26), "tags": []})

    domains = {kind: tuple(pattern.format(w=rng.choice(_WORDS) + str(rng.randint(1, 99)))
                           for pattern in patterns for _ in range(2))
               for kind, patterns in DOMAIN_KINDS.items()}
    return World(account_id=account_id, region=region, instances=tuple(instances), principals=tuple(principals),
                 buckets=tuple(buckets), eks_clusters=tuple(eks), ecs_clusters=tuple(ecs), lambdas=tuple(lambdas),
                 rds_instances=tuple(rds), remote_ips=remote_ips(seed), domains=domains)


def _public_access(public: bool) -> dict[str, Any]:
    block = {"ignorePublicAcls": not public, "restrictPublicBuckets": not public, "blockPublicAcls": not public,
             "blockPublicPolicy": not public}
    return {
        "permissionConfiguration": {
            "bucketLevelPermissions": {
                "accessControlList": {"allowsPublicReadAccess": False, "allowsPublicWriteAccess": False},
                "bucketPolicy": {"allowsPublicReadAccess": public, "allowsPublicWriteAccess": False},
                "blockPublicAccess": block,
            },
            "accountLevelPermissions": {"blockPublicAccess": block},
        },
        "effectivePermission": "PUBLIC" if public else "NOT_PUBLIC",
    }


def public_bucket_details(bucket: Bucket) -> dict[str, Any]:
    """A copy of a bucket's details after its public access was opened (for the Policy:S3 findings)."""
    return {**bucket.details, "publicAccess": _public_access(True)}
