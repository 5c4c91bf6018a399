"""Plans: what a setup step would create, update, delete or leave alone; and carrying them out.

A plan is computed from what exists (read-only calls) and shown as a table before anything changes.
:func:`apply` carries it out only when the plan's switch is on in the settings: ``apply: true`` for
setup steps, ``teardown: true`` for teardown (so a params file that applies setup never tears down by
accident). Actions that depend on
values not known until an earlier action ran (the ARN of a key or detector about to be created)
read them from the apply context, which starts as a copy of :attr:`Plan.outputs`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Any

from gdnb.config import Settings
from gdnb.errors import GdnbError, ThrottledError
from gdnb.setup.policies import StatementChange, policy_changes

log = logging.getLogger(__name__)

CREATE, UPDATE, DELETE, NOOP, KEEP = "create", "update", "delete", "no-op", "keep"
CHANGES = (CREATE, UPDATE, DELETE)

Context = dict[str, Any]


@dataclasses.dataclass
class Action:
    """One step of a plan.

    Attributes
    ----------
    step
        What kind of thing (``kms key``, ``bucket policy``, ``publishing destination``...).
    resource
        Its name or ARN (``(new)`` in it when it does not exist yet).
    change
        ``create``, ``update``, ``delete``, ``no-op`` (already as wanted) or ``keep`` (left alone on purpose).
    detail
        Why, or what changes.
    region
        The region it lives in ("" for global things).
    run
        Carries the change out; gets the apply context and may add to it.
    """

    step: str
    resource: str
    change: str
    detail: str = ""
    region: str = ""
    run: Callable[[Context], None] | None = dataclasses.field(default=None, repr=False, compare=False)
    status: str = "planned"

    def as_row(self) -> dict[str, Any]:
        return {"step": self.step, "region": self.region, "resource": self.resource, "change": self.change,
                "detail": self.detail, "status": self.status}


@dataclasses.dataclass
class Plan:
    """The actions of one setup step, the policy diffs, and the values it resolved.

    Attributes
    ----------
    title
        E.g. ``KMS key alias/guardduty-alert``.
    settings
        The settings the plan was made from (the setting named by ``switch`` decides whether :func:`apply` acts).
    actions
        In the order they are carried out.
    policies
        Statement-level diffs by policy name (``key policy``, ``bucket policy``).
    outputs
        Resolved values: ``account``, ``key_arn``, ``detector_ids``... (after :func:`apply`, the real
        ones for what was created).
    switch
        The boolean setting that lets :func:`apply` act: ``apply`` (setup), ``teardown`` (teardown).
    """

    title: str
    settings: Settings
    actions: list[Action] = dataclasses.field(default_factory=list)
    policies: dict[str, list[StatementChange]] = dataclasses.field(default_factory=dict)
    outputs: dict[str, Any] = dataclasses.field(default_factory=dict)
    applied: bool = False
    switch: str = "apply"

    @property
    def will_apply(self) -> bool:
        """Whether :func:`apply` carries the plan out (its switch is true in the settings)."""
        return bool(getattr(self.settings, self.switch))

    @property
    def dry_run_status(self) -> str:
        """The status of a change :func:`apply` leaves undone because the switch is off."""
        return "dry run" if self.switch == "apply" else f"dry run ({self.switch}: false)"

    def add(self, step: str, resource: str, change: str, detail: str = "", region: str = "",
            run: Callable[[Context], None] | None = None) -> Action:
        if change in CHANGES and run is None:
            raise ValueError(f"a {change} action needs a run function")
        action = Action(step, resource, change, detail, region, run if change in CHANGES else None)
        self.actions.append(action)
        return action

    @property
    def changes(self) -> list[Action]:
        """The actions that change something."""
        return [a for a in self.actions if a.change in CHANGES]

    @property
    def is_noop(self) -> bool:
        """True when applying would make no change."""
        return not self.changes

    def summary(self) -> dict[str, int]:
        """How many actions of each kind."""
        out = {k: 0 for k in (CREATE, UPDATE, DELETE, NOOP, KEEP)}
        for a in self.actions:
            out[a.change] += 1
        return out

    def table(self):
        """The actions as a DataFrame (one row each)."""
        import pandas as pd

        return pd.DataFrame([self._row(a) for a in self.actions],
                            columns=["step", "region", "resource", "change", "detail", "status"])

    def policy_table(self, policy: str | None = None):
        """The statement-level policy diff(s) as a DataFrame."""
        import pandas as pd

        rows = [c.as_row(name) for name, changes in self.policies.items() if policy in (None, name)
                for c in changes]
        return pd.DataFrame(rows, columns=["policy", "sid", "status", "effect", "action", "changed fields"])

    def records(self) -> list[dict[str, str]]:
        """The actions as plain rows (for :func:`gdnb.record`)."""
        return [{k: str(v) for k, v in self._row(a).items()} for a in self.actions]

    def _row(self, action: Action) -> dict[str, Any]:
        row = action.as_row()
        if action.status == "planned" and action.change in CHANGES and not self.will_apply:
            row["status"] = self.dry_run_status  # say so before apply() runs, not only after
        return row

    def _repr_html_(self) -> str:
        head = f"<p><b>{self.title}</b>: {self._summary_text()}</p>"
        return head + self.table().to_html(index=False)

    def _summary_text(self) -> str:
        counts = ", ".join(f"{n} {k}" for k, n in self.summary().items() if n)
        state = "applied" if self.applied else ("will apply" if self.will_apply else f"dry run ({self.switch}: false)")
        return f"{counts or 'nothing to do'}; {state}"

    def __str__(self) -> str:
        lines = [f"{self.title}: {self._summary_text()}"]
        lines += [f"  {a.change:7} {a.step}: {a.resource}" + (f" ({a.detail})" if a.detail else "")
                  for a in self.actions]
        return "\n".join(lines)


def policy_action(plan: Plan, name: str, changes: Sequence[StatementChange]) -> str:
    """Record a policy diff on the plan; return the change it makes (update or no-op)."""
    plan.policies[name] = list(changes)
    return UPDATE if policy_changes(changes) else NOOP


def apply(plan: Plan) -> Plan:
    """Carry out ``plan`` when its switch is true in its settings (``apply``, or ``teardown`` for a
    teardown plan); otherwise change nothing.

    Returns
    -------
    The same plan, with each action's status (``done``, ``no change``, ``dry run``) and its outputs
    completed with what was created.

    Raises
    ------
    GdnbError
        From the first action that fails; the actions before it stay done and the ones after it are not
        tried. A note on the error says what was done; once its cause is fixed, planning and applying
        again does only what is left.
    """
    if plan.applied:
        log.info("%s: already applied", plan.title)
        return plan
    if not plan.will_apply:
        for a in plan.actions:
            a.status = plan.dry_run_status if a.change in CHANGES else "no change"
        log.info("%s: dry run, nothing changed (set %s: true to carry it out)", plan.title, plan.switch)
        return plan
    context: Context = plan.outputs
    for a in plan.actions:
        if a.change not in CHANGES:
            a.status = "no change"
            continue
        log.info("%s %s %s", a.change, a.step, a.resource)
        try:
            assert a.run is not None
            a.run(context)
        except Exception as exc:
            a.status = "failed"
            done = [f"{d.change} {d.step} {d.resource}" for d in plan.actions if d.status == "done"]
            exc.add_note(f"while trying to {a.change} {a.step} {a.resource}; done before: "
                         f"{'; '.join(done) or 'nothing'}.{_rerun_advice(exc)}")
            raise
        a.status = "done"
    plan.applied = True
    return plan


def _rerun_advice(exc: Exception) -> str:
    # Only a passing condition goes away by itself; anything else fails the same way until its cause is fixed.
    if isinstance(exc, ThrottledError):
        return " Run the step again to finish: it plans again and does only what is left."
    if isinstance(exc, GdnbError):
        return " Run the step again once the cause is fixed (see Fix): it plans again and does only what is left."
    return ""
