"""Cold and warm scans of a GuardDuty export by the local Athena's SQL engine, side by side with baselines.

Generates a synthetic export (default 270,000 realistic camelCase findings in 360 gzip JSON Lines
objects, ~2.8 KB per finding, held in memory as moto holds them) and measures, in one run:

* the floor: Python ``gzip`` line iteration over every object (no parsing at all);
* the baseline: ``pandas.read_json(lines=True, compression='gzip')`` per object + concat (no SerDe semantics);
* the engine, cold (a fresh executor: staging, SerDe load, key-spelling resolution, query) for
  ``SELECT count(*), count(distinct json_extract_scalar(service,'$.action.actiontype')) FROM gd_logs``;
* the engine, warm (the same query again, and the AWS docs DNS query) over the cached table;
* peak RSS of the process after the engine ran (before pandas).

Run: ``.venv/bin/python bench/bench_scan.py [--findings N] [--objects N] [--repeat N]``.
Targets: cold >= 100,000 findings/s; warm repeated query < 0.5 s; peak RSS < 2 GB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import gzip
import io
import os
import random
import resource
import shutil
import threading
import time
import uuid
from collections.abc import Iterator

import orjson
import sqlglot

from gdnb.sandbox.athena.dml import DmlExecutor
from gdnb.sandbox.athena.model import ObjectRef, TableScan
from gdnb.sandbox.athena.sql import serde
from gdnb.sandbox.athena.storage import ObjectInfo

ACCOUNT = "123456789012"
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
TYPES = [
    ("Trojan:EC2/DNSDataExfiltration", "Instance", "DNS_REQUEST", 8.0),
    ("Backdoor:EC2/C&CActivity.B!DNS", "Instance", "DNS_REQUEST", 8.0),
    ("CryptoCurrency:EC2/BitcoinTool.B!DNS", "Instance", "DNS_REQUEST", 8.0),
    ("Recon:EC2/PortProbeUnprotectedPort", "Instance", "PORT_PROBE", 2.0),
    ("UnauthorizedAccess:EC2/SSHBruteForce", "Instance", "NETWORK_CONNECTION", 5.0),
    ("UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS", "AccessKey", "AWS_API_CALL", 8.0),
    ("Policy:IAMUser/RootCredentialUsage", "AccessKey", "AWS_API_CALL", 2.0),
    ("Discovery:S3/MaliciousIPCaller", "S3Bucket", "AWS_API_CALL", 5.0),
    ("Exfiltration:S3/AnomalousBehavior", "S3Bucket", "AWS_API_CALL", 8.0),
    ("AttackSequence:IAM/CompromisedCredentials", "AccessKey", "AWS_API_CALL", 9.0),
]
COLUMNS = [
    "schemaversion",
    "accountid",
    "region",
    "partition",
    "id",
    "arn",
    "type",
    "resource",
    "service",
    "severity",
    "createdat",
    "updatedat",
    "title",
    "description",
]
COLD_QUERY = "SELECT count(*), count(distinct json_extract_scalar(service,'$.action.actiontype')) FROM gd_logs"
DNS_QUERY = (
    "SELECT title, severity, type, id AS FindingID, accountid, region, createdat, updatedat, "
    "json_extract_scalar(service,'$.count') AS Count, json_extract_scalar(resource,'$.instancedetails.instanceid') "
    "AS InstanceID, json_extract_scalar(service,'$.action.actiontype') AS DNS_ActionType, "
    "json_extract_scalar(service,'$.action.dnsrequestaction.domain') AS DomainName, "
    "json_extract_scalar(service,'$.action.dnsrequestaction.protocol') AS protocol, "
    "json_extract_scalar(service,'$.action.dnsrequestaction.blocked') AS blocked "
    "FROM gd_logs WHERE type = 'Trojan:EC2/DNSDataExfiltration' ORDER BY severity DESC"
)


class MemoryStore:
    """Objects held in memory, as moto's S3 backend holds them."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self.objects[(bucket, key)] = data

    def list(self, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
        for (b, k), data in sorted(self.objects.items()):
            if b == bucket and k.startswith(prefix):
                yield ObjectInfo(b, k, len(data), f"{hash(data) & 0xFFFFFFFF:08x}")

    def read(self, bucket: str, key: str) -> bytes:
        return self.objects[(bucket, key)]


def _ip(rng: random.Random) -> str:
    return f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _remote(rng: random.Random) -> dict:
    return {
        "ipAddressV4": _ip(rng),
        "organization": {
            "asn": str(rng.randint(1000, 65000)),
            "asnOrg": "Example Hosting",
            "isp": "Example ISP",
            "org": "Example Org",
        },
        "country": {"countryName": rng.choice(["Germany", "Brazil", "Japan", "Canada"])},
        "city": {"cityName": rng.choice(["Berlin", "Sao Paulo", "Tokyo", "Toronto"])},
        "geoLocation": {"lat": round(rng.uniform(-60, 60), 4), "lon": round(rng.uniform(-150, 150), 4)},
    }


def make_finding(rng: random.Random, region: str, when: dt.datetime) -> dict:
    """One camelCase finding shaped like the S3 export's (instance, access key or bucket resources)."""
    ftype, rtype, action_type, severity = rng.choice(TYPES)
    fid = uuid.UUID(int=rng.getrandbits(128)).hex
    detector = "d" + fid[:31]
    key_details = {
        "accessKeyId": "ASIA" + fid[:16].upper(),
        "principalId": "AIDA" + fid[16:32].upper(),
        "userType": "IAMUser",
        "userName": rng.choice(["alice", "bob", "ci-deploy", "backup"]),
    }
    if rtype == "Instance":
        resource = {
            "resourceType": "Instance",
            "instanceDetails": {
                "instanceId": "i-" + fid[:17],
                "instanceType": rng.choice(["t3.micro", "m5.large", "c6g.xlarge"]),
                "launchTime": "2026-11-02T02:05:06.000Z",
                "platform": None,
                "productCodes": [],
                "iamInstanceProfile": {
                    "arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/web",
                    "id": "AIPA" + fid[:16].upper(),
                },
                "networkInterfaces": [
                    {
                        "ipv6Addresses": [],
                        "networkInterfaceId": "eni-" + fid[:17],
                        "privateDnsName": "ip-10-0-0-1.ec2.internal",
                        "privateIpAddress": "10.0.0.1",
                        "privateIpAddresses": [
                            {"privateDnsName": "ip-10-0-0-1.ec2.internal", "privateIpAddress": "10.0.0.1"}
                        ],
                        "publicDnsName": f"ec2-{fid[:6]}.compute.amazonaws.com",
                        "publicIp": _ip(rng),
                        "securityGroups": [{"groupId": "sg-" + fid[:17], "groupName": "web"}],
                        "subnetId": "subnet-" + fid[8:25],
                        "vpcId": "vpc-" + fid[16:33],
                    }
                ],
                "outpostArn": None,
                "tags": [
                    {"key": "Name", "value": f"web-{rng.randint(1, 40)}"},
                    {"key": "Team", "value": rng.choice(["blue", "red", "data"])},
                    {"key": "CostCenter", "value": f"cc-{rng.randint(100, 999)}"},
                    {"key": "aws:autoscaling:groupName", "value": "web-asg"},
                ],
                "instanceState": "running",
                "availabilityZone": region + "a",
                "imageId": "ami-" + fid[:17],
                "imageDescription": "Amazon Linux 2023 AMI",
            },
        }
    elif rtype == "AccessKey":
        resource = {"resourceType": "AccessKey", "accessKeyDetails": key_details}
    else:
        bucket = f"data-{rng.randint(1, 50)}"
        resource = {
            "resourceType": "S3Bucket",
            "accessKeyDetails": key_details,
            "s3BucketDetails": [
                {
                    "arn": f"arn:aws:s3:::{bucket}",
                    "name": bucket,
                    "type": "Destination",
                    "createdAt": 1.7e9,
                    "owner": {"id": "c" + fid},
                    "tags": [],
                    "defaultServerSideEncryption": {
                        "encryptionType": "aws:kms",
                        "kmsMasterKeyArn": f"arn:aws:kms:{region}:{ACCOUNT}:key/{fid}",
                    },
                    "publicAccess": {
                        "effectivePermission": "NOT_PUBLIC",
                        "permissionConfiguration": {
                            "bucketLevelPermissions": {
                                "blockPublicAccess": {"ignorePublicAcls": True, "blockPublicPolicy": True}
                            }
                        },
                    },
                }
            ],
        }
    if action_type == "DNS_REQUEST":
        action = {
            "actionType": "DNS_REQUEST",
            "dnsRequestAction": {
                "domain": fid[:14] + ".exfil.example.com",
                "protocol": "UDP",
                "blocked": rng.random() < 0.2,
                "domainWithSuffix": "example.com",
            },
        }
    elif action_type == "PORT_PROBE":
        action = {
            "actionType": "PORT_PROBE",
            "portProbeAction": {
                "blocked": False,
                "portProbeDetails": [
                    {
                        "localPortDetails": {"port": rng.choice([22, 80, 3389]), "portName": "SSH"},
                        "remoteIpDetails": _remote(rng),
                    }
                ],
            },
        }
    elif action_type == "NETWORK_CONNECTION":
        action = {
            "actionType": "NETWORK_CONNECTION",
            "networkConnectionAction": {
                "connectionDirection": "INBOUND",
                "blocked": False,
                "protocol": "TCP",
                "localIpDetails": {"ipAddressV4": "10.0.0.1"},
                "localPortDetails": {"port": 22, "portName": "SSH"},
                "remoteIpDetails": _remote(rng),
                "remotePortDetails": {"port": rng.randint(1024, 65000), "portName": "Unknown"},
            },
        }
    else:
        action = {
            "actionType": "AWS_API_CALL",
            "awsApiCallAction": {
                "api": rng.choice(["GetObject", "ListBuckets", "DescribeInstances", "GetSecretValue"]),
                "serviceName": "s3.amazonaws.com",
                "callerType": "Remote IP",
                "remoteIpDetails": _remote(rng),
                "affectedResources": {},
                "userAgent": "aws-cli/2.15.0 Python/3.11 Linux/6.1 botocore/2.4",
            },
        }
    first = when - dt.timedelta(minutes=rng.randint(0, 600))
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rng.randint(0, 999):03d}Z"
    service = {
        "serviceName": "guardduty",
        "detectorId": detector,
        "action": action,
        "resourceRole": "TARGET",
        "additionalInfo": {
            "value": '{"threatListName":"ProofPoint","unusual":{"hoursOfDay":[1,2]}}',
            "type": "default",
            "recentApiCalls": [
                {"api": api, "count": rng.randint(1, 40)}
                for api in rng.sample(["GetObject", "ListBuckets", "PutObject", "AssumeRole", "GetCallerIdentity"], 3)
            ],
            "sample": False,
        },
        "evidence": {
            "threatIntelligenceDetails": [
                {"threatNames": ["Malware", "Command and control"], "threatListName": "ProofPoint"},
                {"threatNames": ["Backdoor"], "threatListName": "CrowdStrike"},
            ]
        },
        "eventFirstSeen": first.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "eventLastSeen": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "archived": False,
        "count": rng.randint(1, 300),
        "featureName": rng.choice(["DnsLogs", "FlowLogs", "CloudTrail"]),
    }
    if rtype != "Instance":  # API findings carry the caller's session context
        resource["accessKeyDetails"]["sessionContext"] = {
            "attributes": {"creationDate": stamp, "mfaAuthenticated": False},
            "sessionIssuer": {
                "arn": f"arn:aws:iam::{ACCOUNT}:role/deploy",
                "principalId": "AROA" + fid[:16].upper(),
                "type": "Role",
                "userName": "deploy",
            },
        }
    return {
        "schemaVersion": "2.0",
        "accountId": ACCOUNT,
        "region": region,
        "partition": "aws",
        "id": fid,
        "arn": f"arn:aws:guardduty:{region}:{ACCOUNT}:detector/{detector}/finding/{fid}",
        "type": ftype,
        "resource": resource,
        "service": service,
        "severity": severity,
        "createdAt": stamp,
        "updatedAt": stamp,
        "title": f"{ftype.split('/')[-1]} activity observed on {rtype.lower()} {fid[:8]}.",
        "description": f"{ftype} was reported for a {rtype} in {region} of account {ACCOUNT}; "
        f"GuardDuty saw {rng.randint(1, 300)} events between {first:%H:%M} and {when:%H:%M} UTC. "
        "This activity is unusual for the resource and may indicate that its credentials or workload were compromised; "
        "review the resource and the related findings before you archive it.",
    }


