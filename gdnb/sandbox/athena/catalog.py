"""The data catalog the local Athena reads and writes, in AWS Glue's shapes.

Databases, tables and partitions are plain dicts shaped like Glue's ``Database``, ``Table`` and
``Partition`` (``StorageDescriptor`` with ``Columns``, ``Location``, ``SerdeInfo``;
``PartitionKeys``; ``TableType``; ``Parameters``), so what Athena DDL writes is what the Glue API
returns and the other way round.

:class:`GlueCatalog` reads and writes moto's Glue backend in-process (the sandbox's Glue, and
``moto.mock_aws`` in tests). :class:`LocalCatalog` keeps the same shapes in a JSON file, for the
engine over a local copy of a bucket.
"""

from __future__ import annotations

import copy
import datetime
import json
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

_TIME_KEYS = ("CreateTime", "UpdateTime", "LastAccessTime", "CreationTime", "LastAnalyzedTime")


class CatalogError(Exception):
    """A catalog operation failed."""


class EntityNotFound(CatalogError):
    """A database, table or partition does not exist (Glue ``EntityNotFoundException``)."""

    def __init__(self, what: str, name: str) -> None:
        self.what = what
        self.name = name
        super().__init__(f"{what} {name} not found")


class AlreadyExists(CatalogError):
    """A database or table of that name exists (Glue ``AlreadyExistsException``)."""

    def __init__(self, what: str, name: str) -> None:
        self.what = what
        self.name = name
        super().__init__(f"{what} {name} already exists")


class Catalog(Protocol):
    """Glue-shaped databases, tables and partitions.

    Names are compared case-insensitively and written in lower case, as Athena and Glue do.
    Methods raise :class:`EntityNotFound` / :class:`AlreadyExists`; returned dicts are copies.
    """

    def get_database(self, name: str) -> dict[str, Any]:
        """The ``Database`` dict."""

    def list_databases(self) -> list[dict[str, Any]]:
        """Every database, sorted by name."""

    def create_database(self, database_input: dict[str, Any]) -> None:
        """Create a database from a Glue ``DatabaseInput``."""

    def drop_database(self, name: str) -> None:
        """Delete a database with its tables and partitions."""

    def get_table(self, database: str, name: str) -> dict[str, Any]:
        """The ``Table`` dict (with ``DatabaseName``)."""

    def list_tables(self, database: str) -> list[dict[str, Any]]:
        """Every table and view of a database, sorted by name."""

    def create_table(self, database: str, table_input: dict[str, Any]) -> None:
        """Create a table from a Glue ``TableInput``."""

    def update_table(self, database: str, table_input: dict[str, Any]) -> None:
        """Replace a table's definition (its partitions stay)."""

    def drop_table(self, database: str, name: str) -> None:
        """Delete a table with its partitions."""

    def get_partitions(self, database: str, table: str) -> list[dict[str, Any]]:
        """Every registered partition of a table, in the order they were added."""

    def partition_locations(self, database: str, table: str) -> list[tuple[list[str], str | None]]:
        """``(Values, StorageDescriptor.Location)`` of every partition: what query planning needs, cheaply."""

    def batch_create_partitions(
        self, database: str, table: str, partition_inputs: Iterable[dict[str, Any]]
    ) -> list[list[str]]:
        """Add partitions; return the ``Values`` of those that already existed (left unchanged)."""

    def batch_delete_partitions(self, database: str, table: str, values: Iterable[list[str]]) -> list[list[str]]:
        """Delete partitions by values; return the values that were not found."""

    def update_partition(self, database: str, table: str, values: list[str], partition_input: dict[str, Any]) -> None:
        """Replace one partition's definition."""


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _find(mapping: dict[str, Any], name: str) -> str | None:
    """The key of ``mapping`` equal to ``name`` ignoring case (Glue names are case-insensitive)."""
    if name in mapping:
        return name
    lowered = name.lower()
    for key in mapping:
        if key.lower() == lowered:
            return key
    return None


