"""Shared pieces for the engine-core tests: a recording stand-in for the DML executor, an in-memory
object store with bucket regions, and builders for GuardDuty-like object trees."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path

from sqlglot import exp

from gdnb.sandbox.athena.catalog import LocalCatalog
from gdnb.sandbox.athena.engine import Engine
from gdnb.sandbox.athena.model import Column, TableScan
from gdnb.sandbox.athena.storage import LocalDirStore, ObjectInfo

NOW = datetime.datetime(2026, 12, 28, 15, 30, tzinfo=datetime.UTC)


class RecordingExecutor:
    """Stands in for ``DmlExecutor``: records what it is handed and answers with the objects' count.

    The result column names follow the query's select list (all ``varchar``).
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[tuple[str, str], TableScan]]] = []

    def execute(self, query, tables: Mapping[tuple[str, str], TableScan], *, default_database: str,
                cancel=None, now=None):
        self.calls.append((query.sql("athena"), dict(tables)))
        names = [s.alias_or_name or f"_col{i}" for i, s in enumerate(query.selects)
                 if not (isinstance(s, exp.Star) or (isinstance(s, exp.Column) and isinstance(s.this, exp.Star)))]
        names = names or ["objects"]
        columns = [Column(n.lower(), "varchar") for n in names]
        count = sum(len(t.objects) for t in tables.values())
        return columns, [tuple(str(count) for _ in columns)]

    def describe(self, query, tables, *, default_database: str):
        """The stand-in cannot type a query; the engine then infers a view's columns itself."""
        raise NotImplementedError

    @property
    def last_tables(self) -> dict[tuple[str, str], TableScan]:
        return self.calls[-1][1]


class MemoryStore:
    """An ObjectStore over a dict, with a region per bucket; counts listings."""

    def __init__(self, regions: Mapping[str, str]) -> None:
        self.regions = dict(regions)
        self.objects: dict[tuple[str, str], bytes] = {}
        self.list_calls: list[tuple[str, str]] = []

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self.objects[(bucket, key)] = data

    def list(self, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
        self.list_calls.append((bucket, prefix))
        for (b, k), data in sorted(self.objects.items()):
            if b == bucket and k.startswith(prefix):
                yield ObjectInfo(b, k, len(data), hashlib.md5(data).hexdigest())

    def list_prefixes(self, bucket: str, prefix: str) -> list[str]:
        found = {prefix + k[len(prefix):].split("/", 1)[0] + "/" for (b, k) in self.objects
                 if b == bucket and k.startswith(prefix) and "/" in k[len(prefix):]}
        return sorted(found)

    def read(self, bucket: str, key: str) -> bytes:
        return self.objects[(bucket, key)]

    def write(self, bucket: str, key: str, data: bytes, content_type: str = "binary/octet-stream") -> None:
        self.objects[(bucket, key)] = data

    def bucket_exists(self, bucket: str) -> bool:
        return bucket in self.regions

    def bucket_region(self, bucket: str) -> str | None:
        return self.regions.get(bucket)


def local_engine_at(root: Path, executor: RecordingExecutor | None = None, region: str = "us-east-1") -> Engine:
    """An engine over ``root`` (a LocalDirStore) with a JSON catalog in it."""
    return Engine(LocalCatalog(root / "catalog.json"), LocalDirStore(root, region=region), region,
                  executor=executor or RecordingExecutor())


def write_object(root: Path, bucket: str, key: str, size: int) -> int:
    """Write ``size`` bytes at ``root/bucket/key``; return the size."""
    path = root / bucket / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return size


def guardduty_tree(root: Path, bucket: str = "findings", account: str = "123456789012",
                   regions: tuple[str, ...] = ("us-east-1", "eu-west-1", "ap-northeast-1"),
                   days: tuple[str, ...] = ("2026/12/24", "2026/12/25", "2026/12/26", "2026/12/27", "2026/12/28"),
                   ) -> dict[tuple[str, str], int]:
    """Write a GuardDuty export layout (``AWSLogs/<acct>/GuardDuty/<region>/YYYY/MM/DD/``).

    Each (region, day) holds two objects of distinct sizes; returns the bytes per (region, day).
    """
    sizes: dict[tuple[str, str], int] = {}
    for ri, region in enumerate(regions):
        for di, day in enumerate(days):
            base = f"AWSLogs/{account}/GuardDuty/{region}/{day}/"
            total = write_object(root, bucket, base + "a.jsonl.gz", 100 + 10 * ri + di)
            total += write_object(root, bucket, base + "b.jsonl.gz", 1000 + 100 * ri + 7 * di)
            sizes[(region, day)] = total
    return sizes
