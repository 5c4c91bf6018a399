"""Seed a deterministic history of GuardDuty findings through the sandbox's publishing destinations.

``POST /_gdnb/seed`` (``gdnb sandbox seed``) writes ``days`` days of findings (ending ``end``, by default
yesterday UTC) for each region, as GuardDuty would have exported them:

* ``findings_per_day`` new findings per day and region, a weighted mix of types (many port probes,
  brute force and other reconnaissance, few exfiltrations) with severities in every band (an
  AttackSequence, Critical, every week in each region);
* updates: some findings recur on later days and are exported again, same id, higher ``service.count``,
  later ``updatedAt``/``eventLastSeen``, in the later day's objects;
* with ``accounts``, part of the findings belong to member accounts (``accountId`` is the member, the
  key is still ``AWSLogs/<exporting account>/...``);
* planted incidents whose ground truth goes to the manifest: a multi-day DNS data exfiltration from
  one instance to one domain, an instance-credential exfiltration (an access key used from outside
  AWS) and an S3 exfiltration from a malicious IP.

Each day and region is exported in a few objects (GuardDuty writes several a day); every finding row
of an object has ``updatedAt`` on the object's date, before the object's time slot ends. The same
request (seed, days, end, regions, accounts, findings per day) writes the same objects (same keys, same
bytes), so seeding twice changes nothing.

The manifest (JSON, path in the reply) is described by :data:`MANIFEST_SCHEMA`.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import logging
import math
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gdnb.sandbox.findings import catalog as cat
from gdnb.sandbox.findings.builder import FindingFactory, Hints, Timing, finding_id, iso_ms, iso_s
from gdnb.sandbox.findings.world import Principal, build_world
from gdnb.sandbox.guardduty import exporter
from gdnb.sandbox.guardduty.destinations import validate_destination
from gdnb.sandbox.guardduty.store import Destination, GuardDutyStore, moto_detector_ids
from gdnb.sandbox.guardduty.wire import BadRequest

if TYPE_CHECKING:
    from gdnb.sandbox.server import Gateway

log = logging.getLogger(__name__)

DAY_MS = 86_400_000
MAX_DAYS = 400
MAX_FINDINGS_PER_DAY = 50_000
MANIFEST_VERSION = 1

MANIFEST_SCHEMA = {
    "version": "int: manifest format version (1)",
    "request": "object: the seeding request as applied (days, findings_per_day, seed, regions, accounts, start, end)",
    "exporting_account": "str: the account of the detectors that export (the AWSLogs/<account>/ key segment)",
    "regions": "list[str]: the regions seeded, in order",
    "accounts": "list[str]: every accountId that appears in findings (the exporting account first, then members)",
    "destinations": "list[{region, detector_id, destination_id, bucket, prefix, kms_key_arn, location}]: "
                    "where each region exported (location = s3://bucket/[prefix/]AWSLogs/<account>/GuardDuty/<region>/)",
    "objects": "list[{bucket, key, region, day, rows, destination_id, size}]: every object written "
               "(each destination of a region receives the same rows)",
    "counts": "{all_rows: C, latest: C}; C = {total, by_day, by_region, by_type, by_severity_band, by_account} "
              "where all_rows counts every exported row (updates included) and latest counts each finding id once, "
              "under its last export (day = the date folder of that export); counts are per destination",
    "cells_columns": "list[str]: the columns of cells: day, region, account_id, type, severity_band, rows, latest",
    "cells": "list[list]: one row per (day, region, account_id, type, severity_band) with its all_rows and latest "
             "counts, to group by anything",
    "incidents": "list[incident]: the planted incidents; every incident has kind, type, finding_id, region, "
                 "account_id, severity, days (export dates), counts (service.count at each export), exports, "
                 "first_seen, last_seen and the resource/actor fields of its kind (see the kinds below)",
    "incident_kinds": {
        "dns_exfiltration": "instance_id, domain, protocol",
        "instance_credential_exfiltration": "access_key_id, principal_id, user_name, user_type, instance_id (whose "
                                            "role credentials were taken), api, service_name, remote_ip, country, "
                                            "city, asn, asn_org",
        "s3_exfiltration": "bucket, access_key_id, principal_id, user_name, api, service_name, remote_ip, country, "
                           "city, asn, asn_org",
    },
    "severity_bands": "{band: [low, high]}: Low 1.0-3.9, Medium 4.0-6.9, High 7.0-8.9, Critical 9.0-10.0",
}

_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
_ACCOUNT = re.compile(r"^\d{12}$")

# Background mix: relative weights of types (by name; retired types 0.05; exfiltration 0.1; then by
# threat purpose); everything else weighs 0.5.
_TYPE_WEIGHTS = {
    "Recon:EC2/PortProbeUnprotectedPort": 30.0,
    "UnauthorizedAccess:EC2/SSHBruteForce": 12.0,
    "UnauthorizedAccess:EC2/RDPBruteForce": 6.0,
    "Recon:EC2/Portscan": 4.0,
    "Recon:EC2/PortProbeEMRUnprotectedPort": 2.0,
    "Policy:IAMUser/RootCredentialUsage": 3.0,
    "UnauthorizedAccess:EC2/MaliciousIPCaller.Custom": 3.0,
    "Backdoor:EC2/C&CActivity.B!DNS": 1.5,
    "CryptoCurrency:EC2/BitcoinTool.B!DNS": 1.5,
    "Trojan:EC2/DNSDataExfiltration": 0.1,
    "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS": 0.1,
}
_PREFIX_WEIGHTS = {"Recon:": 2.0, "UnauthorizedAccess:": 1.5, "Discovery:": 1.0, "Exfiltration:": 0.1,
                   "AttackSequence:": 0.0}
_RECUR = {cat.EC2_NETWORK: 0.35, cat.EC2_DNS: 0.3, cat.IAM_API: 0.2, cat.S3_API: 0.2, cat.EKS_AUDIT: 0.15,
          cat.RUNTIME: 0.15}


class SeedError(ValueError):
    """The seeding request cannot be applied (bad argument, region without detector or destination)."""


@dataclasses.dataclass(frozen=True)
class SeedRequest:
    """A validated seeding request."""

    days: int
    findings_per_day: int
    seed: int
    regions: tuple[str, ...] | None
    accounts: tuple[str, ...]
    end: dt.date

    @property
    def start(self) -> dt.date:
        return self.end - dt.timedelta(days=self.days - 1)


@dataclasses.dataclass(frozen=True)
class RegionTarget:
    """A region to seed: its detector and the destinations it exports to."""

    region: str
    detector_id: str
    destinations: tuple[Destination, ...]


def parse_request(body: dict[str, Any], today: dt.date | None = None) -> SeedRequest:
    """Validate the control route's JSON body (``days, findings_per_day, seed, regions, accounts, end``)."""
    def integer(name: str, default: int, low: int, high: int) -> int:
        value = body.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise SeedError(f"{name} must be an integer, not {value!r}.")
        if not low <= value <= high:
            raise SeedError(f"{name} must be between {low} and {high}, not {value}.")
        return value

    days = integer("days", 30, 1, MAX_DAYS)
    per_day = integer("findings_per_day", 100, 0, MAX_FINDINGS_PER_DAY)
    seed = integer("seed", 7, 0, 2**31 - 1)
    regions = body.get("regions")
    if regions is not None:
        if isinstance(regions, str):
            regions = [r for r in regions.split(",") if r]
        if not isinstance(regions, list) or not regions:
            raise SeedError("regions must be a non-empty list of region names, e.g. [\"us-east-1\"].")
        bad = [r for r in regions if not isinstance(r, str) or not _REGION.match(r)]
        if bad:
            raise SeedError(f"not a region name: {', '.join(map(repr, bad))} (expected names like us-east-1).")
        regions = tuple(dict.fromkeys(regions))
    accounts = body.get("accounts") or []
    if isinstance(accounts, str):
        accounts = [a for a in accounts.split(",") if a]
    bad = [a for a in accounts if not isinstance(a, str) or not _ACCOUNT.match(a)]
    if bad:
        raise SeedError(f"not a 12-digit account id: {', '.join(map(repr, bad))}.")
    end_raw = body.get("end")
    if end_raw in (None, ""):
        end = (today or dt.datetime.now(dt.UTC).date()) - dt.timedelta(days=1)
    else:
        try:
            end = dt.date.fromisoformat(str(end_raw))
        except ValueError as exc:
            raise SeedError(f"end must be a date YYYY-MM-DD, not {end_raw!r}.") from exc
    return SeedRequest(days=days, findings_per_day=per_day, seed=seed, regions=regions,
                       accounts=tuple(dict.fromkeys(accounts)), end=end)


