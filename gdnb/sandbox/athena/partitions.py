"""Partitions of a table: Hive partition names and paths, registered partitions, MSCK discovery.

A partition is its values (one string per partition key, in the key order) and the S3 location
whose objects it holds. Registered partitions come from the catalog (``ALTER TABLE ADD
PARTITION``, Glue ``BatchCreatePartition``, ``MSCK REPAIR TABLE``); projected ones are computed
by :mod:`gdnb.sandbox.athena.projection`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

# Hive's FileUtils.charToEscape: what a partition value may not hold as is in a path.
_ESCAPED = {chr(c) for c in range(1, 0x20)} | set("\"#%'*/:=?\\\x7f{[]^")


def escape_path_name(value: str) -> str:
    """Escape a partition key or value the way Hive does in paths (``2024/01/01`` -> ``2024%2F01%2F01``)."""
    return "".join(f"%{ord(c):02X}" if c in _ESCAPED else c for c in value)


def unescape_path_name(text: str) -> str:
    """Undo :func:`escape_path_name` (``%2F`` -> ``/``)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "%" and i + 2 < len(text) and _is_hex(text[i + 1 : i + 3]):
            out.append(chr(int(text[i + 1 : i + 3], 16)))
            i += 3
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _is_hex(s: str) -> bool:
    return len(s) == 2 and all(c in "0123456789abcdefABCDEF" for c in s)


def partition_name(keys: Sequence[str], values: Sequence[str]) -> str:
    """Hive's partition name, as ``SHOW PARTITIONS`` prints it: ``dt=2024%2F01%2F01/region=x``."""
    return "/".join(f"{escape_path_name(k)}={escape_path_name(v)}" for k, v in zip(keys, values, strict=True))


def join_location(base: str, relative: str) -> str:
    """``s3://b/p`` + ``k=v`` -> ``s3://b/p/k=v``."""
    return base.rstrip("/") + "/" + relative


def default_partition_location(table_location: str, keys: Sequence[str], values: Sequence[str]) -> str:
    """Where Hive puts a partition added without ``LOCATION``: ``<table location>/k=v/...``."""
    return join_location(table_location, partition_name(keys, values))


@dataclasses.dataclass(frozen=True)
class Partition:
    """One partition: its values in key order and its location (``s3://...``)."""

    values: tuple[str, ...]
    location: str


def partition_keys(table: dict[str, Any]) -> list[str]:
    """The table's partition key names, lower case, in order."""
    return [k["Name"].lower() for k in table.get("PartitionKeys") or []]


def registered_partitions(table: dict[str, Any], locations: Iterable[tuple[list[str], str | None]]
                          ) -> list[Partition]:
    """The catalog's partitions of ``table`` (``Catalog.partition_locations``) as :class:`Partition` values."""
    keys = partition_keys(table)
    location = (table.get("StorageDescriptor") or {}).get("Location") or ""
    out = []
    for raw_values, raw_location in locations:
        values = tuple(str(v) for v in raw_values)
        if len(values) != len(keys):
            continue
        out.append(Partition(values, raw_location or default_partition_location(location, keys, values)))
    return out


def discover_hive_partitions(keys: Sequence[str], relative_keys: Iterable[str]) -> list[tuple[str, ...]]:
    """The partitions MSCK REPAIR TABLE finds: ``k1=v1/k2=v2/...`` folders below the table location.

    Only Hive-style folders in key order count, as on Athena; a ``YYYY/MM/DD`` layout yields
    nothing.

    Parameters
    ----------
    keys
        The table's partition keys, in order.
    relative_keys
        Object keys relative to the table location.
    """
    found: dict[tuple[str, ...], None] = {}
    n = len(keys)
    lowered = [k.lower() for k in keys]
    for rel in relative_keys:
        parts = rel.split("/")
        if len(parts) <= n:  # the object itself must sit below the last partition folder
            continue
        values = []
        for key, folder in zip(lowered, parts[:n], strict=True):
            name, sep, value = folder.partition("=")
            if not sep or unescape_path_name(name).lower() != key or not value:
                break
            values.append(unescape_path_name(value))
        else:
            found.setdefault(tuple(values))
    return list(found)
