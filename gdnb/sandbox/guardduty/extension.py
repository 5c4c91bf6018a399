"""The GuardDuty operations moto lacks, served with the wire shapes of botocore's model.

Claimed here (everything else of GuardDuty, detectors included, stays with moto):

=================================  ======  =====================================================
operation                          method  path
=================================  ======  =====================================================
CreatePublishingDestination        POST    /detector/{detectorId}/publishingDestination
ListPublishingDestinations         GET     /detector/{detectorId}/publishingDestination
DescribePublishingDestination      GET     /detector/{detectorId}/publishingDestination/{id}
UpdatePublishingDestination        POST    /detector/{detectorId}/publishingDestination/{id}
DeletePublishingDestination        DELETE  /detector/{detectorId}/publishingDestination/{id}
CreateSampleFindings               POST    /detector/{detectorId}/findings/create
ListFindings                       POST    /detector/{detectorId}/findings
GetFindings                        POST    /detector/{detectorId}/findings/get
ArchiveFindings                    POST    /detector/{detectorId}/findings/archive
UnarchiveFindings                  POST    /detector/{detectorId}/findings/unarchive
=================================  ======  =====================================================

Every finding created or updated (samples, seeded history) is exported to its detector's publishing
destination (one per detector, as on the service; :mod:`gdnb.sandbox.guardduty.exporter`), once the
destination has passed GuardDuty's checks again; one that fails them receives nothing and shows
``UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY`` until an export goes through. The control route
``POST /_gdnb/seed`` writes a history of findings (:mod:`gdnb.sandbox.seed`).
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import orjson

from gdnb.sandbox.guardduty import criteria, exporter, samples
from gdnb.sandbox.guardduty.destinations import ready_for_export, validate_destination
from gdnb.sandbox.guardduty.store import Destination, DetectorState, GuardDutyStore
from gdnb.sandbox.guardduty.wire import BadRequest, api_form, respond, respond_error
from gdnb.sandbox.requestinfo import RequestInfo

if TYPE_CHECKING:
    from gdnb.sandbox.server import Gateway, StartResponse

log = logging.getLogger(__name__)

_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/detector/([^/]+)/publishingDestination/?$"), "create_destination"),
    ("GET", re.compile(r"^/detector/([^/]+)/publishingDestination/?$"), "list_destinations"),
    ("GET", re.compile(r"^/detector/([^/]+)/publishingDestination/([^/]+)$"), "describe_destination"),
    ("POST", re.compile(r"^/detector/([^/]+)/publishingDestination/([^/]+)$"), "update_destination"),
    ("DELETE", re.compile(r"^/detector/([^/]+)/publishingDestination/([^/]+)$"), "delete_destination"),
    ("POST", re.compile(r"^/detector/([^/]+)/findings/create$"), "create_sample_findings"),
    ("POST", re.compile(r"^/detector/([^/]+)/findings$"), "list_findings"),
    ("POST", re.compile(r"^/detector/([^/]+)/findings/get$"), "get_findings"),
    ("POST", re.compile(r"^/detector/([^/]+)/findings/archive$"), "archive_findings"),
    ("POST", re.compile(r"^/detector/([^/]+)/findings/unarchive$"), "unarchive_findings"),
]


def install(gateway: Gateway) -> None:
    """Add the GuardDuty extension and the ``/_gdnb/seed`` control route to the gateway."""
    from gdnb.sandbox import seed

    ext = GuardDutyExtension(gateway)
    gateway.add_extension(ext)
    gateway.add_control("POST", "/_gdnb/seed", lambda body: seed.seed_control(gateway, ext.store, body))


class Call:
    """One request to the extension: the route's ids, the region, the account, the JSON body and query."""

    def __init__(self, environ: dict[str, Any], info: RequestInfo, ids: tuple[str, ...], account_id: str) -> None:
        self.ids = ids
        self.region = info.region or "us-east-1"
        self.account_id = account_id
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            self.body: dict[str, Any] = orjson.loads(raw) if raw.strip() else {}
        except orjson.JSONDecodeError as exc:
            raise BadRequest("The request is rejected because the request body is not valid JSON.") from exc
        if not isinstance(self.body, dict):
            raise BadRequest("The request is rejected because the request body is not a JSON object.")
        self.query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}


