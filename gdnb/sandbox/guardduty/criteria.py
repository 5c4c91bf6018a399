"""ListFindings' ``FindingCriteria`` and ``SortCriteria`` applied to findings held in memory.

An attribute is a dotted path into the camelCase finding (``type``, ``severity``, ``service.archived``,
``resource.instanceDetails.instanceId``, ``updatedAt``...), matched case-insensitively; a path that
crosses a list (``resource.s3BucketDetails.name``) yields every element's value.

Conditions (botocore's ``Condition``):

* ``Eq``/``Equals`` (any listed value), ``Neq``/``NotEquals`` (none of them). Numbers compare as numbers;
  an integer value matches a severity in its unit (``"5"`` matches 5 and 5.5), as the console's
  severity lists (``["4", "5", "6"]`` for Medium) expect. Booleans compare as ``true``/``false``.
* ``Gt``/``Gte``/``Lt``/``Lte`` and ``GreaterThan``/``GreaterThanOrEqual``/``LessThan``/``LessThanOrEqual``:
  numbers; timestamps (``updatedAt``, ``createdAt``, ``service.eventLastSeen``...) compare in epoch milliseconds.
* ``Matches``/``NotMatches``: ``*`` and ``?`` wildcards.

A missing attribute fails positive conditions and passes negative ones. An attribute that is no
field of a GuardDuty finding (per botocore's ``Finding`` shape, anything under ``service.additionalInfo``
and the keys of map fields), an unknown operator or a comparison with a non-numeric operand is refused
with ``BadRequestException`` naming it, before any finding is looked at.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import functools
import math
from collections.abc import Iterable, Mapping
from typing import Any

from gdnb.sandbox.guardduty.wire import BadRequest

_MISSING = object()
_NUMERIC_OPS = {"gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte", "greaterthan": "gt",
                "greaterthanorequal": "gte", "lessthan": "lt", "lessthanorequal": "lte"}
_LIST_OPS = {"eq", "equals", "neq", "notequals", "matches", "notmatches"}
_ATTRIBUTE_EXAMPLES = "e.g. type, severity, updatedAt, service.archived or resource.instanceDetails.instanceId"


@functools.lru_cache(maxsize=1)
def _finding_fields() -> tuple[frozenset[str], tuple[str, ...]]:
    """(lower-cased dotted paths of every scalar field of a finding, prefixes under which any key goes).

    Read from botocore's model of ``Finding`` (wire names, lists crossed); map fields and
    ``service.additionalInfo`` (free-form JSON on the wire) accept any key below them.
    """
    import botocore.session

    model = botocore.session.get_session().get_service_model("guardduty")
    leaves: set[str] = set()
    open_prefixes = {"service.additionalinfo"}

    def walk(shape: Any, path: str, seen: tuple[str, ...]) -> None:
        if shape.type_name == "structure":
            if shape.name in seen:  # recursive shapes: one level is enough to name every field
                return
            for name, member in shape.members.items():
                wire = member.serialization.get("name", name)
                walk(member, f"{path}.{wire}" if path else wire, (*seen, shape.name))
        elif shape.type_name == "list":
            walk(shape.member, path, seen)
        elif shape.type_name == "map":
            open_prefixes.add(path.lower())
        else:
            leaves.add(path.lower())

    walk(model.shape_for("Finding"), "", ())
    return frozenset(leaves), tuple(sorted(open_prefixes))


def is_finding_attribute(path: str) -> bool:
    """Whether ``path`` names a field of a GuardDuty finding (case-insensitively)."""
    leaves, open_prefixes = _finding_fields()
    low = path.lower()
    return low in leaves or any(low.startswith(p + ".") for p in open_prefixes)


def _check_attribute(path: Any, what: str) -> None:
    if not isinstance(path, str) or not path or not is_finding_attribute(path):
        raise BadRequest(f"The request is rejected because the {what} '{path}' is not a valid finding attribute "
                         f"({_ATTRIBUTE_EXAMPLES}).")


def _number_operand(path: str, op: str, operand: Any) -> float:
    """The numeric operand of a comparison; :class:`BadRequest` naming it when it is not a number."""
    if not isinstance(operand, bool) and isinstance(operand, int | float):
        return float(operand)
    if isinstance(operand, str):
        try:
            value = float(operand)
        except ValueError:
            pass
        else:
            if math.isfinite(value):
                return value
    raise BadRequest(f"The request is rejected because the value {operand!r} of condition '{op}' for attribute "
                     f"'{path}' is not a number (timestamps such as updatedAt take epoch milliseconds, "
                     "e.g. 1486685375000).")


def validate_criteria(criteria: Any) -> None:
    """Check ``findingCriteria`` as the service does: attributes, operators and operands.

    Raises
    ------
    BadRequest
        Naming the attribute, operator or operand that is not valid.
    """
    if criteria is None:
        return
    if not isinstance(criteria, Mapping):
        raise BadRequest("The request is rejected because findingCriteria is not an object.")
    criterion = criteria.get("criterion") or {}
    if not isinstance(criterion, Mapping):
        raise BadRequest("The request is rejected because findingCriteria.criterion is not an object.")
    for path, condition in criterion.items():
        _check_attribute(path, "criterion attribute")
        if not isinstance(condition, Mapping):
            raise BadRequest(f"The request is rejected because the criterion for '{path}' is not an object.")
        for op, operand in condition.items():
            op_l = str(op).lower()
            if op_l in _NUMERIC_OPS:
                if operand is not None:
                    _number_operand(path, op, operand)
            elif op_l not in _LIST_OPS:
                raise BadRequest(f"The request is rejected because the condition operator '{op}' for attribute "
                                 f"'{path}' is not valid.")


def values_at(finding: Mapping[str, Any], path: str) -> list[Any]:
    """Every value at a dotted path (empty when absent)."""
    current: list[Any] = [finding]
    for part in path.split("."):
        nxt: list[Any] = []
        low = part.lower()
        for node in current:
            for item in node if isinstance(node, list) else [node]:
                if isinstance(item, Mapping):
                    value = item.get(part, _MISSING)
                    if value is _MISSING:
                        value = next((v for k, v in item.items() if k.lower() == low), _MISSING)
                    if value is not _MISSING and value is not None:
                        nxt.append(value)
        current = nxt
    out: list[Any] = []
    for v in current:
        out.extend(v if isinstance(v, list) else [v])
    return out


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if t.tzinfo is None:
            t = t.replace(tzinfo=dt.UTC)
        return t.timestamp() * 1000
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, int | float) and not isinstance(actual, bool):
        want = _as_number(expected)
        if want is None:
            return False
        if float(actual) == want:
            return True
        return want.is_integer() and math.floor(actual) == want
    return _text(actual) == _text(expected)


def _condition_holds(values: list[Any], path: str, op: str, operand: Any) -> bool:
    op_l = op.lower()
    operands = operand if isinstance(operand, list) else [operand]
    if op_l in ("eq", "equals"):
        return any(_equal(v, e) for v in values for e in operands)
    if op_l in ("neq", "notequals"):
        return not any(_equal(v, e) for v in values for e in operands)
    if op_l == "matches":
        return any(fnmatch.fnmatchcase(_text(v), str(p)) for v in values for p in operands)
    if op_l == "notmatches":
        return not any(fnmatch.fnmatchcase(_text(v), str(p)) for v in values for p in operands)
    if op_l in _NUMERIC_OPS:
        limit = _number_operand(path, op, operand)
        kind = _NUMERIC_OPS[op_l]
        for v in values:
            n = _as_number(v)
            if n is None:
                continue
            if (kind == "gt" and n > limit) or (kind == "gte" and n >= limit) or \
               (kind == "lt" and n < limit) or (kind == "lte" and n <= limit):
                return True
        return False
    raise BadRequest(f"The request is rejected because the condition operator '{op}' is not valid.")


def matches(finding: Mapping[str, Any], criteria: Mapping[str, Any] | None) -> bool:
    """Whether a finding satisfies ``findingCriteria`` (every attribute's every condition; checked beforehand
    with :func:`validate_criteria`)."""
    for path, condition in ((criteria or {}).get("criterion") or {}).items():
        if not isinstance(condition, Mapping):
            raise BadRequest(f"The request is rejected because the criterion for '{path}' is not an object.")
        values = values_at(finding, path)
        for op, operand in condition.items():
            if operand is None or operand == []:
                continue
            if not _condition_holds(values, path, op, operand):
                return False
    return True


def sort_findings(findings: list[dict[str, Any]], sort: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Order by ``sortCriteria`` (``attributeName``, ``orderBy`` ASC|DESC); findings without the attribute go last."""
    if not sort or not sort.get("attributeName"):
        return findings
    path = sort["attributeName"]
    _check_attribute(path, "sort attributeName")
    order = str(sort.get("orderBy") or "ASC").upper()
    if order not in ("ASC", "DESC"):
        raise BadRequest(f"The request is rejected because orderBy '{order}' is not ASC or DESC.")

    def key(f: dict[str, Any]) -> tuple[int, Any]:
        vals = values_at(f, path)
        if not vals:
            return (1, 0)
        n = _as_number(vals[0])
        return (0, n) if n is not None else (0, _text(vals[0]))

    present = [f for f in findings if values_at(f, path)]
    absent = [f for f in findings if not values_at(f, path)]
    try:
        present.sort(key=key, reverse=order == "DESC")
    except TypeError:  # mixed numbers and text: compare as text
        present.sort(key=lambda f: _text(values_at(f, path)[0]), reverse=order == "DESC")
    return present + absent


def page(items: list[Any], max_results: Any, next_token: Any, limit: int = 50) -> tuple[list[Any], str | None]:
    """One page of ``items`` and the token of the next (an opaque offset)."""
    try:
        size = int(max_results) if max_results not in (None, "") else limit
    except (TypeError, ValueError) as exc:
        raise BadRequest("The request is rejected because maxResults is not a number.") from exc
    if not 1 <= size <= limit:
        raise BadRequest(f"The request is rejected because maxResults must be between 1 and {limit}.")
    try:
        start = int(next_token) if next_token not in (None, "") else 0
    except (TypeError, ValueError) as exc:
        raise BadRequest("The request is rejected because the nextToken is not valid.") from exc
    if start < 0 or start > len(items):
        raise BadRequest("The request is rejected because the nextToken is not valid.")
    chunk = items[start:start + size]
    end = start + len(chunk)
    return chunk, (str(end) if end < len(items) else None)


def filter_findings(findings: Iterable[dict[str, Any]], criteria: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The findings that satisfy ``criteria`` (:class:`BadRequest` when the criteria are not valid)."""
    validate_criteria(criteria)
    return [f for f in findings if matches(f, criteria)]
