"""Setting up GuardDuty's export: the KMS key, the findings bucket, the export, and teardown.

Each ``plan_*`` function reads what exists and returns a :class:`Plan` (create / update / no-op, with
the statement-level policy diffs); :func:`apply` carries it out when the settings say ``apply: true``
(``teardown: true`` for :func:`plan_teardown`). Running a step twice changes nothing the second time.
"""

from __future__ import annotations

from gdnb.setup.bucket import plan_bucket
from gdnb.setup.calls import aws_calls, calls_mark, calls_table
from gdnb.setup.cloudformation import cloudformation_template, cloudformation_yaml, render_cloudformation
from gdnb.setup.export import list_exported_objects, plan_export
from gdnb.setup.key import plan_key
from gdnb.setup.plan import Action, Plan, apply
from gdnb.setup.results import record_results, setup_results
from gdnb.setup.teardown import plan_teardown

__all__ = [
    "Action",
    "Plan",
    "apply",
    "aws_calls",
    "calls_mark",
    "calls_table",
    "cloudformation_template",
    "cloudformation_yaml",
    "list_exported_objects",
    "plan_bucket",
    "plan_export",
    "plan_key",
    "plan_teardown",
    "record_results",
    "render_cloudformation",
    "setup_results",
]
