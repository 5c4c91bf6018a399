"""The key-policy and bucket-policy statements GuardDuty's export needs, and statement-level merging.

Pure functions: nothing here calls AWS. The statements follow "Exporting generated GuardDuty findings
to Amazon S3" (guardduty_exportfindings.html, steps 2 and 3) with exact ``aws:SourceAccount`` and
``aws:SourceArn`` conditions listing every exporting detector. gdnb owns the statements whose ``Sid`` is
in :data:`GDNB_SIDS`; every other statement of a policy belongs to someone else and is kept as it is.

Policies are compared statement by statement in a canonical form, so the order of list items, a
one-item list versus a bare string, an account id versus its root ARN, and ``true`` versus ``"true"``
do not count as changes (AWS rewrites policies in these ways when it stores them).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gdnb.regions import is_opt_in

POLICY_VERSION = "2012-10-17"
GUARDDUTY_SERVICE = "guardduty.amazonaws.com"

# gdnb's statement ids. Alphanumeric only: both KMS and S3 accept them, and so does CloudFormation.
KEY_GUARDDUTY_SID = "GdnbAllowGuardDutyGenerateDataKey"
KEY_READERS_SID = "GdnbAllowReadersDecryptViaS3"
BUCKET_LOCATION_SID = "GdnbAllowGuardDutyGetBucketLocation"
BUCKET_PUT_SID = "GdnbAllowGuardDutyPutObject"
BUCKET_DENY_UNENCRYPTED_SID = "GdnbDenyUnencryptedObjectUploads"
BUCKET_DENY_WRONG_KEY_SID = "GdnbDenyIncorrectEncryptionHeader"
BUCKET_DENY_HTTP_SID = "GdnbDenyNonHttpsAccess"

KEY_SIDS: tuple[str, ...] = (KEY_GUARDDUTY_SID, KEY_READERS_SID)
BUCKET_SIDS: tuple[str, ...] = (BUCKET_LOCATION_SID, BUCKET_PUT_SID, BUCKET_DENY_UNENCRYPTED_SID,
                                BUCKET_DENY_WRONG_KEY_SID, BUCKET_DENY_HTTP_SID)
GDNB_SIDS: frozenset[str] = frozenset(KEY_SIDS + BUCKET_SIDS)

# The statement AWS puts in a new key's default policy: IAM policies of the account govern the key.
# gdnb keeps it in every key it creates (without it nobody could manage the key) and never removes it.
ROOT_SID = "Enable IAM User Permissions"

# Statement changes, as shown in a plan.
ADDED, CHANGED, UNCHANGED, REMOVED, FOREIGN_KEPT = "added", "changed", "unchanged", "removed", "foreign-kept"


# -- building blocks ------------------------------------------------------------------------------

def _one_or_many(values: Iterable[str]) -> str | list[str]:
    items = sorted(set(values))
    return items[0] if len(items) == 1 else items


def guardduty_principal(regions: Iterable[str]) -> str | list[str]:
    """GuardDuty's service principal(s) for findings from ``regions``.

    Opt-in regions use a regional principal (``guardduty.me-south-1.amazonaws.com``) besides the
    global one.
    """
    return _one_or_many([GUARDDUTY_SERVICE, *(f"guardduty.{r}.amazonaws.com" for r in regions if is_opt_in(r))])


def source_condition(account: str, detector_arns: Sequence[str]) -> dict[str, Any]:
    """The ``StringEquals`` block that limits GuardDuty to this account's exporting detectors."""
    if not detector_arns:
        raise ValueError("at least one detector ARN is needed")
    return {"aws:SourceAccount": account, "aws:SourceArn": _one_or_many(detector_arns)}


def detector_arn(partition: str, region: str, account: str, detector_id: str) -> str:
    """``arn:aws:guardduty:<region>:<account>:detector/<id>``."""
    return f"arn:{partition}:guardduty:{region}:{account}:detector/{detector_id}"


def bucket_arn(partition: str, bucket: str) -> str:
    return f"arn:{partition}:s3:::{bucket}"


def objects_arn(partition: str, bucket: str, prefix: str = "") -> str:
    """The ARN of the objects GuardDuty writes: ``bucket[/prefix]/*``."""
    return f"arn:{partition}:s3:::{bucket}/{prefix.strip('/')}/*" if prefix.strip("/") else \
        f"arn:{partition}:s3:::{bucket}/*"


def destination_arn(partition: str, bucket: str, prefix: str = "") -> str:
    """The publishing destination: ``arn:aws:s3:::bucket`` or ``arn:aws:s3:::bucket/prefix``."""
    prefix = prefix.strip("/")
    return f"arn:{partition}:s3:::{bucket}/{prefix}" if prefix else f"arn:{partition}:s3:::{bucket}"


# -- the statements -------------------------------------------------------------------------------

def root_statement(account: str, partition: str = "aws") -> dict[str, Any]:
    """The default key-policy statement that lets the account's IAM policies govern the key."""
    return {"Sid": ROOT_SID, "Effect": "Allow", "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
            "Action": "kms:*", "Resource": "*"}


