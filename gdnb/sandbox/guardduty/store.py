"""What the GuardDuty extension remembers: publishing destinations and findings, per detector.

Detectors themselves stay in moto; this store keys its state by (account, region, detector id) and
asks moto whether a detector exists before every use, so a deleted detector takes its destinations
and findings with it.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from gdnb.sandbox.guardduty.wire import UNKNOWN_DETECTOR, BadRequest

# PublishingStatus values (botocore's model: PENDING_VERIFICATION | PUBLISHING |
# UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY | STOPPED); the sandbox uses the two an export decides.
PUBLISHING = "PUBLISHING"
UNABLE_TO_PUBLISH = "UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY"


@dataclasses.dataclass
class Destination:
    """A publishing destination (an S3 bucket and prefix, and the KMS key the export uses).

    ``status`` turns to :data:`UNABLE_TO_PUBLISH` when an export finds the destination unusable (its bucket
    policy, key or key policy changed since it was created), with ``publishing_failure_start`` the epoch
    milliseconds of the first failed export; the next export that can go through sets both back.
    """

    destination_id: str
    destination_arn: str
    kms_key_arn: str
    bucket: str
    prefix: str  # without leading or trailing "/"; "" for none
    bucket_account: str
    expected_bucket_owner: str | None = None
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    status: str = PUBLISHING
    publishing_failure_start: int = 0

    def mark_publishing(self) -> None:
        self.status, self.publishing_failure_start = PUBLISHING, 0

    def mark_unable_to_publish(self, now_ms: int) -> None:
        if self.status != UNABLE_TO_PUBLISH:  # the failure started at the first failed export
            self.status, self.publishing_failure_start = UNABLE_TO_PUBLISH, now_ms

    def describe(self) -> dict[str, Any]:
        props: dict[str, Any] = {"destinationArn": self.destination_arn, "kmsKeyArn": self.kms_key_arn}
        if self.expected_bucket_owner:
            props["expectedBucketOwner"] = self.expected_bucket_owner
        return {"destinationId": self.destination_id, "destinationType": "S3", "status": self.status,
                "publishingFailureStartTimestamp": self.publishing_failure_start, "destinationProperties": props,
                "tags": self.tags}

    def summary(self) -> dict[str, Any]:
        return {"destinationId": self.destination_id, "destinationType": "S3", "status": self.status}


@dataclasses.dataclass
class DetectorState:
    """The extension's state of one detector."""

    account_id: str
    region: str
    detector_id: str
    destinations: dict[str, Destination] = dataclasses.field(default_factory=dict)
    findings: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    sample_ids: dict[str, str] = dataclasses.field(default_factory=dict)  # finding type -> sample finding id

    @property
    def arn(self) -> str:
        return f"arn:aws:guardduty:{self.region}:{self.account_id}:detector/{self.detector_id}"


class GuardDutyStore:
    """All detectors' state, guarded by one lock (the sandbox serves requests on many threads)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._detectors: dict[tuple[str, str, str], DetectorState] = {}

    def reset(self) -> None:
        with self.lock:
            self._detectors.clear()

    def detector(self, account_id: str, region: str, detector_id: str) -> DetectorState:
        """The state of a detector moto knows; :class:`BadRequest` (as the service answers) otherwise."""
        if detector_id not in moto_detector_ids(account_id, region):
            with self.lock:
                self._detectors.pop((account_id, region, detector_id), None)
            raise BadRequest(UNKNOWN_DETECTOR)
        with self.lock:
            key = (account_id, region, detector_id)
            state = self._detectors.get(key)
            if state is None:
                state = self._detectors[key] = DetectorState(account_id, region, detector_id)
            return state

    def detectors_in(self, account_id: str, region: str) -> list[DetectorState]:
        """The states of every detector moto has in ``region`` (creating empty ones as needed)."""
        return [self.detector(account_id, region, d) for d in moto_detector_ids(account_id, region)]


def moto_detector_ids(account_id: str, region: str) -> list[str]:
    """The ids of moto's detectors in one account and region."""
    from moto.guardduty.models import guardduty_backends

    try:
        return list(guardduty_backends[account_id][region].detectors)
    except KeyError:  # a region moto does not know has no detectors
        return []
