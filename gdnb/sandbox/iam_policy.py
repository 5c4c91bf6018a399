"""IAM policy documents (bucket and key policies) evaluated against one request, as AWS evaluates them.

moto evaluates bucket policies without the request: it ignores ``Principal`` and has no condition
context, so every Deny applies to every caller. The sandbox evaluates resource policies here instead,
with the caller, the action, the resource and the request's condition keys
(:class:`RequestContext`).

Supported: ``Principal``/``NotPrincipal`` (``*``, ``AWS`` account ids, root and principal ARNs,
``Service``), ``Action``/``NotAction`` and ``Resource``/``NotResource`` with ``*``/``?`` wildcards,
and the condition operators ``String*``, ``Arn*``, ``Bool``, ``Null``, ``Numeric*`` and
``IpAddress``/``NotIpAddress`` with the ``...IfExists`` suffix and the ``ForAnyValue:``/``ForAllValues:``
prefixes. Policy variables (``${aws:username}``) are not expanded. An operator this module does not
know never matches, so an unknown condition neither grants nor denies.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import ipaddress
import json
import logging
import os
import re
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)

ContextValue = str | list[str]


class Decision(enum.Enum):
    """The outcome of evaluating one policy."""

    ALLOW = "allow"  # an Allow statement applies and no Deny does
    DENY = "deny"  # an explicit Deny applies
    NONE = "none"  # no statement applies (implicit deny unless something else allows)


@dataclasses.dataclass(frozen=True)
class Principal:
    """Who makes a request: an AWS identity (``kind="AWS"``) or a service (``kind="Service"``)."""

    kind: str
    arn: str
    account: str | None = None

    @classmethod
    def aws(cls, arn: str) -> Principal:
        parts = arn.split(":")
        return cls("AWS", arn, parts[4] if len(parts) > 4 and parts[4] else None)

    @classmethod
    def service(cls, name: str) -> Principal:
        return cls("Service", name, None)

    @classmethod
    def anonymous(cls) -> Principal:
        return cls("Anonymous", "*", None)


@dataclasses.dataclass(frozen=True)
class RequestContext:
    """One request as a policy sees it.

    ``keys`` holds the condition keys (any case; compared case-insensitively, as AWS does).
    """

    principal: Principal
    action: str
    resource: str
    keys: Mapping[str, ContextValue] = dataclasses.field(default_factory=dict)

    def replace(self, **changes: Any) -> RequestContext:
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass(frozen=True)
class StatementMatch:
    """A statement that applies to a request."""

    sid: str | None
    effect: str


def parse_policy(policy: str | bytes | Mapping[str, Any]) -> dict[str, Any]:
    """A policy document as a dict (raises ``ValueError`` on invalid JSON or shape)."""
    if isinstance(policy, bytes | bytearray):
        policy = policy.decode()
    doc = json.loads(policy) if isinstance(policy, str) else dict(policy)
    if not isinstance(doc, dict):
        raise ValueError("a policy document must be a JSON object")
    return doc


def statements(policy: str | bytes | Mapping[str, Any]) -> list[dict[str, Any]]:
    """The statements of a policy, always as a list."""
    raw = parse_policy(policy).get("Statement", [])
    return [raw] if isinstance(raw, dict) else [s for s in raw if isinstance(s, dict)]


def matching_statements(policy: str | bytes | Mapping[str, Any], ctx: RequestContext) -> list[StatementMatch]:
    """Every statement of ``policy`` that applies to ``ctx`` (principal, action, resource and conditions)."""
    keys = _lower_keys(ctx.keys)
    return [StatementMatch(st.get("Sid"), str(st.get("Effect", "")).capitalize())
            for st in statements(policy) if _statement_applies(st, ctx, keys)]


def evaluate(policy: str | bytes | Mapping[str, Any], ctx: RequestContext) -> Decision:
    """Evaluate one policy for one request: an explicit Deny wins over any Allow.

    Parameters
    ----------
    policy
        The policy document (JSON text or dict).
    ctx
        The request: principal, action, resource ARN and condition keys.

    Returns
    -------
    DENY when a Deny statement applies, else ALLOW when an Allow statement applies, else NONE.
    """
    matches = matching_statements(policy, ctx)
    if any(m.effect == "Deny" for m in matches):
        return Decision.DENY
    if any(m.effect == "Allow" for m in matches):
        return Decision.ALLOW
    return Decision.NONE


# -- statement parts -----------------------------------------------------------------------------
def _statement_applies(st: Mapping[str, Any], ctx: RequestContext, keys: Mapping[str, ContextValue]) -> bool:
    if "Principal" in st and not _principal_matches(st["Principal"], ctx.principal):
        return False
    if "NotPrincipal" in st and _principal_matches(st["NotPrincipal"], ctx.principal):
        return False
    if "Action" in st and not any(_glob(a, ctx.action, ignore_case=True) for a in _as_list(st["Action"])):
        return False
    if "NotAction" in st and any(_glob(a, ctx.action, ignore_case=True) for a in _as_list(st["NotAction"])):
        return False
    if "Resource" in st and not any(_resource_matches(r, ctx.resource) for r in _as_list(st["Resource"])):
        return False
    if "NotResource" in st and any(_resource_matches(r, ctx.resource) for r in _as_list(st["NotResource"])):
        return False
    return _conditions_hold(st.get("Condition") or {}, keys)


def _principal_matches(spec: Any, who: Principal) -> bool:
    if spec == "*":
        return True
    if not isinstance(spec, Mapping):
        return False
    for kind, values in spec.items():
        for value in _as_list(values):
            value = str(value)
            if kind == "AWS" and (value == "*" or (who.kind == "AWS" and _aws_principal_matches(value, who))):
                return True
            if kind == "Service" and who.kind == "Service" and value.lower() == who.arn.lower():
                return True
            if kind in ("Federated", "CanonicalUser") and who.kind == kind and value == who.arn:
                return True
    return False


def _aws_principal_matches(value: str, who: Principal) -> bool:
    if re.fullmatch(r"\d{12}", value):
        return who.account == value
    if value.endswith(":root"):
        return who.account is not None and value.split(":")[4] == who.account
    return value == who.arn


def _resource_matches(pattern: str, resource: str) -> bool:
    return _glob(str(pattern), resource, ignore_case=False)


# -- conditions ----------------------------------------------------------------------------------
_NEGATED = {"stringnotequals", "stringnotequalsignorecase", "stringnotlike", "arnnotequals", "arnnotlike",
            "numericnotequals", "notipaddress", "datenotequals"}


def _conditions_hold(conditions: Mapping[str, Any], keys: Mapping[str, ContextValue]) -> bool:
    # Operators are ANDed; keys inside an operator are ANDed; values of one key are ORed.
    for operator, block in conditions.items():
        if not isinstance(block, Mapping):
            return False
        for key, expected in block.items():
            if not _condition_holds(str(operator), str(key).lower(), [str(v) for v in _as_list(expected)], keys):
                return False
    return True


def _condition_holds(operator: str, key: str, expected: list[str], keys: Mapping[str, ContextValue]) -> bool:
    op = operator
    set_mode = None
    if ":" in op:
        set_mode, op = op.split(":", 1)
        set_mode = set_mode.lower()
    op = op.lower()
    if_exists = op.endswith("ifexists")
    if if_exists:
        op = op[: -len("ifexists")]
    present = key in keys
    if op == "null":
        want_absent = expected[0].lower() == "true" if expected else True
        return (not present) == want_absent
    if not present:
        return if_exists or op in _NEGATED
    actual = [str(v) for v in _as_list(keys[key])]
    negated = op in _NEGATED
    base = _positive_operator(op)
    if base is None:
        log.warning("condition operator %s is not supported by the sandbox; the condition does not match", operator)
        return False

    def one(value: str) -> bool:
        return any(base(value, e) for e in expected)

    if set_mode == "forallvalues":
        hit = all(one(v) for v in actual)
        return (not hit) if negated else hit
    hit = any(one(v) for v in actual)
    return (not hit) if negated else hit


def _positive_operator(op: str):  # -> Callable[[str, str], bool] | None
    table = {
        "stringequals": lambda a, e: a == e,
        "stringnotequals": lambda a, e: a == e,
        "stringequalsignorecase": lambda a, e: a.lower() == e.lower(),
        "stringnotequalsignorecase": lambda a, e: a.lower() == e.lower(),
        "stringlike": lambda a, e: _glob(e, a, ignore_case=False),
        "stringnotlike": lambda a, e: _glob(e, a, ignore_case=False),
        "arnequals": _arn_like,
        "arnnotequals": _arn_like,
        "arnlike": _arn_like,
        "arnnotlike": _arn_like,
        "bool": lambda a, e: a.lower() == e.lower(),
        "numericequals": lambda a, e: _num(a) == _num(e),
        "numericnotequals": lambda a, e: _num(a) == _num(e),
        "numericlessthan": lambda a, e: _num(a) < _num(e),
        "numericlessthanequals": lambda a, e: _num(a) <= _num(e),
        "numericgreaterthan": lambda a, e: _num(a) > _num(e),
        "numericgreaterthanequals": lambda a, e: _num(a) >= _num(e),
        "ipaddress": _ip_in,
        "notipaddress": _ip_in,
    }
    return table.get(op)


def _arn_like(actual: str, pattern: str) -> bool:
    # ARNs compare segment by segment (arn:partition:service:region:account:resource); each may hold wildcards.
    a = actual.split(":", 5)
    p = pattern.split(":", 5)
    if len(a) != 6 or len(p) != 6:
        return _glob(pattern, actual, ignore_case=False)
    return all(_glob(ps, as_, ignore_case=False) for ps, as_ in zip(p, a, strict=True))


def _num(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return float("nan")


def _ip_in(actual: str, network: str) -> bool:
    try:
        return ipaddress.ip_address(actual) in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False


# -- helpers -------------------------------------------------------------------------------------
def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _lower_keys(keys: Mapping[str, ContextValue]) -> dict[str, ContextValue]:
    return {k.lower(): v for k, v in keys.items()}


def _glob(pattern: str, value: str, ignore_case: bool) -> bool:
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return _glob_re(pattern, ignore_case).fullmatch(value) is not None


@functools.lru_cache(maxsize=1024)
def _glob_re(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def caller_principal(environ: Mapping[str, Any], access_key: str | None, region: str | None) -> Principal:
    """The AWS identity behind a sandbox request, resolved the way moto resolves it.

    The account comes from ``MOTO_ACCOUNT_ID``, else the ``x-moto-account-id`` header, else the
    account that owns the access key; the ARN from moto's STS (``arn:aws:sts::<account>:user/moto``
    for the sandbox's default credentials).
    """
    from moto.iam.models import get_account_id_from
    from moto.sts.models import sts_backends

    key = access_key or "AKIAEXAMPLE"
    account = (os.environ.get("MOTO_ACCOUNT_ID") or environ.get("HTTP_X_MOTO_ACCOUNT_ID")
               or get_account_id_from(key))
    try:
        _uid, arn, account = sts_backends[account]["global"].get_caller_identity(key, region or "us-east-1")
    except Exception:  # an unusual account or key: fall back to the account's default user
        arn = f"arn:aws:sts::{account}:user/moto"
    return Principal.aws(arn)