class GlueCatalog:
    """moto's Glue backend for one account and region, read and written in-process.

    Parameters
    ----------
    account_id, region
        Which ``moto.glue.models.glue_backends[account_id][region]`` to use.
    """

    def __init__(self, account_id: str, region: str) -> None:
        self.account_id = account_id
        self.region = region

    @property
    def _backend(self):
        from moto.glue.models import glue_backends

        return glue_backends[self.account_id][self.region]

    def _db(self, name: str):
        key = _find(self._backend.databases, name)
        if key is None:
            raise EntityNotFound("Database", name)
        return self._backend.databases[key]

    def _table(self, database: str, name: str):
        db = self._db(database)
        key = _find(db.tables, name)
        if key is None:
            raise EntityNotFound("Table", name)
        return db.tables[key]

    def get_database(self, name: str) -> dict[str, Any]:
        db = self._db(name)
        out = {k: v for k, v in db.as_dict().items() if v is not None}
        return copy.deepcopy(out)

    def list_databases(self) -> list[dict[str, Any]]:
        names = sorted(self._backend.databases)
        return [self.get_database(n) for n in names]

    def create_database(self, database_input: dict[str, Any]) -> None:
        name = database_input["Name"].lower()
        if _find(self._backend.databases, name) is not None:
            raise AlreadyExists("Database", name)
        self._backend.create_database(name, {**copy.deepcopy(database_input), "Name": name})

    def drop_database(self, name: str) -> None:
        db = self._db(name)
        del self._backend.databases[db.name]

    def get_table(self, database: str, name: str) -> dict[str, Any]:
        return copy.deepcopy(self._table(database, name).as_dict())

    def list_tables(self, database: str) -> list[dict[str, Any]]:
        db = self._db(database)
        return [copy.deepcopy(db.tables[k].as_dict()) for k in sorted(db.tables)]

    def create_table(self, database: str, table_input: dict[str, Any]) -> None:
        db = self._db(database)
        name = table_input["Name"].lower()
        if _find(db.tables, name) is not None:
            raise AlreadyExists("Table", name)
        self._backend.create_table(db.name, name, {**copy.deepcopy(table_input), "Name": name})

    def update_table(self, database: str, table_input: dict[str, Any]) -> None:
        table = self._table(database, table_input["Name"])
        table.update({**copy.deepcopy(table_input), "Name": table.name})

    def drop_table(self, database: str, name: str) -> None:
        db = self._db(database)
        table = self._table(database, name)
        del db.tables[table.name]

    def get_partitions(self, database: str, table: str) -> list[dict[str, Any]]:
        t = self._table(database, table)
        return [copy.deepcopy(p.as_dict()) for p in list(t.partitions.values())]

    def partition_locations(self, database: str, table: str) -> list[tuple[list[str], str | None]]:
        t = self._table(database, table)
        return [([str(v) for v in p.values], (p.partition_input.get("StorageDescriptor") or {}).get("Location"))
                for p in list(t.partitions.values())]

    def batch_create_partitions(
        self, database: str, table: str, partition_inputs: Iterable[dict[str, Any]]
    ) -> list[list[str]]:
        from moto.glue.exceptions import PartitionAlreadyExistsException

        t = self._table(database, table)
        existing: list[list[str]] = []
        for part in partition_inputs:
            try:
                t.create_partition(copy.deepcopy(part))
            except PartitionAlreadyExistsException:
                existing.append(list(part["Values"]))
        return existing

    def batch_delete_partitions(self, database: str, table: str, values: Iterable[list[str]]) -> list[list[str]]:
        from moto.glue.exceptions import PartitionNotFoundException

        t = self._table(database, table)
        missing: list[list[str]] = []
        for vals in values:
            try:
                t.delete_partition(list(vals))
            except PartitionNotFoundException:
                missing.append(list(vals))
        return missing

    def update_partition(self, database: str, table: str, values: list[str], partition_input: dict[str, Any]) -> None:
        from moto.glue.exceptions import PartitionNotFoundException

        t = self._table(database, table)
        try:
            t.update_partition(list(values), copy.deepcopy(partition_input))
        except PartitionNotFoundException as err:
            raise EntityNotFound("Partition", "/".join(values)) from err