def key_statements(*, account: str, detector_arns: Sequence[str], regions: Iterable[str],
                   reader_principals: Sequence[str] = (), home_region: str | None = None) -> list[dict[str, Any]]:
    """The key-policy statements gdnb owns.

    Parameters
    ----------
    account
        The account that owns the exporting detectors.
    detector_arns
        The ARN of every exporting detector (one per region).
    regions
        The exporting regions (opt-in regions add their regional service principal).
    reader_principals
        IAM principals (Athena users, analysts) that may decrypt the exported objects; reading them
        through S3 is the only use allowed (``kms:ViaService``).
    home_region
        The key's region (needed for the readers' ``kms:ViaService`` condition).

    Notes
    -----
    ``Resource`` is ``"*"``: in a key policy it means "this key", which lets the same statement be
    written before the key exists (``CreateKey``, CloudFormation).
    """
    statements: list[dict[str, Any]] = [{
        "Sid": KEY_GUARDDUTY_SID,
        "Effect": "Allow",
        "Principal": {"Service": guardduty_principal(regions)},
        "Action": "kms:GenerateDataKey",
        "Resource": "*",
        "Condition": {"StringEquals": source_condition(account, detector_arns)},
    }]
    if reader_principals:
        if not home_region:
            raise ValueError("home_region is needed for the readers' statement")
        statements.append({
            "Sid": KEY_READERS_SID,
            "Effect": "Allow",
            "Principal": {"AWS": _one_or_many(reader_principals)},
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{home_region}.amazonaws.com"}},
        })
    return statements


def new_key_policy(account: str, statements: Sequence[Mapping[str, Any]], partition: str = "aws") -> dict[str, Any]:
    """The whole policy of a key gdnb creates: the account root statement, then ``statements``."""
    return {"Version": POLICY_VERSION, "Id": "gdnb-guardduty-export-key",
            "Statement": [root_statement(account, partition), *copy.deepcopy(list(statements))]}