class GuardDutyExtension:
    """Publishing destinations, sample findings, list/get/archive findings, and the export."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.store = GuardDutyStore()

    # -- Extension protocol ---------------------------------------------------------------------
    def handles(self, info: RequestInfo) -> bool:
        return info.service == "guardduty" and self._route(info) is not None

    def reset(self) -> None:
        self.store.reset()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        info = RequestInfo.from_environ(environ)
        route = self._route(info)
        if route is None:  # handles() said yes, so this does not happen; answer as the service would
            return respond(start_response, 404, {"message": "Not Found"})
        name, ids = route
        try:
            call = Call(environ, info, ids, self._account(environ))
            payload = getattr(self, name)(call)
        except BadRequest as exc:
            return respond_error(start_response, exc)
        except Exception:  # a sandbox bug: answer as the service's 500 does, and keep serving
            log.exception("GuardDuty %s failed", name)
            return respond(start_response, 500, {"message": "Internal server error", "__type": "InternalException"},
                           headers=[("X-Amzn-ErrorType", "InternalServerErrorException")])
        return respond(start_response, 200, payload)

    def _route(self, info: RequestInfo) -> tuple[str, tuple[str, ...]] | None:
        for method, pattern, name in _ROUTES:
            if info.method == method:
                match = pattern.match(info.path)
                if match:
                    return name, match.groups()
        return None

    def _account(self, environ: dict[str, Any]) -> str:
        return os.environ.get("MOTO_ACCOUNT_ID") or environ.get("HTTP_X_MOTO_ACCOUNT_ID") or self.gateway.account_id

    def _detector(self, call: Call) -> DetectorState:
        return self.store.detector(call.account_id, call.region, call.ids[0])

    # -- publishing destinations ------------------------------------------------------------------
    def create_destination(self, call: Call) -> dict[str, Any]:
        det = self._detector(call)
        _refuse_a_second_destination(det)
        props = call.body.get("destinationProperties")
        if not isinstance(props, dict):
            raise BadRequest("The request is rejected because destinationProperties is missing.")
        bucket, prefix, bucket_account, key_arn = validate_destination(det, call.body.get("destinationType"), props)
        with self.store.lock:
            _refuse_a_second_destination(det)  # again: another request may have created one meanwhile
            dest = Destination(destination_id=uuid.uuid4().hex, destination_arn=props["destinationArn"],
                               kms_key_arn=key_arn, bucket=bucket, prefix=prefix, bucket_account=bucket_account,
                               expected_bucket_owner=props.get("expectedBucketOwner"),
                               tags=dict(call.body.get("tags") or {}))
            det.destinations[dest.destination_id] = dest
        log.info("publishing destination %s of detector %s: s3://%s/%s (key %s)", dest.destination_id,
                 det.detector_id, bucket, prefix, key_arn)
        return {"destinationId": dest.destination_id}

    def list_destinations(self, call: Call) -> dict[str, Any]:
        det = self._detector(call)
        items = [d.summary() for d in det.destinations.values()]
        chunk, token = criteria.page(items, call.query.get("maxResults"), call.query.get("nextToken"))
        return {"destinations": chunk, **({"nextToken": token} if token else {})}

    def _destination(self, det: DetectorState, destination_id: str) -> Destination:
        dest = det.destinations.get(destination_id)
        if dest is None:
            raise BadRequest("The request is rejected because the input destinationId is not owned by the current "
                             "account.")
        return dest

    def describe_destination(self, call: Call) -> dict[str, Any]:
        return self._destination(self._detector(call), call.ids[1]).describe()

    def update_destination(self, call: Call) -> dict[str, Any]:
        det = self._detector(call)
        dest = self._destination(det, call.ids[1])
        props = call.body.get("destinationProperties") or {}
        merged = {"destinationArn": dest.destination_arn, "kmsKeyArn": dest.kms_key_arn,
                  "expectedBucketOwner": dest.expected_bucket_owner,
                  **{k: v for k, v in props.items() if v is not None}}
        bucket, prefix, bucket_account, key_arn = validate_destination(det, "S3", merged)
        with self.store.lock:
            dest.destination_arn = merged["destinationArn"]
            dest.kms_key_arn = key_arn
            dest.bucket, dest.prefix, dest.bucket_account = bucket, prefix, bucket_account
            dest.expected_bucket_owner = merged.get("expectedBucketOwner")
            dest.mark_publishing()  # the properties were just checked
        return {}

    def delete_destination(self, call: Call) -> dict[str, Any]:
        det = self._detector(call)
        self._destination(det, call.ids[1])
        with self.store.lock:
            det.destinations.pop(call.ids[1], None)
        return {}

    # -- findings -----------------------------------------------------------------------------------
    def create_sample_findings(self, call: Call) -> dict[str, Any]:
        det = self._detector(call)
        names = samples.requested_types(call.body.get("findingTypes"))
        with self.store.lock:
            made = samples.create_sample_findings(det, names)
            # Checked again at each export: a bucket policy, key or key policy changed since the
            # destination was created stops the export (and shows in the destination's status).
            destinations = [d for d in det.destinations.values() if ready_for_export(det, d)]
        written = exporter.export(made, destinations, det.account_id, det.region)
        log.info("sample findings: %d made, %d objects exported", len(made), len(written))
        return {}

    def list_findings(self, call: Call) -> dict[str, Any]:
        det = self._detector(call)
        with self.store.lock:
            findings = list(det.findings.values())
        chosen = criteria.filter_findings(findings, call.body.get("findingCriteria"))
        chosen = criteria.sort_findings(chosen, call.body.get("sortCriteria"))
        chunk, token = criteria.page(chosen, call.body.get("maxResults"), call.body.get("nextToken"))
        return {"findingIds": [f["id"] for f in chunk], **({"nextToken": token} if token else {})}

    def _finding_ids(self, call: Call) -> list[str]:
        ids = call.body.get("findingIds")
        if not isinstance(ids, list) or not ids:
            raise BadRequest("The request is rejected because findingIds is missing or empty.")
        if len(ids) > 50:
            raise BadRequest("The request is rejected because findingIds has more than 50 items.")
        return [str(i) for i in ids]

    def get_findings(self, call: Call) -> dict[str, Any]:
        det = self._detector(call)
        ids = self._finding_ids(call)
        with self.store.lock:
            found = [det.findings[i] for i in ids if i in det.findings]
        found = criteria.sort_findings(found, call.body.get("sortCriteria"))
        return {"findings": [api_form(f) for f in found]}

    def _set_archived(self, call: Call, archived: bool) -> dict[str, Any]:
        det = self._detector(call)
        ids = self._finding_ids(call)
        with self.store.lock:
            unknown = [i for i in ids if i not in det.findings]
            if unknown:
                raise BadRequest(f"The request is rejected because the findingIds {', '.join(unknown)} do not exist.")
            for i in ids:
                f = det.findings[i]
                det.findings[i] = {**f, "service": {**f["service"], "archived": archived}}
        return {}

    def archive_findings(self, call: Call) -> dict[str, Any]:
        return self._set_archived(call, True)

    def unarchive_findings(self, call: Call) -> dict[str, Any]:
        # The service exports an unarchived finding at its next update, not now.
        return self._set_archived(call, False)


def _refuse_a_second_destination(det: DetectorState) -> None:
    """GuardDuty takes one publishing destination per detector."""
    if det.destinations:
        raise BadRequest("The request is rejected because a publishing destination already exists for this "
                         f"detector ({next(iter(det.destinations))}). Update or delete it instead of creating "
                         "another.")