def resolve_targets(store: GuardDutyStore, account_id: str, regions: tuple[str, ...] | None) -> list[RegionTarget]:
    """The detector and destinations of each region; :class:`SeedError` naming what a region lacks."""
    if regions is None:
        from moto.guardduty.models import guardduty_backends

        found = sorted(r for r, backend in guardduty_backends[account_id].items() if backend.detectors)
        targets = [t for r in found for t in [_target(store, account_id, r, strict=False)] if t]
        if not targets:
            raise SeedError(f"No region of account {account_id} has a GuardDuty detector with a publishing "
                            "destination. Create a detector and a publishing destination (S3 bucket and KMS key, "
                            "e.g. with the 01_bucket_and_export notebook) first, or name the regions to seed.")
        return targets
    return [t for r in regions for t in [_target(store, account_id, r, strict=True)] if t]


def _target(store: GuardDutyStore, account_id: str, region: str, strict: bool) -> RegionTarget | None:
    detector_ids = moto_detector_ids(account_id, region)
    if not detector_ids:
        if not strict:
            return None
        raise SeedError(f"Region {region} has no GuardDuty detector in account {account_id}, so nothing can be "
                        f"exported there. Create one (aws guardduty create-detector --enable --region {region}) and "
                        "a publishing destination, or leave the region out.")
    for detector_id in detector_ids:
        det = store.detector(account_id, region, detector_id)
        if det.destinations:
            dests = tuple(det.destinations.values())
            for dest in dests:
                try:
                    validate_destination(det, "S3", {"destinationArn": dest.destination_arn,
                                                     "kmsKeyArn": dest.kms_key_arn,
                                                     "expectedBucketOwner": dest.expected_bucket_owner})
                except BadRequest as exc:
                    raise SeedError(f"Region {region}: publishing destination {dest.destination_id} of detector "
                                    f"{detector_id} cannot receive the export any more: {exc.message}") from exc
            return RegionTarget(region, detector_id, dests)
    if not strict:
        return None
    raise SeedError(f"Region {region} has a GuardDuty detector ({', '.join(detector_ids)}) but no publishing "
                    "destination, so GuardDuty exports nothing there. Create one (create-publishing-destination "
                    f"with an S3 bucket and a KMS key, --region {region}), or leave the region out.")


