"""Listing the objects under table and partition locations, the way Athena (Trino's Hive connector) does.

Everything below a location is read, subfolders included, except keys ending in ``/`` (folder
markers) and anything whose name, or the name of a folder below the location, starts with ``_``
or ``.`` (Hive's hidden files, e.g. ``_SUCCESS``). Locations in one bucket are listed with a single
listing of their common prefix, so planning costs one listing per bucket, not one per partition.

Reading a bucket fails as on Athena when the bucket is missing or lives in another region than
the engine (the ``the region 'us-east-1' is wrong; expecting 'ap-northeast-1'`` failure).
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterable

from gdnb.sandbox.athena.errors import AthenaSqlError
from gdnb.sandbox.athena.storage import ObjectInfo, ObjectStore, split_s3_uri

log = logging.getLogger(__name__)


def location_prefix(location: str) -> tuple[str, str]:
    """``s3://b/p`` -> ``("b", "p/")``: the key prefix a location's objects share.

    Raises
    ------
    AthenaSqlError
        For a location that is not ``s3://bucket/...`` (a Glue table can hold anything).
    """
    try:
        bucket, key = split_s3_uri(location)
    except ValueError as err:
        raise AthenaSqlError("HIVE_INVALID_METADATA", f"Table location '{location}' is not an S3 location") from err
    if not bucket:
        raise AthenaSqlError("HIVE_INVALID_METADATA", f"Table location '{location}' names no bucket")
    key = key.lstrip("/")
    if key and not key.endswith("/"):
        key += "/"
    return bucket, key


def is_hidden(relative_key: str) -> bool:
    """Whether Athena skips an object (folder marker, or a ``_``/``.`` name below the location)."""
    if not relative_key or relative_key.endswith("/"):
        return True
    return any(part.startswith(("_", ".")) for part in relative_key.split("/"))


def check_bucket(store: ObjectStore, bucket: str, region: str, location: str) -> None:
    """Fail like Athena when a bucket cannot be read from the engine's region.

    Raises
    ------
    AthenaSqlError
        ``HIVE_CANNOT_OPEN_SPLIT`` for a missing bucket, ``HIVE_CURSOR_ERROR`` for a bucket in
        another region.
    """
    if not store.bucket_exists(bucket):
        raise AthenaSqlError(
            "HIVE_CANNOT_OPEN_SPLIT",
            f"Error opening Hive split {location} (offset=0, length=0): The specified bucket does not exist "
            "(Service: Amazon S3; Status Code: 404; Error Code: NoSuchBucket)",
        )
    bucket_region = store.bucket_region(bucket)
    if bucket_region and bucket_region != region:
        raise AthenaSqlError(
            "HIVE_CURSOR_ERROR",
            f"The authorization header is malformed; the region '{region}' is wrong; expecting '{bucket_region}' "
            "(Service: Amazon S3; Status Code: 400; Error Code: AuthorizationHeaderMalformed)",
        )


def _common_prefix(prefixes: list[str]) -> str:
    common = prefixes[0]
    for other in prefixes[1:]:
        n = 0
        while n < min(len(common), len(other)) and common[n] == other[n]:
            n += 1
        common = common[:n]
    cut = common.rfind("/")
    return common[: cut + 1] if cut >= 0 else ""


def list_locations(store: ObjectStore, region: str, locations: Iterable[str]) -> dict[str, list[ObjectInfo]]:
    """The objects Athena reads under each location (``s3://...``), in key order.

    Parameters
    ----------
    store
        Where the objects are.
    region
        The engine's region; buckets elsewhere fail the listing.
    locations
        Table or partition locations.
    """
    by_bucket: dict[str, dict[str, list[str]]] = {}
    for loc in set(locations):
        bucket, prefix = location_prefix(loc)
        by_bucket.setdefault(bucket, {}).setdefault(prefix, []).append(loc)
    out: dict[str, list[ObjectInfo]] = {}
    for bucket, prefixes in sorted(by_bucket.items()):
        first = next(iter(prefixes.values()))[0]
        check_bucket(store, bucket, region, first)
        ordered = sorted(prefixes)
        listed = sorted(store.list(bucket, _common_prefix(ordered) if len(ordered) > 1 else ordered[0]),
                        key=lambda o: o.key)
        keys = [o.key for o in listed]
        for prefix in ordered:
            lo = bisect.bisect_left(keys, prefix)
            hi = bisect.bisect_left(keys, prefix + "\U0010ffff") if prefix else len(keys)
            objects = [o for o in listed[lo:hi] if not is_hidden(o.key[len(prefix):])]
            for loc in prefixes[prefix]:
                out[loc] = objects
    return out