def generate(findings: int, objects: int, seed: int = 20261201) -> tuple[MemoryStore, int, int]:
    """Write the export into a MemoryStore; return it, the uncompressed and the compressed bytes."""
    rng = random.Random(seed)
    store = MemoryStore()
    raw = packed = 0
    per = findings // objects
    extra = findings - per * objects
    for o in range(objects):
        region = REGIONS[o % len(REGIONS)]
        day = dt.datetime(2026, 12, 1, tzinfo=dt.UTC) + dt.timedelta(days=(o // len(REGIONS)) % 30)
        n = per + (1 if o < extra else 0)
        lines = [
            orjson.dumps(make_finding(rng, region, day + dt.timedelta(seconds=rng.randint(0, 86399)))) for _ in range(n)
        ]
        text = b"\n".join(lines) + b"\n"
        data = gzip.compress(text, 6)
        raw += len(text)
        packed += len(data)
        key = f"AWSLogs/{ACCOUNT}/GuardDuty/{region}/{day:%Y/%m/%d}/{uuid.UUID(int=rng.getrandbits(128))}.jsonl.gz"
        store.put("findings", key, data)
    return store, raw, packed


def gzip_floor(store: MemoryStore) -> tuple[float, int]:
    """Python gzip line iteration: the cost of merely reading the lines."""
    started = time.perf_counter()
    lines = 0
    for data in store.objects.values():
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
            for _line in fh:
                lines += 1
    return time.perf_counter() - started, lines


def pandas_baseline(store: MemoryStore) -> tuple[float, int]:
    """pandas.read_json per object + concat (no SerDe semantics)."""
    import pandas as pd

    started = time.perf_counter()
    frames = [pd.read_json(io.BytesIO(data), lines=True, compression="gzip") for data in store.objects.values()]
    rows = len(pd.concat(frames, ignore_index=True))
    return time.perf_counter() - started, rows


def scan_of(store: MemoryStore) -> TableScan:
    table = {
        "StorageDescriptor": {
            "Columns": [{"Name": c, "Type": "string"} for c in COLUMNS],
            "Location": f"s3://findings/AWSLogs/{ACCOUNT}/GuardDuty/",
            "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe", "Parameters": {}},
        },
        "PartitionKeys": [],
        "Parameters": {"has_encrypted_data": "true"},
    }
    objects = tuple(ObjectRef(i.bucket, i.key, i.size, i.etag) for i in store.list("findings", "AWSLogs/"))
    return TableScan("default", "gd_logs", table, objects)


class MemoryWatch:
    """Samples the process RSS and the bytes staged in /dev/shm (RAM too, though not in RSS) while running."""

    def __init__(self) -> None:
        self.peak_rss = 0
        self.peak_shm = 0
        self._stop = threading.Event()
        self._base = self._shm()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _shm() -> int:
        try:
            return shutil.disk_usage("/dev/shm").used
        except OSError:
            return 0

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak_rss = max(self.peak_rss, self._rss())
            self.peak_shm = max(self.peak_shm, self._shm() - self._base)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_query(executor: DmlExecutor, scan: TableScan, sql: str) -> tuple[float, list]:
    started = time.perf_counter()
    _cols, rows = executor.execute(
        sqlglot.parse_one(sql, read="athena"), {("default", "gd_logs"): scan}, default_database="default"
    )
    return time.perf_counter() - started, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--findings", type=int, default=270_000)
    parser.add_argument("--objects", type=int, default=360)
    parser.add_argument("--repeat", type=int, default=2, help="cold runs (fresh executors); the best is reported")
    parser.add_argument("--skip-pandas", action="store_true")
    args = parser.parse_args()

    t0 = time.perf_counter()
    store, raw, packed = generate(args.findings, args.objects)
    n = args.findings
    print(
        f"export: {n:,} findings in {args.objects} gzip objects, {raw / n:,.0f} B/finding, "
        f"{raw / 1e6:,.1f} MB raw, {packed / 1e6:,.1f} MB gzip (generated in {time.perf_counter() - t0:.1f} s)"
    )
    scan = scan_of(store)

    floors, colds, colds_zlib, warm, dns_warm = [], [], [], [], []
    rows_seen = None
    isal = serde._igzip
    with MemoryWatch() as watch:
        for _ in range(args.repeat):
            gc.collect()
            floor_s, lines = gzip_floor(store)
            floors.append(floor_s)
            assert lines == n, (lines, n)
            with DmlExecutor(store) as executor:
                cold_s, rows = run_query(executor, scan, COLD_QUERY)
                colds.append(cold_s)
                rows_seen = rows
                for _ in range(3):
                    warm.append(run_query(executor, scan, COLD_QUERY)[0])
                    dns_warm.append(run_query(executor, scan, DNS_QUERY)[0])
            if isal is not None:  # the same cold run with the standard library's zlib (isal is optional)
                serde._igzip = None
                try:
                    with DmlExecutor(store) as executor:
                        colds_zlib.append(run_query(executor, scan, COLD_QUERY)[0])
                finally:
                    serde._igzip = isal
    assert rows_seen is not None and rows_seen[0][0] == str(n), rows_seen
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_total_mb = (watch.peak_rss + watch.peak_shm) / 2**20

    floor_s, cold_s = min(floors), min(colds)
    inflate = "isal" if isal is not None else "zlib; pip install isal for ~2.5x faster inflate"
    print(f"gzip line iteration (floor):   {floor_s:6.2f} s  {n / floor_s:>10,.0f} findings/s")
    print(
        f"engine cold scan + query:      {cold_s:6.2f} s  {n / cold_s:>10,.0f} findings/s   "
        f"(inflate: {inflate}; all cold runs: {', '.join(f'{c:.2f}' for c in colds)} s)"
    )
    if colds_zlib:
        zlib_s = min(colds_zlib)
        print(
            f"engine cold, zlib inflate:     {zlib_s:6.2f} s  {n / zlib_s:>10,.0f} findings/s   "
            f"(all: {', '.join(f'{c:.2f}' for c in colds_zlib)} s)"
        )
    print(f"engine warm repeated query:    {min(warm):6.3f} s  (worst {max(warm):.3f} s)")
    print(
        f"engine warm docs DNS query:    {min(dns_warm):6.3f} s  "
        f"(worst {max(dns_warm):.3f} s: its first run resolves its JSON paths)"
    )
    print(
        f"peak RSS:                      {peak_rss_mb:,.0f} MB (includes the {packed / 1e6:,.0f} MB in-memory export); "
        f"with the staged text in /dev/shm: {peak_total_mb:,.0f} MB"
    )
    print(f"ratio engine / gzip floor:     {floor_s / cold_s:6.2f}x the floor's throughput")
    if colds_zlib:
        print(f"ratio engine (zlib) / floor:   {floor_s / min(colds_zlib):6.2f}x the floor's throughput")
    if not args.skip_pandas:
        pandas_s, prow = pandas_baseline(store)
        assert prow == n
        print(f"pandas.read_json (baseline):   {pandas_s:6.2f} s  {n / pandas_s:>10,.0f} findings/s")
        print(f"ratio engine / pandas:         {pandas_s / cold_s:6.2f}x faster")
    ok_cold = n / cold_s >= 100_000
    ok_warm = max(warm) < 0.5
    ok_rss = peak_total_mb < 2048
    print(
        f"targets: cold >= 100k/s {'OK' if ok_cold else 'MISSED'}; warm < 0.5 s {'OK' if ok_warm else 'MISSED'}; "
        f"memory < 2 GB {'OK' if ok_rss else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