def seed_control(gateway: Gateway, store: GuardDutyStore, body: dict[str, Any]) -> tuple[int, Any]:
    """The ``POST /_gdnb/seed`` control route."""
    try:
        request = parse_request(body)
        targets = resolve_targets(store, gateway.account_id, request.regions)
    except SeedError as exc:
        return 400, {"error": str(exc)}
    result = seed_history(request, targets, gateway.account_id, gateway.data_dir)
    return 200, result


def seed_history(request: SeedRequest, targets: list[RegionTarget], exporting_account: str,
                 data_dir: Path) -> dict[str, Any]:
    """Generate and export the history; write the manifest; return the reply (counts, manifest path, objects)."""
    started = time.perf_counter()
    history = History(request, exporting_account, [t.region for t in targets],
                      {t.region: t.detector_id for t in targets})
    by_region = {t.region: t for t in targets}
    objects: list[exporter.WrittenObject] = []
    for batch in history.batches():
        body, rows = exporter.encode_jsonl_gz(batch.findings)
        for n, dest in enumerate(by_region[batch.region].destinations):
            object_uuid = _object_uuid(request.seed, batch.region, batch.day, batch.slot, n)
            key = exporter.object_key(dest.prefix, exporting_account, batch.region, batch.day, object_uuid)
            exporter.put_export_object(dest, key, body)
            objects.append(exporter.WrittenObject(dest.bucket, key, batch.region, batch.day.isoformat(), rows,
                                                  dest.destination_id, len(body)))
    manifest = history.manifest(targets, objects)
    path = write_manifest(data_dir, request, manifest)
    elapsed = time.perf_counter() - started
    counts = manifest["counts"]
    log.info("seeded %d findings (%d rows) in %d objects in %.1f s", counts["latest"]["total"],
             counts["all_rows"]["total"], len(objects), elapsed)
    return {
        "manifest_path": str(path),
        "regions": manifest["regions"],
        "start": request.start.isoformat(),
        "end": request.end.isoformat(),
        "findings": counts["latest"]["total"],
        "rows": counts["all_rows"]["total"],
        "objects_written": len(objects),
        "seconds": round(elapsed, 3),
        "rows_per_second": round(counts["all_rows"]["total"] / elapsed, 1) if elapsed else None,
        "incidents": [{k: i[k] for k in ("kind", "type", "finding_id", "region", "days")}
                      for i in manifest["incidents"]],
        "objects": [o.as_dict() for o in objects],
        "manifest": manifest,
    }


