"""Athena workgroups: their settings, and the result location a query gets from them.

Each region has its own workgroups, and ``primary`` always exists in every region, as on AWS.
Settings are kept in the wire shape (``WorkGroupConfiguration``), so what a client writes is
what it reads back.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import threading
import time
from typing import Any

from gdnb.sandbox.athena.apierrors import invalid, validation, workgroup_not_found

PRIMARY = "primary"
ENGINE_VERSION = "Athena engine version 3"
# Athena v3 is the only engine emulated: asking for another one is refused, never ignored.
SELECTABLE_ENGINE_VERSIONS = ("AUTO", ENGINE_VERSION)
MIN_BYTES_SCANNED_CUTOFF = 10_000_000
ENCRYPTION_OPTIONS = ("SSE_S3", "SSE_KMS", "CSE_KMS")

_NAME_RE = re.compile(r"[a-zA-Z0-9._-]{1,128}")
_S3_LOCATION_RE = re.compile(r"s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?")


@dataclasses.dataclass
class WorkGroup:
    """One workgroup, its configuration kept in the wire shape."""

    name: str
    configuration: dict[str, Any]
    description: str | None = None
    state: str = "ENABLED"
    created: float = dataclasses.field(default_factory=time.time)
    tags: list[dict[str, str]] = dataclasses.field(default_factory=list)

    @property
    def result_configuration(self) -> dict[str, Any]:
        return self.configuration.get("ResultConfiguration") or {}

    @property
    def enforced(self) -> bool:
        return bool(self.configuration.get("EnforceWorkGroupConfiguration"))

    @property
    def bytes_scanned_cutoff(self) -> int | None:
        return self.configuration.get("BytesScannedCutoffPerQuery")

    @property
    def engine_version(self) -> dict[str, str]:
        return dict(self.configuration["EngineVersion"])

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Name": self.name, "State": self.state,
                               "Configuration": copy.deepcopy(self.configuration), "CreationTime": self.created}
        if self.description is not None:
            out["Description"] = self.description
        return out

    def summary(self) -> dict[str, Any]:
        return {"Name": self.name, "State": self.state, "Description": self.description or "",
                "CreationTime": self.created, "EngineVersion": self.engine_version}


def validate_output_location(location: Any, member: str = "outputLocation") -> str:
    """Refuse what Athena refuses as an output location (``s3://bucket[/prefix]``)."""
    if not isinstance(location, str) or not _S3_LOCATION_RE.fullmatch(location):
        raise invalid(f"{member} is not a valid S3 path.")
    return location


def validate_encryption(encryption: Any) -> dict[str, Any]:
    """Check an ``EncryptionConfiguration``: a known option, and a key for the KMS ones."""
    if not isinstance(encryption, dict) or encryption.get("EncryptionOption") not in ENCRYPTION_OPTIONS:
        raise validation("resultConfiguration.encryptionConfiguration.encryptionOption",
                         f"Member must satisfy enum value set: [{', '.join(ENCRYPTION_OPTIONS)}]",
                         (encryption or {}).get("EncryptionOption") if isinstance(encryption, dict) else None)
    if encryption["EncryptionOption"] in ("SSE_KMS", "CSE_KMS") and not encryption.get("KmsKey"):
        raise invalid(f"KmsKey is required when EncryptionOption is {encryption['EncryptionOption']}: "
                      "give the ARN, id or alias of the KMS key that encrypts the query results.")
    return {k: encryption[k] for k in ("EncryptionOption", "KmsKey") if encryption.get(k)}


def _validate_result_configuration(result: Any) -> dict[str, Any]:
    if not isinstance(result, dict):
        raise invalid("ResultConfiguration must be an object.")
    out: dict[str, Any] = {}
    if result.get("OutputLocation") is not None:
        out["OutputLocation"] = validate_output_location(result["OutputLocation"])
    if result.get("EncryptionConfiguration") is not None:
        out["EncryptionConfiguration"] = validate_encryption(result["EncryptionConfiguration"])
    for key in ("ExpectedBucketOwner", "AclConfiguration"):
        if result.get(key) is not None:
            out[key] = result[key]
    return out


def _validate_engine_version(version: Any) -> dict[str, str]:
    selected = (version or {}).get("SelectedEngineVersion") or ENGINE_VERSION
    if selected not in SELECTABLE_ENGINE_VERSIONS:
        raise invalid(f"The engine version {selected!r} is not available in the gdnb sandbox, which emulates only "
                      f"{ENGINE_VERSION!r}: select {ENGINE_VERSION!r} or 'AUTO'.")
    return {"SelectedEngineVersion": selected, "EffectiveEngineVersion": ENGINE_VERSION}


def _validate_cutoff(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < MIN_BYTES_SCANNED_CUTOFF:
        raise validation("configuration.bytesScannedCutoffPerQuery",
                         f"Member must have value greater than or equal to {MIN_BYTES_SCANNED_CUTOFF}", value)
    return value


def _default_configuration() -> dict[str, Any]:
    return {"EnforceWorkGroupConfiguration": False, "PublishCloudWatchMetricsEnabled": False,
            "RequesterPaysEnabled": False, "EngineVersion": _validate_engine_version(None),
            "EnableMinimumEncryptionConfiguration": False}


def build_configuration(given: Any) -> dict[str, Any]:
    """The stored configuration of a new workgroup: defaults overlaid with a checked ``Configuration``."""
    config = _default_configuration()
    if given is None:
        return config
    if not isinstance(given, dict):
        raise invalid("Configuration must be an object.")
    for key, value in given.items():
        if value is None:
            continue
        if key == "ResultConfiguration":
            config[key] = _validate_result_configuration(value)
        elif key == "BytesScannedCutoffPerQuery":
            config[key] = _validate_cutoff(value)
        elif key == "EngineVersion":
            config[key] = _validate_engine_version(value)
        else:
            config[key] = copy.deepcopy(value)
    return config


def apply_configuration_updates(config: dict[str, Any], updates: Any) -> dict[str, Any]:
    """``UpdateWorkGroup``'s ``ConfigurationUpdates`` applied to a copy of ``config``."""
    if not isinstance(updates, dict):
        raise invalid("ConfigurationUpdates must be an object.")
    new = copy.deepcopy(config)
    for key, value in updates.items():
        if value is None:
            continue
        if key == "ResultConfigurationUpdates":
            new["ResultConfiguration"] = _apply_result_updates(new.get("ResultConfiguration") or {}, value)
        elif key == "BytesScannedCutoffPerQuery":
            new[key] = _validate_cutoff(value)
        elif key == "RemoveBytesScannedCutoffPerQuery":
            if value:
                new.pop("BytesScannedCutoffPerQuery", None)
        elif key == "EngineVersion":
            new[key] = _validate_engine_version(value)
        elif key == "RemoveCustomerContentEncryptionConfiguration":
            if value:
                new.pop("CustomerContentEncryptionConfiguration", None)
        elif key == "ManagedQueryResultsConfigurationUpdates":
            new["ManagedQueryResultsConfiguration"] = {k: v for k, v in value.items()
                                                       if k != "RemoveEncryptionConfiguration"}
        else:
            new[key] = copy.deepcopy(value)
    return new


def _apply_result_updates(result: dict[str, Any], updates: Any) -> dict[str, Any]:
    if not isinstance(updates, dict):
        raise invalid("ResultConfigurationUpdates must be an object.")
    new = dict(result)
    for member in ("OutputLocation", "EncryptionConfiguration", "ExpectedBucketOwner", "AclConfiguration"):
        if updates.get(f"Remove{member}"):
            new.pop(member, None)
        if updates.get(member) is not None:
            value = updates[member]
            if member == "OutputLocation":
                value = validate_output_location(value)
            elif member == "EncryptionConfiguration":
                value = validate_encryption(value)
            new[member] = value
    return new


def validate_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise validation("name", "Member must satisfy regular expression pattern: [a-zA-Z0-9._-]{1,128}", name)
    return name


class WorkGroups:
    """The workgroups of every region of the sandbox account."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_region: dict[str, dict[str, WorkGroup]] = {}

    def _region(self, region: str) -> dict[str, WorkGroup]:
        groups = self._by_region.get(region)
        if groups is None:
            groups = self._by_region[region] = {
                PRIMARY: WorkGroup(PRIMARY, _default_configuration(), created=time.time())}
        return groups

    def reset(self) -> None:
        with self._lock:
            self._by_region.clear()

    def get(self, region: str, name: str) -> WorkGroup:
        """The workgroup, or ``InvalidRequestException: WorkGroup <name> is not found.``"""
        with self._lock:
            group = self._region(region).get(name)
        if group is None:
            raise workgroup_not_found(name)
        return group

    def create(self, region: str, name: Any, configuration: Any, description: Any, tags: Any) -> WorkGroup:
        name = validate_name(name)
        group = WorkGroup(name, build_configuration(configuration), description=description,
                          tags=list(tags or []))
        with self._lock:
            groups = self._region(region)
            if name in groups:
                raise invalid(f"WorkGroup {name} is already created.")
            groups[name] = group
        return group

    def update(self, region: str, name: str, updates: dict[str, Any]) -> WorkGroup:
        with self._lock:
            group = self._region(region).get(name)
            if group is None:
                raise workgroup_not_found(name)
            if updates.get("ConfigurationUpdates") is not None:
                group.configuration = apply_configuration_updates(group.configuration,
                                                                  updates["ConfigurationUpdates"])
            if updates.get("Description") is not None:
                group.description = updates["Description"]
            if updates.get("State") is not None:
                if updates["State"] not in ("ENABLED", "DISABLED"):
                    raise validation("state", "Member must satisfy enum value set: [ENABLED, DISABLED]",
                                     updates["State"])
                group.state = updates["State"]
        return group

    def delete(self, region: str, name: str) -> None:
        with self._lock:
            groups = self._region(region)
            if name not in groups:
                raise workgroup_not_found(name)
            if name == PRIMARY:
                raise invalid("The primary workgroup cannot be deleted.")
            del groups[name]

    def list(self, region: str) -> list[WorkGroup]:
        """Every workgroup of the region, sorted by name as Athena lists them."""
        with self._lock:
            return sorted(self._region(region).values(), key=lambda g: g.name)


def resolve_result_configuration(group: WorkGroup, client: dict[str, Any] | None) -> dict[str, Any]:
    """The result configuration a query runs with, from its workgroup and the client's request.

    An enforced workgroup's settings replace the client's (AWS: "Override client-side settings");
    otherwise the client's win and the workgroup's fill the gaps.

    Raises
    ------
    AthenaApiError
        When neither gives an output location, with Athena's message.
    """
    client = client or {}
    wg = group.result_configuration
    if group.enforced:
        result = copy.deepcopy(wg)
        if "OutputLocation" not in wg and client.get("OutputLocation"):
            result["OutputLocation"] = client["OutputLocation"]
    else:
        result = {**wg, **{k: v for k, v in client.items() if v is not None}}
    if not result.get("OutputLocation"):
        raise invalid("No output location provided. An output location is required either through the Workgroup "
                      "result configuration setting or as an API input.")
    return result
