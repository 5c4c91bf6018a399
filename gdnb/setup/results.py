"""The key results of the setup notebooks, recorded in one call (see :mod:`gdnb.record`)."""

from __future__ import annotations

from typing import Any

from gdnb.record import record
from gdnb.setup.plan import Plan

# The plan outputs worth keeping: the next notebooks, the tests and schedulers read them back.
RESULT_OUTPUTS: tuple[str, ...] = ("key_arn", "detector_ids", "bucket", "destination_arn", "destination_ids")


def setup_results(*plans: Plan, objects: Any = None) -> dict[str, Any]:
    """What :func:`record_results` records, without recording it.

    Parameters
    ----------
    plans
        The plans of one notebook, in the order they ran (a later plan's output wins).
    objects
        The exported objects (:func:`gdnb.setup.list_exported_objects`), when the notebook listed them.

    Returns
    -------
    dict
        Every output of :data:`RESULT_OUTPUTS` the plans resolved; ``planned_actions`` (every plan's rows);
        ``applied`` (whether every plan was carried out); with ``objects``, ``exported_objects`` (how many)
        and ``exported_regions`` (which regions wrote some).
    """
    values: dict[str, Any] = {}
    for name in RESULT_OUTPUTS:
        for plan in plans:
            if name in plan.outputs:
                values[name] = plan.outputs[name]
    values["planned_actions"] = [row for plan in plans for row in plan.records()]
    values["applied"] = all(plan.applied for plan in plans)
    if objects is not None:
        values["exported_objects"] = len(objects)
        values["exported_regions"] = sorted(set(objects["region"]))
    return values


def record_results(*plans: Plan, objects: Any = None) -> None:
    """Record the key results of a setup notebook (see :func:`setup_results` for what), one record each."""
    for name, value in setup_results(*plans, objects=objects).items():
        record(name, value)
