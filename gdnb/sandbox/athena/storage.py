"""Where the engine reads objects from and writes results to.

:class:`MotoS3Store` reads moto's S3 backend in the sandbox process (no HTTP, no bucket
policy: Athena's own reads are not the caller's). :class:`LocalDirStore` reads a local copy
of buckets (``<root>/<bucket>/<key>``, as ``aws s3 sync s3://bucket <root>/bucket`` makes it).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol


@dataclasses.dataclass(frozen=True)
class ObjectInfo:
    """One stored object: what bytes scanned and the cache key are computed from."""

    bucket: str
    key: str
    size: int
    etag: str


class ObjectStore(Protocol):
    """Read and write access to S3-like storage."""

    def list(self, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
        """Every object under ``prefix`` (recursively), in key order."""

    def list_prefixes(self, bucket: str, prefix: str) -> list[str]:
        """The common prefixes one level below ``prefix`` (``/`` delimiter)."""

    def read(self, bucket: str, key: str) -> bytes:
        """The object's bytes (KeyError when missing)."""

    def write(self, bucket: str, key: str, data: bytes, content_type: str = "binary/octet-stream") -> None:
        """Create or replace an object."""

    def bucket_exists(self, bucket: str) -> bool:
        """Whether the bucket exists."""

    def bucket_region(self, bucket: str) -> str | None:
        """The bucket's region (None when unknown or missing)."""


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix/`` -> ``("bucket", "some/prefix/")``."""
    if not uri.startswith(("s3://", "s3a://", "s3n://")):
        raise ValueError(f"not an s3:// location: {uri!r}")
    rest = uri.split("://", 1)[1]
    bucket, _, key = rest.partition("/")
    return bucket, key


class MotoS3Store:
    """moto's S3 backend for one account, read in-process."""

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id

    @property
    def _backend(self):
        from moto.s3.models import s3_backends

        return s3_backends[self.account_id]["aws"]

    def _bucket(self, bucket: str):
        return self._backend.get_bucket(bucket)

    def list(self, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
        b = self._bucket(bucket)
        names = sorted(k for k in list(b.keys.keys()) if k.startswith(prefix))
        for name in names:
            key = b.keys.get(name)
            if key is None or getattr(key, "is_delete_marker", False):
                continue
            yield ObjectInfo(bucket, name, int(key.size), str(key.etag).strip('"'))

    def list_prefixes(self, bucket: str, prefix: str) -> list[str]:
        b = self._bucket(bucket)
        found: set[str] = set()
        for name in list(b.keys.keys()):
            if name.startswith(prefix):
                rest = name[len(prefix):]
                if "/" in rest:
                    found.add(prefix + rest.split("/", 1)[0] + "/")
        return sorted(found)

    def read(self, bucket: str, key: str) -> bytes:
        obj = self._backend.get_object(bucket, key)
        if obj is None:
            raise KeyError(f"s3://{bucket}/{key}")
        return obj.value

    def write(self, bucket: str, key: str, data: bytes, content_type: str = "binary/octet-stream") -> None:
        obj = self._backend.put_object(bucket, key, data)
        obj.set_metadata({"Content-Type": content_type}) if hasattr(obj, "set_metadata") else None

    def bucket_exists(self, bucket: str) -> bool:
        return bucket in self._backend.buckets

    def bucket_region(self, bucket: str) -> str | None:
        b = self._backend.buckets.get(bucket)
        return b.region_name if b is not None else None


class LocalDirStore:
    """A local directory holding copies of buckets: ``<root>/<bucket>/<key>``.

    Parameters
    ----------
    root
        The directory whose subdirectories are buckets.
    region
        The region every bucket is taken to be in (a local copy has none of its own).
    """

    def __init__(self, root: Path, region: str = "us-east-1") -> None:
        self.root = Path(root)
        self.region = region

    def _path(self, bucket: str, key: str) -> Path:
        path = (self.root / bucket / key).resolve()
        if not str(path).startswith(str(self.root.resolve())):
            raise KeyError(f"s3://{bucket}/{key} is outside {self.root}")
        return path

    def list(self, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
        base = self.root / bucket
        if not base.is_dir():
            return
        # Walk only below the prefix's folder: a listing should cost what it reads.
        start = base / prefix.rsplit("/", 1)[0] if "/" in prefix else base
        if not start.is_dir():
            return
        found: list[tuple[str, os.stat_result]] = []
        for dirpath, _dirs, files in os.walk(start):
            for f in files:
                full = Path(dirpath) / f
                key = full.relative_to(base).as_posix()
                if key.startswith(prefix):
                    found.append((key, full.stat()))
        for key, st in sorted(found):
            yield ObjectInfo(bucket, key, st.st_size, f"{st.st_mtime_ns:x}-{st.st_size:x}")

    def list_prefixes(self, bucket: str, prefix: str) -> list[str]:
        base = self.root / bucket
        parent = base / prefix if prefix.endswith("/") or not prefix else (base / prefix).parent
        if not parent.is_dir():
            return []
        out = []
        for child in sorted(parent.iterdir()):
            if child.is_dir():
                rel = child.relative_to(base).as_posix() + "/"
                if rel.startswith(prefix):
                    out.append(rel)
        return out

    def read(self, bucket: str, key: str) -> bytes:
        path = self._path(bucket, key)
        if not path.is_file():
            raise KeyError(f"s3://{bucket}/{key}")
        return path.read_bytes()

    def write(self, bucket: str, key: str, data: bytes, content_type: str = "binary/octet-stream") -> None:
        path = self._path(bucket, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def bucket_exists(self, bucket: str) -> bool:
        return (self.root / bucket).is_dir()

    def bucket_region(self, bucket: str) -> str | None:
        return self.region if self.bucket_exists(bucket) else None