def _encode_times(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: (v.isoformat() if k in _TIME_KEYS and isinstance(v, datetime.datetime) else _encode_times(v))
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [_encode_times(v) for v in obj]
    return obj


def _decode_times(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: (datetime.datetime.fromisoformat(v) if k in _TIME_KEYS and isinstance(v, str) else _decode_times(v))
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode_times(v) for v in obj]
    return obj


def _partition_key(values: Iterable[str]) -> str:
    return json.dumps(list(values))


class LocalCatalog:
    """A Glue-shaped catalog kept in one JSON file, for a local copy of the data.

    The file is re-read whenever it changed on disk and rewritten atomically after every change,
    so several processes (a notebook and the CLI) can share it, one statement at a time.

    Parameters
    ----------
    path
        The JSON file; created on the first change.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._stamp: tuple[int, int] | None = None
        self._data: dict[str, Any] = {"version": 1, "databases": {}}

    def _load(self) -> dict[str, Any]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._data = None, {"version": 1, "databases": {}}
            return self._data
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            raw = json.loads(self.path.read_text(encoding="utf-8") or "{}")
            self._data = {"version": 1, "databases": raw.get("databases", {})}
            self._stamp = stamp
        return self._data

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(_encode_times(self._data), indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)
        st = self.path.stat()
        self._stamp = (st.st_mtime_ns, st.st_size)

    def _db(self, name: str) -> dict[str, Any]:
        dbs = self._load()["databases"]
        key = _find(dbs, name)
        if key is None:
            raise EntityNotFound("Database", name)
        return dbs[key]

    def _table(self, database: str, name: str) -> dict[str, Any]:
        tables = self._db(database)["tables"]
        key = _find(tables, name)
        if key is None:
            raise EntityNotFound("Table", name)
        return tables[key]

    def get_database(self, name: str) -> dict[str, Any]:
        with self._lock:
            return _decode_times(copy.deepcopy(self._db(name)["database"]))

    def list_databases(self) -> list[dict[str, Any]]:
        with self._lock:
            dbs = self._load()["databases"]
            return [_decode_times(copy.deepcopy(dbs[k]["database"])) for k in sorted(dbs)]

    def create_database(self, database_input: dict[str, Any]) -> None:
        with self._lock:
            dbs = self._load()["databases"]
            name = database_input["Name"].lower()
            if _find(dbs, name) is not None:
                raise AlreadyExists("Database", name)
            database = {**copy.deepcopy(database_input), "Name": name, "CreateTime": _now(), "CatalogId": "local"}
            dbs[name] = {"database": _encode_times(database), "tables": {}}
            self._save()

    def drop_database(self, name: str) -> None:
        with self._lock:
            dbs = self._load()["databases"]
            key = _find(dbs, name)
            if key is None:
                raise EntityNotFound("Database", name)
            del dbs[key]
            self._save()

    def get_table(self, database: str, name: str) -> dict[str, Any]:
        with self._lock:
            return _decode_times(copy.deepcopy(self._table(database, name)["table"]))

    def list_tables(self, database: str) -> list[dict[str, Any]]:
        with self._lock:
            tables = self._db(database)["tables"]
            return [_decode_times(copy.deepcopy(tables[k]["table"])) for k in sorted(tables)]

    def create_table(self, database: str, table_input: dict[str, Any]) -> None:
        with self._lock:
            db = self._db(database)
            name = table_input["Name"].lower()
            if _find(db["tables"], name) is not None:
                raise AlreadyExists("Table", name)
            now = _now()
            table = {**copy.deepcopy(table_input), "Name": name, "DatabaseName": db["database"]["Name"],
                     "CreateTime": now, "UpdateTime": now, "CatalogId": "local"}
            db["tables"][name] = {"table": _encode_times(table), "partitions": {}}
            self._save()

    def update_table(self, database: str, table_input: dict[str, Any]) -> None:
        with self._lock:
            entry = self._table(database, table_input["Name"])
            old = entry["table"]
            keep = {k: old[k] for k in ("Name", "DatabaseName", "CreateTime", "CatalogId") if k in old}
            entry["table"] = _encode_times({**copy.deepcopy(table_input), **keep, "UpdateTime": _now()})
            self._save()

    def drop_table(self, database: str, name: str) -> None:
        with self._lock:
            tables = self._db(database)["tables"]
            key = _find(tables, name)
            if key is None:
                raise EntityNotFound("Table", name)
            del tables[key]
            self._save()

    def get_partitions(self, database: str, table: str) -> list[dict[str, Any]]:
        with self._lock:
            return [_decode_times(copy.deepcopy(p)) for p in self._table(database, table)["partitions"].values()]

    def partition_locations(self, database: str, table: str) -> list[tuple[list[str], str | None]]:
        with self._lock:
            return [([str(v) for v in p.get("Values") or []], (p.get("StorageDescriptor") or {}).get("Location"))
                    for p in self._table(database, table)["partitions"].values()]

    def batch_create_partitions(
        self, database: str, table: str, partition_inputs: Iterable[dict[str, Any]]
    ) -> list[list[str]]:
        with self._lock:
            entry = self._table(database, table)
            parts = entry["partitions"]
            existing: list[list[str]] = []
            now = _now()
            for part in partition_inputs:
                key = _partition_key(part["Values"])
                if key in parts:
                    existing.append(list(part["Values"]))
                    continue
                parts[key] = _encode_times({**copy.deepcopy(part), "DatabaseName": entry["table"]["DatabaseName"],
                                            "TableName": entry["table"]["Name"], "CreationTime": now})
            self._save()
            return existing

    def batch_delete_partitions(self, database: str, table: str, values: Iterable[list[str]]) -> list[list[str]]:
        with self._lock:
            parts = self._table(database, table)["partitions"]
            missing: list[list[str]] = []
            for vals in values:
                if parts.pop(_partition_key(vals), None) is None:
                    missing.append(list(vals))
            self._save()
            return missing

    def update_partition(self, database: str, table: str, values: list[str], partition_input: dict[str, Any]) -> None:
        with self._lock:
            parts = self._table(database, table)["partitions"]
            key = _partition_key(values)
            old = parts.get(key)
            if old is None:
                raise EntityNotFound("Partition", "/".join(values))
            keep = {k: old[k] for k in ("DatabaseName", "TableName", "CreationTime") if k in old}
            del parts[key]
            parts[_partition_key(partition_input["Values"])] = _encode_times({**copy.deepcopy(partition_input), **keep})
            self._save()
