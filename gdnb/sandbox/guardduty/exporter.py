"""The S3 export, written as GuardDuty writes it.

Each export is one object per publishing destination: gzip-compressed JSON Lines of bare camelCase
finding objects at ``[prefix/]AWSLogs/<account>/GuardDuty/<region>/YYYY/MM/DD/<uuid>.jsonl.gz`` (the
date is the export's, UTC), encrypted with SSE-KMS under the destination's key. Objects are written
inside moto's S3 backend, as the service principal writes them: the caller passes only destinations that
passed GuardDuty's checks (bucket, key, key policy, bucket policy) just before the export
(:func:`gdnb.sandbox.guardduty.destinations.ready_for_export`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from gdnb.sandbox.guardduty.store import Destination

# zlib level 6 (gzip's default); the export is read far more often than it is written.
GZIP_LEVEL = 6


@dataclasses.dataclass(frozen=True)
class WrittenObject:
    """One object the export wrote."""

    bucket: str
    key: str
    region: str
    day: str  # YYYY-MM-DD, the date folder
    rows: int
    destination_id: str
    size: int

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def encode_jsonl_gz(findings: Iterable[dict[str, Any]]) -> tuple[bytes, int]:
    """(gzip bytes, rows): one compact JSON object per line, each line ending in ``\\n``."""
    lines = [orjson.dumps(f) for f in findings]
    raw = b"\n".join(lines) + b"\n" if lines else b""
    return gzip_bytes(raw), len(lines)


def gzip_bytes(raw: bytes) -> bytes:
    """A gzip member of ``raw`` (zlib with a gzip header; no file name or time, so the bytes are reproducible)."""
    comp = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    return comp.compress(raw) + comp.flush()


def object_key(prefix: str, account_id: str, region: str, day: dt.date, object_uuid: str) -> str:
    """``[prefix/]AWSLogs/<account>/GuardDuty/<region>/YYYY/MM/DD/<uuid>.jsonl.gz``."""
    base = f"AWSLogs/{account_id}/GuardDuty/{region}/{day:%Y/%m/%d}/{object_uuid}.jsonl.gz"
    return f"{prefix}/{base}" if prefix else base


def put_export_object(destination: Destination, key: str, body: bytes) -> None:
    """Write one export object into moto's S3 with SSE-KMS under the destination's key."""
    from moto.s3.models import s3_backends

    backend = s3_backends[destination.bucket_account]["aws"]
    backend.put_object(destination.bucket, key, body, encryption="aws:kms", kms_key_id=destination.kms_key_arn)


def export(findings: Sequence[dict[str, Any]], destinations: Iterable[Destination], exporting_account: str,
           region: str, when: dt.datetime | None = None) -> list[WrittenObject]:
    """Export ``findings`` (archived ones are skipped, as the service skips them) to every destination.

    Parameters
    ----------
    findings
        Finding objects (export form).
    destinations
        The detector's publishing destinations.
    exporting_account, region
        The account and region of the detector that exports (the key's ``AWSLogs/<account>/GuardDuty/<region>``).
    when
        The export time (UTC); now by default. Its date is the key's date folder.
    """
    rows = [f for f in findings if not f.get("service", {}).get("archived")]
    if not rows:
        return []
    body, count = encode_jsonl_gz(rows)
    day = (when or dt.datetime.now(dt.UTC)).date()
    written = []
    for dest in destinations:
        key = object_key(dest.prefix, exporting_account, region, day, str(uuid.uuid4()))
        put_export_object(dest, key, body)
        written.append(WrittenObject(dest.bucket, key, region, day.isoformat(), count, dest.destination_id, len(body)))
    return written