def bucket_statements(*, bucket: str, prefix: str, key_arn: Any, account: str, detector_arns: Sequence[str],
                      regions: Iterable[str], partition: str = "aws") -> list[dict[str, Any]]:
    """The bucket-policy statements gdnb owns, as the GuardDuty docs give them.

    ``key_arn`` is the key's exact ARN (a wildcard under ``StringNotEquals`` never matches and would
    block every export); it may also be a CloudFormation intrinsic such as ``{"Fn::GetAtt": [...]}``.
    """
    principal = {"Service": guardduty_principal(regions)}
    condition = {"StringEquals": source_condition(account, detector_arns)}
    objects = objects_arn(partition, bucket, prefix)
    return copy.deepcopy([
        {"Sid": BUCKET_LOCATION_SID, "Effect": "Allow", "Principal": principal, "Action": "s3:GetBucketLocation",
         "Resource": bucket_arn(partition, bucket), "Condition": condition},
        {"Sid": BUCKET_PUT_SID, "Effect": "Allow", "Principal": principal, "Action": "s3:PutObject",
         "Resource": objects, "Condition": condition},
        {"Sid": BUCKET_DENY_UNENCRYPTED_SID, "Effect": "Deny", "Principal": principal, "Action": "s3:PutObject",
         "Resource": objects,
         "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}},
        {"Sid": BUCKET_DENY_WRONG_KEY_SID, "Effect": "Deny", "Principal": principal, "Action": "s3:PutObject",
         "Resource": objects,
         "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn}}},
        {"Sid": BUCKET_DENY_HTTP_SID, "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": objects,
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ])  # no shared sub-objects: each statement can be changed on its own


# -- reading, merging and removing ------------------------------------------------------------------

def parse_policy(text: str | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A policy document from its JSON text (as KMS and S3 return it), or None for no policy."""
    if text is None or text == "":
        return None
    doc = json.loads(text) if isinstance(text, str) else copy.deepcopy(dict(text))
    statements = doc.get("Statement", [])
    doc["Statement"] = [statements] if isinstance(statements, Mapping) else list(statements)
    return doc


def policy_json(policy: Mapping[str, Any]) -> str:
    """The policy as the JSON text AWS takes."""
    return json.dumps(policy, indent=2)


def statements_of(policy: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not policy:
        return []
    statements = policy.get("Statement", [])
    return [dict(statements)] if isinstance(statements, Mapping) else [dict(s) for s in statements]


def merge_statements(policy: Mapping[str, Any] | None, desired: Sequence[Mapping[str, Any]],
                     owned: Iterable[str] = GDNB_SIDS) -> dict[str, Any]:
    """``policy`` with ``desired`` put in by ``Sid``; every statement not ``owned`` is kept as it is.

    A statement whose Sid is in ``desired`` is replaced where it stands; a statement whose Sid is
    ``owned`` but no longer desired (e.g. the readers' statement once no reader is listed) is
    dropped; new statements are appended.
    """
    want = {s["Sid"]: copy.deepcopy(dict(s)) for s in desired}
    owned_set = set(owned) | set(want)
    base = copy.deepcopy(dict(policy)) if policy else {"Version": POLICY_VERSION}
    merged: list[dict[str, Any]] = []
    for st in statements_of(policy):
        sid = st.get("Sid")
        if sid in want:
            merged.append(want.pop(sid))
        elif sid not in owned_set:
            merged.append(copy.deepcopy(st))
    merged.extend(want.values())
    base["Statement"] = merged
    base.setdefault("Version", POLICY_VERSION)
    return base


def remove_statements(policy: Mapping[str, Any] | None, sids: Iterable[str] = GDNB_SIDS) -> dict[str, Any] | None:
    """``policy`` without the statements whose Sid is in ``sids``; None when nothing would remain."""
    drop = set(sids)
    kept = [copy.deepcopy(s) for s in statements_of(policy) if s.get("Sid") not in drop]
    if not kept:
        return None
    out = copy.deepcopy(dict(policy or {}))
    out["Statement"] = kept
    return out


# -- comparing ---------------------------------------------------------------------------------------

def _canonical(value: Any, key: str = "") -> Any:
    if isinstance(value, Mapping):
        return {k: _canonical(v, k) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted({json.dumps(_canonical(v, key), sort_keys=True) for v in value})
        out = [json.loads(i) for i in items]
        return out[0] if len(out) == 1 else out
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if key == "AWS" and value.isdigit() and len(value) == 12:
            return f"arn:aws:iam::{value}:root"  # S3 and KMS store a bare account id as its root ARN
        if key in ("Action", "NotAction"):
            return value.lower()  # action names are case-insensitive
    return value


def canonical_statement(statement: Mapping[str, Any]) -> dict[str, Any]:
    """The statement in a form where equal meaning gives equal values."""
    st = _canonical(dict(statement))
    principal = st.get("Principal")
    if principal == {"AWS": "*"}:
        st["Principal"] = "*"
    return st


def _flatten(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{path}.{k}" if path else str(k)))
        return out
    return {path: value}


@dataclasses.dataclass(frozen=True)
class StatementChange:
    """One statement of a policy, and what a plan does to it."""

    sid: str
    status: str  # added | changed | unchanged | removed | foreign-kept
    effect: str
    action: str
    changed: tuple[str, ...] = ()  # the statement's fields that change (for "changed")

    def as_row(self, policy: str) -> dict[str, Any]:
        return {"policy": policy, "sid": self.sid, "status": self.status, "effect": self.effect,
                "action": self.action, "changed fields": ", ".join(self.changed)}


def _statement_key(st: Mapping[str, Any]) -> str:
    sid = st.get("Sid")
    if sid:
        return str(sid)
    return "(no Sid) " + json.dumps(canonical_statement(st), sort_keys=True)[:80]


def _action_text(st: Mapping[str, Any]) -> str:
    action = st.get("Action", st.get("NotAction", ""))
    return ", ".join(action) if isinstance(action, list) else str(action)


def diff_policies(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None,
                  owned: Iterable[str] = GDNB_SIDS) -> list[StatementChange]:
    """The statement-level difference between two versions of a policy.

    Statements are matched by Sid (statements without one, by content). A statement that does not
    change is ``unchanged`` when gdnb owns it and ``foreign-kept`` otherwise.
    """
    owned_set = set(owned)
    old = {_statement_key(s): s for s in statements_of(before)}
    new = {_statement_key(s): s for s in statements_of(after)}
    changes: list[StatementChange] = []
    for key, st in new.items():
        effect, action = str(st.get("Effect", "")), _action_text(st)
        if key not in old:
            changes.append(StatementChange(key, ADDED, effect, action))
            continue
        a, b = _flatten(canonical_statement(old[key])), _flatten(canonical_statement(st))
        fields = tuple(sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k)))
        if fields:
            changes.append(StatementChange(key, CHANGED, effect, action, fields))
        else:
            changes.append(StatementChange(key, UNCHANGED if key in owned_set else FOREIGN_KEPT, effect, action))
    for key, st in old.items():
        if key not in new:
            changes.append(StatementChange(key, REMOVED, str(st.get("Effect", "")), _action_text(st)))
    return changes


def policy_changes(changes: Sequence[StatementChange]) -> bool:
    """Whether a diff changes anything."""
    return any(c.status in (ADDED, CHANGED, REMOVED) for c in changes)


def owned_statements(policy: Mapping[str, Any] | None, sids: Iterable[str]) -> list[dict[str, Any]]:
    """The statements of ``policy`` whose Sid is in ``sids``."""
    wanted = set(sids)
    return [s for s in statements_of(policy) if s.get("Sid") in wanted]


def source_arns(statement: Mapping[str, Any] | None) -> set[str]:
    """The detector ARNs a gdnb statement allows (its ``aws:SourceArn`` condition)."""
    if not statement:
        return set()
    value = statement.get("Condition", {}).get("StringEquals", {}).get("aws:SourceArn", [])
    return {value} if isinstance(value, str) else set(value)