def write_manifest(data_dir: Path, request: SeedRequest, manifest: dict[str, Any]) -> Path:
    """Write the manifest as ``<data_dir>/seed/manifest-<run>.json`` and as ``seed/manifest.json`` (the latest)."""
    folder = Path(data_dir) / "seed"
    folder.mkdir(parents=True, exist_ok=True)
    run = hashlib.sha256(json.dumps(manifest["request"], sort_keys=True).encode()).hexdigest()[:10]
    text = json.dumps(manifest, separators=(",", ":"))
    path = folder / f"manifest-{request.end.isoformat()}-seed{request.seed}-{run}.json"
    for target in (path, folder / "manifest.json"):
        tmp = target.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(target)
    return path


def _object_uuid(seed: int, region: str, day: dt.date, slot: int, dest_index: int) -> str:
    digest = hashlib.sha256(f"{seed}/{region}/{day.isoformat()}/{slot}/{dest_index}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


# -- the history ---------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Batch:
    """The rows of one export object (before it is copied to each destination)."""

    region: str
    day: dt.date
    slot: int
    findings: list[dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class _Row:
    time_ms: int
    finding: dict[str, Any]


class History:
    """The deterministic history of one request: rows per region and day, planted incidents, counts."""

    def __init__(self, request: SeedRequest, exporting_account: str, regions: list[str],
                 detector_ids: dict[str, str]) -> None:
        self.request = request
        self.exporting_account = exporting_account
        self.regions = regions
        self.accounts = [exporting_account, *[a for a in request.accounts if a != exporting_account]]
        self._detector_ids = dict(detector_ids)
        self._factories: dict[tuple[str, str], FindingFactory] = {}
        types = cat.finding_types()
        self._types = types
        self._band_pool = {band: [t for t in types if t.bands[0] == band] for band in cat.SEVERITY_BANDS}
        weights = [self._weight(t) for t in types]
        self._cum = list(itertools.accumulate(weights))
        self._days = [request.start + dt.timedelta(days=n) for n in range(request.days)]
        self._day_index = {d: n for n, d in enumerate(self._days)}
        self._updates: dict[tuple[int, int], list[tuple[int, int, int, int]]] = {}
        self._planted: dict[tuple[int, int], list[Callable[[], _Row]]] = {}
        self.incidents: list[dict[str, Any]] = []
        self._all: Counter[tuple[str, str, str, str, str]] = Counter()
        self._latest: dict[str, tuple[str, str, str, str, str]] = {}
        self._plan_incidents()

    # -- weights and factories --------------------------------------------------------------------------
    @staticmethod
    def _weight(t: cat.FindingType) -> float:
        if t.name in _TYPE_WEIGHTS:
            return _TYPE_WEIGHTS[t.name]
        if t.retired:
            return 0.05
        if "Exfiltration" in t.name:  # rare, and what the exfiltration queries look for
            return 0.1
        for prefix, weight in _PREFIX_WEIGHTS.items():
            if t.name.startswith(prefix):
                return weight
        return 0.5

    def _factory(self, account: str, region: str) -> FindingFactory:
        key = (account, region)
        factory = self._factories.get(key)
        if factory is None:
            detector_id = self._detector_ids[region] if account == self.exporting_account else \
                hashlib.md5(f"{account}/{region}".encode()).hexdigest()
            factory = self._factories[key] = FindingFactory(self.request.seed, account, region, detector_id)
        return factory

    def _day_start_ms(self, day_index: int) -> int:
        day = self._days[day_index]
        return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)

    # -- background findings --------------------------------------------------------------------------
    def _finding_seed(self, region_index: int, day_index: int, index: int) -> int:
        return ((self.request.seed * 1009 + region_index) * 1_000_003 + day_index) * 10_000_019 + index

    def _new_finding(self, region_index: int, day_index: int, index: int) -> tuple[_Row, random.Random]:
        """Finding ``index`` created on ``day_index`` in a region: the same arguments give the same finding."""
        rng = random.Random(self._finding_seed(region_index, day_index, index))
        ftype = self._pick_type(rng, day_index, index)
        account = self.accounts[0] if len(self.accounts) == 1 or rng.random() < 0.6 else rng.choice(self.accounts[1:])
        created = self._day_start_ms(day_index) + rng.randrange(0, DAY_MS - 1_200_000)
        fid = finding_id(rng)
        first_seen = created - rng.randrange(0, 1_800_000)
        last_seen = max(first_seen, created - rng.randrange(0, 300_000))
        count = 1 if rng.random() < 0.7 else rng.randint(2, 12)
        factory = self._factory(account, self.regions[region_index])
        body = factory.build(ftype, rng, fid, Timing(created, created, first_seen, last_seen), count=count)
        return _Row(created, body), rng

    def _pick_type(self, rng: random.Random, day_index: int, index: int) -> cat.FindingType:
        # Every band shows up: the first findings of a day cover Low/Medium/High, and once a week an
        # AttackSequence (the only Critical types) is the first.
        if index == 0 and day_index % 7 == 3:
            return rng.choice(self._band_pool["Critical"])
        if index < 3:
            return rng.choice(self._band_pool[("Low", "Medium", "High")[index]])
        return self._types[bisect.bisect_right(self._cum, rng.random() * self._cum[-1])]

    def _schedule_updates(self, rng: random.Random, row: _Row, region_index: int, day_index: int, index: int) -> None:
        finding = row.finding
        family = cat.types_by_name()[finding["type"]].family
        if rng.random() >= _RECUR.get(family, 0.1):
            return
        count = finding["service"]["count"]
        day = day_index
        for _ in range(rng.randint(1, 3)):
            day += rng.randint(1, 5)
            if day >= len(self._days):
                break
            count += rng.randint(1, 25)
            when = self._day_start_ms(day) + rng.randrange(0, DAY_MS - 60_000)
            self._updates.setdefault((region_index, day), []).append((day_index, index, count, when))

    def _updated(self, region_index: int, origin_day: int, index: int, count: int, when: int) -> _Row:
        base, _ = self._new_finding(region_index, origin_day, index)
        f = base.finding
        service = {**f["service"], "count": count, "eventLastSeen": iso_s(when - 60_000 * (1 + count % 5))}
        return _Row(when, {**f, "service": service, "updatedAt": iso_ms(when)})

    # -- planted incidents -------------------------------------------------------------------------------
    def _plan_incidents(self) -> None:
        req = self.request
        rng = random.Random(f"gdnb-incidents-{req.seed}")
        n_days = len(self._days)
        n_regions = len(self.regions)
        last = n_days - 1
        self._plant_dns_exfiltration(rng, region_index=0, days=list(range(max(0, last - 4), last + 1)))
        cred_day = max(0, last - 2)
        self._plant_credential_exfiltration(rng, region_index=1 % n_regions,
                                            days=[d for d in (cred_day, cred_day + 1) if d <= last])
        self._plant_s3_exfiltration(rng, region_index=2 % n_regions, days=[max(0, last - 1)])

    def _incident(self, kind: str, type_name: str, region_index: int, days: list[int], counts: list[int],
                  times: list[int], make: Callable[[int, int, int], dict[str, Any]], fields: dict[str, Any]) -> None:
        """Register an incident: ``make(count, updated_ms, created_ms)`` builds its finding at each export."""
        created = times[0]
        for day, count, when in zip(days, counts, times, strict=True):
            self._planted.setdefault((region_index, day), []).append(
                lambda c=count, w=when: _Row(w, make(c, w, created)))
        probe = make(counts[0], times[0], created)
        self.incidents.append({
            "kind": kind, "type": type_name, "finding_id": probe["id"], "region": self.regions[region_index],
            "account_id": probe["accountId"], "severity": probe["severity"],
            "days": [self._days[d].isoformat() for d in days], "counts": counts, "exports": len(days),
            "first_seen": probe["service"]["eventFirstSeen"], "last_seen": iso_s(times[-1] - 120_000),
            **fields,
        })

    def _times(self, rng: random.Random, days: list[int]) -> list[int]:
        return [self._day_start_ms(d) + rng.randrange(3_600_000, DAY_MS - 3_600_000) for d in days]

    def _plant_dns_exfiltration(self, rng: random.Random, region_index: int, days: list[int]) -> None:
        type_name = "Trojan:EC2/DNSDataExfiltration"
        region = self.regions[region_index]
        world = build_world(self.request.seed, self.exporting_account, region)
        instance = rng.choice(world.instances)
        domain = f"{rng.getrandbits(24):06x}.exfil-{rng.getrandbits(16):04x}.example"
        counts = list(itertools.accumulate(rng.randint(40, 300) for _ in days))
        times = self._times(rng, days)
        fid = finding_id(rng)
        body_seed = rng.getrandbits(64)
        factory = self._factory(self.exporting_account, region)
        ftype = cat.types_by_name()[type_name]

        def make(count: int, when: int, created: int) -> dict[str, Any]:
            hints = Hints(instance=instance, domain=domain, severity=8)
            timing = Timing(created, when, created - 1_200_000, when - 120_000)
            return factory.build(ftype, random.Random(body_seed), fid, timing, count=count, hints=hints)

        self._incident("dns_exfiltration", type_name, region_index, days, counts, times, make,
                       {"instance_id": instance.instance_id, "domain": domain, "protocol": "UDP"})

    def _remote_fields(self, remote: Any) -> dict[str, Any]:
        d = remote.details
        return {"remote_ip": remote.ip, "country": d["country"]["countryName"], "city": d["city"]["cityName"],
                "asn": d["organization"]["asn"], "asn_org": d["organization"]["asnOrg"]}

    def _plant_credential_exfiltration(self, rng: random.Random, region_index: int, days: list[int]) -> None:
        type_name = "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"
        region = self.regions[region_index]
        world = build_world(self.request.seed, self.exporting_account, region)
        instance = rng.choice(world.instances)
        session = instance.instance_id
        principal = Principal("ec2-app-role", "AssumedRole", "ASIA" + f"{rng.getrandbits(80):020X}"[:16],
                              "AROA" + f"{rng.getrandbits(90):023X}"[:17] + ":" + session,
                              f"arn:aws:sts::{self.exporting_account}:assumed-role/ec2-app-role/{session}")
        remote = world.remote_ips[rng.randrange(len(world.remote_ips))]
        api = ("ListBuckets", "s3.amazonaws.com")
        counts = list(itertools.accumulate(rng.randint(5, 60) for _ in days))
        times = self._times(rng, days)
        fid = finding_id(rng)
        body_seed = rng.getrandbits(64)
        factory = self._factory(self.exporting_account, region)
        ftype = cat.types_by_name()[type_name]

        def make(count: int, when: int, created: int) -> dict[str, Any]:
            hints = Hints(principal=principal, remote_ip=remote, api=api, severity=8)
            timing = Timing(created, when, created - 900_000, when - 120_000)
            return factory.build(ftype, random.Random(body_seed), fid, timing, count=count, hints=hints)

        self._incident("instance_credential_exfiltration", type_name, region_index, days, counts, times, make,
                       {"access_key_id": principal.access_key_id, "principal_id": principal.principal_id,
                        "user_name": principal.user_name, "user_type": principal.user_type,
                        "instance_id": instance.instance_id, "api": api[0], "service_name": api[1],
                        **self._remote_fields(remote)})

    def _plant_s3_exfiltration(self, rng: random.Random, region_index: int, days: list[int]) -> None:
        type_name = "Exfiltration:S3/MaliciousIPCaller"
        region = self.regions[region_index]
        world = build_world(self.request.seed, self.exporting_account, region)
        bucket = rng.choice(world.buckets)
        principal = Principal("svc-reporting", "IAMUser", "AKIA" + f"{rng.getrandbits(80):020X}"[:16],
                              "AIDA" + f"{rng.getrandbits(90):023X}"[:17],
                              f"arn:aws:iam::{self.exporting_account}:user/svc-reporting")
        remote = world.remote_ips[rng.randrange(len(world.remote_ips))]
        api = ("GetObject", "s3.amazonaws.com")
        counts = [rng.randint(200, 900) for _ in days]
        times = self._times(rng, days)
        fid = finding_id(rng)
        body_seed = rng.getrandbits(64)
        factory = self._factory(self.exporting_account, region)
        ftype = cat.types_by_name()[type_name]

        def make(count: int, when: int, created: int) -> dict[str, Any]:
            hints = Hints(principal=principal, remote_ip=remote, api=api, bucket=bucket, severity=8)
            timing = Timing(created, when, created - 3_600_000, when - 120_000)
            return factory.build(ftype, random.Random(body_seed), fid, timing, count=count, hints=hints)

        self._incident("s3_exfiltration", type_name, region_index, days, counts, times, make,
                       {"bucket": bucket.name, "access_key_id": principal.access_key_id,
                        "principal_id": principal.principal_id, "user_name": principal.user_name,
                        "api": api[0], "service_name": api[1], **self._remote_fields(remote)})

    # -- export batches --------------------------------------------------------------------------------
    def batches(self) -> Iterator[Batch]:
        """The export objects' contents, region by region and day by day (each counted as it is made)."""
        for region_index, region in enumerate(self.regions):
            for day_index, day in enumerate(self._days):
                rows = []
                for index in range(self.request.findings_per_day):
                    row, rng = self._new_finding(region_index, day_index, index)
                    self._schedule_updates(rng, row, region_index, day_index, index)
                    rows.append(row)
                for origin_day, index, count, when in self._updates.pop((region_index, day_index), []):
                    rows.append(self._updated(region_index, origin_day, index, count, when))
                rows.extend(make() for make in self._planted.get((region_index, day_index), []))
                if not rows:
                    continue
                rows.sort(key=lambda r: r.time_ms)
                slots = max(1, min(len(rows), 8, max(3, math.ceil(len(rows) / 200))))
                start = self._day_start_ms(day_index)
                width = DAY_MS / slots
                grouped: dict[int, list[dict[str, Any]]] = {}
                for row in rows:
                    grouped.setdefault(min(slots - 1, int((row.time_ms - start) // width)), []).append(row.finding)
                for slot, findings in sorted(grouped.items()):
                    self._count(day, region, findings)
                    yield Batch(region, day, slot, findings)

    def _count(self, day: dt.date, region: str, findings: list[dict[str, Any]]) -> None:
        day_s = day.isoformat()
        for f in findings:
            cell = (day_s, region, f["accountId"], f["type"], cat.severity_band(f["severity"]))
            self._all[cell] += 1
            self._latest[f["id"]] = cell

    # -- manifest -------------------------------------------------------------------------------------
    def manifest(self, targets: list[RegionTarget], objects: list[exporter.WrittenObject]) -> dict[str, Any]:
        """The ground truth of what :meth:`batches` produced (call after consuming it)."""
        latest: Counter[tuple[str, str, str, str, str]] = Counter(self._latest.values())
        req = self.request
        cells = [[*cell, self._all[cell], latest.get(cell, 0)] for cell in sorted(self._all)]
        used_accounts = sorted({c[2] for c in self._all}, key=lambda a: (a != self.exporting_account, a))
        return {
            "version": MANIFEST_VERSION,
            "request": {"days": req.days, "findings_per_day": req.findings_per_day, "seed": req.seed,
                        "regions": list(self.regions), "accounts": list(req.accounts),
                        "start": req.start.isoformat(), "end": req.end.isoformat()},
            "exporting_account": self.exporting_account,
            "regions": list(self.regions),
            "accounts": used_accounts,
            "destinations": [{"region": t.region, "detector_id": t.detector_id, "destination_id": d.destination_id,
                              "bucket": d.bucket, "prefix": d.prefix, "kms_key_arn": d.kms_key_arn,
                              "location": f"s3://{d.bucket}/{d.prefix + '/' if d.prefix else ''}AWSLogs/"
                                          f"{self.exporting_account}/GuardDuty/{t.region}/"}
                             for t in targets for d in t.destinations],
            "objects": [o.as_dict() for o in objects],
            "counts": {"all_rows": _totals(self._all), "latest": _totals(latest)},
            "cells_columns": ["day", "region", "account_id", "type", "severity_band", "rows", "latest"],
            "cells": cells,
            "incidents": self.incidents,
            "severity_bands": {band: list(bounds) for band, bounds in cat.SEVERITY_BANDS.items()},
        }


def _totals(counter: Counter[tuple[str, str, str, str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {"total": sum(counter.values())}
    for name, position in (("by_day", 0), ("by_region", 1), ("by_account", 2), ("by_type", 3),
                           ("by_severity_band", 4)):
        acc: Counter[str] = Counter()
        for cell, n in counter.items():
            acc[cell[position]] += n
        out[name] = dict(sorted(acc.items()))
    return out

