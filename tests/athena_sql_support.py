"""Helpers for the local Athena SQL engine tests: objects in a LocalDirStore, Glue-shaped tables, a runner."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

import sqlglot

from gdnb.sandbox.athena.dml import DmlExecutor
from gdnb.sandbox.athena.model import ObjectRef, TableScan
from gdnb.sandbox.athena.storage import LocalDirStore

OPENX = "org.openx.data.jsonserde.JsonSerDe"
HIVE_JSON = "org.apache.hive.hcatalog.data.JsonSerDe"
NOW = dt.datetime(2026, 12, 4, 10, 30, 15, 123456, tzinfo=dt.UTC)
DOCS_COLUMNS = [
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


def put_object(root: Path, bucket: str, key: str, lines: Iterable[str | bytes], gz: bool | None = None) -> None:
    """Write JSON lines (str are written as is; add your own blank/bad lines) under ``root/bucket/key``."""
    data = b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines)
    if gz if gz is not None else key.endswith(".gz"):
        data = gzip.compress(data)
    path = root / bucket / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def glue_table(
    columns: Sequence[tuple[str, str]],
    location: str,
    serde: str = OPENX,
    serde_params: dict[str, str] | None = None,
    partition_keys: Sequence[tuple[str, str]] = (),
    parameters: dict[str, str] | None = None,
    input_format: str = "org.apache.hadoop.mapred.TextInputFormat",
) -> dict:
    """A Glue ``Table`` as ``GetTable`` returns it."""
    return {
        "StorageDescriptor": {
            "Columns": [{"Name": n, "Type": t} for n, t in columns],
            "Location": location,
            "InputFormat": input_format,
            "SerdeInfo": {"SerializationLibrary": serde, "Parameters": dict(serde_params or {})},
        },
        "PartitionKeys": [{"Name": n, "Type": t} for n, t in partition_keys],
        "Parameters": dict(parameters or {"EXTERNAL": "TRUE"}),
    }


def scan_of(
    store: LocalDirStore,
    bucket: str,
    prefix: str,
    table: dict,
    database: str = "default",
    name: str = "t",
    partitions: dict[str, dict[str, str]] | None = None,
) -> TableScan:
    """A TableScan over every object under ``prefix``; ``partitions`` maps a key prefix to partition values."""
    objects = []
    for info in store.list(bucket, prefix):
        values: tuple[tuple[str, str], ...] = ()
        for part_prefix, part in (partitions or {}).items():
            if info.key.startswith(part_prefix):
                values = tuple(part.items())
        objects.append(ObjectRef(info.bucket, info.key, info.size, info.etag, values))
    return TableScan(database, name, table, tuple(objects))


class Runner:
    """Run Athena SQL against a set of TableScans."""

    def __init__(
        self, executor: DmlExecutor, tables: dict[tuple[str, str], TableScan], database: str = "default"
    ) -> None:
        self.executor = executor
        self.tables = tables
        self.database = database

    def run(self, sql: str, **kwargs):
        query = sqlglot.parse_one(sql, read="athena")
        kwargs.setdefault("now", NOW)
        return self.executor.execute(query, self.tables, default_database=self.database, **kwargs)

    def rows(self, sql: str) -> list[tuple[str | None, ...]]:
        return self.run(sql)[1]

    def value(self, sql: str) -> str | None:
        rows = self.rows(sql)
        assert len(rows) == 1 and len(rows[0]) == 1, rows
        return rows[0][0]


def synthetic_finding(
    rng: random.Random, account: str, region: str, when: dt.datetime, ftype: str | None = None
) -> dict:
    """A camelCase GuardDuty finding as the S3 export writes it (the fields the docs queries read)."""
    types = [
        ("Trojan:EC2/DNSDataExfiltration", "Instance", "DNS_REQUEST", 8.0),
        ("Recon:EC2/PortProbeUnprotectedPort", "Instance", "PORT_PROBE", 2.0),
        ("UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS", "AccessKey", "AWS_API_CALL", 8.0),
        ("Exfiltration:S3/AnomalousBehavior", "S3Bucket", "AWS_API_CALL", 8.0),
        ("AttackSequence:IAM/CompromisedCredentials", "AccessKey", "AWS_API_CALL", 9.0),
    ]
    choice = next(t for t in types if t[0] == ftype) if ftype else rng.choice(types)
    ftype, rtype, action_type, severity = choice
    fid = uuid.UUID(int=rng.getrandbits(128)).hex
    if rtype == "Instance":
        resource = {
            "resourceType": "Instance",
            "instanceDetails": {
                "instanceId": "i-" + fid[:17],
                "instanceType": "t3.micro",
                "tags": [{"key": "Name", "value": f"web-{rng.randint(1, 9)}"}],
                "networkInterfaces": [{"publicIp": f"203.0.113.{rng.randint(1, 254)}", "privateIpAddress": "10.0.0.1"}],
            },
        }
    else:
        resource = {
            "resourceType": rtype,
            "accessKeyDetails": {"accessKeyId": "ASIA" + fid[:16].upper(), "userName": rng.choice(["alice", "bob"])},
        }
    if action_type == "DNS_REQUEST":
        action = {
            "actionType": "DNS_REQUEST",
            "dnsRequestAction": {
                "domain": fid[:10] + ".exfil.example.com",
                "protocol": "UDP",
                "blocked": rng.random() < 0.3,
            },
        }
    elif action_type == "PORT_PROBE":
        action = {
            "actionType": "PORT_PROBE",
            "portProbeAction": {"blocked": False, "portProbeDetails": [{"localPortDetails": {"port": 22}}]},
        }
    else:
        action = {
            "actionType": "AWS_API_CALL",
            "awsApiCallAction": {"api": rng.choice(["GetObject", "ListBuckets"]), "callerType": "Remote IP"},
        }
    ts = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rng.randint(0, 999):03d}Z"
    return {
        "schemaVersion": "2.0",
        "accountId": account,
        "region": region,
        "partition": "aws",
        "id": fid,
        "arn": f"arn:aws:guardduty:{region}:{account}:detector/d1/finding/{fid}",
        "type": ftype,
        "resource": resource,
        "service": {"serviceName": "guardduty", "action": action, "count": rng.randint(1, 99), "archived": False},
        "severity": severity if rng.random() < 0.8 else int(severity),
        "createdAt": ts,
        "updatedAt": ts,
        "title": f"{ftype} on {rtype}",
        "description": f"Synthetic finding {fid}",
    }


def dumps(obj: object) -> str:
    """Compact JSON, as the GuardDuty export writes it."""
    return json.dumps(obj, separators=(",", ":"))
