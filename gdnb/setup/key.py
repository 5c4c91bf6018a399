"""The customer-managed KMS key that encrypts exported findings, found by alias or created.

GuardDuty encrypts every exported object with this key, so its policy must let the GuardDuty service
call ``kms:GenerateDataKey``, limited by ``aws:SourceAccount``/``aws:SourceArn`` to this account's
exporting detectors. Existing statements of the policy are kept; gdnb's own are added or updated by Sid.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

import botocore.exceptions

from gdnb.config import Settings
from gdnb.errors import NotFoundError, SetupError
from gdnb.setup.calls import AwsCalls
from gdnb.setup.common import CREATED_BY_TAG, CREATED_BY_VALUE, Where, preflight, resolve_account, tag_list
from gdnb.setup.detectors import detector_arns, plan_detectors
from gdnb.setup.errors import KeyUnusableError
from gdnb.setup.plan import CREATE, NOOP, UPDATE, Context, Plan, policy_action
from gdnb.setup.policies import (
    KEY_SIDS,
    diff_policies,
    key_statements,
    merge_statements,
    new_key_policy,
    parse_policy,
    policy_json,
)

log = logging.getLogger(__name__)

KEY_DESCRIPTION = "gdnb: encrypts GuardDuty findings exported to S3 ({alias})"
# Stands for the key id in a dry-run plan made before 00_kms_key created the key.
PLANNED_KEY_ID = "(created by 00_kms_key)"


@dataclasses.dataclass(frozen=True)
class KeyInfo:
    """A KMS key as ``DescribeKey`` gives it."""

    arn: str
    key_id: str
    state: str
    region: str
    spec: str
    usage: str
    manager: str
    planned: bool = False  # a stand-in for the key 00_kms_key would create (dry runs only)

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]


def find_key(calls: AwsCalls, settings: Settings) -> KeyInfo | None:
    """The key ``settings.kms_alias`` points to in the home region, or None when the alias does not exist."""
    out = calls.call("kms", settings.home_region, "describe_key", f"{settings.kms_alias} in {settings.home_region}",
                     absent=("NotFoundException",), KeyId=settings.kms_alias)
    if out is None:
        return None
    m = out["KeyMetadata"]
    return KeyInfo(arn=m["Arn"], key_id=m["KeyId"], state=m.get("KeyState", "Enabled"), region=m["Arn"].split(":")[3],
                   spec=m.get("KeySpec", m.get("CustomerMasterKeySpec", "SYMMETRIC_DEFAULT")),
                   usage=m.get("KeyUsage", "ENCRYPT_DECRYPT"), manager=m.get("KeyManager", "CUSTOMER"))


def check_key_usable(key: KeyInfo, settings: Settings) -> None:
    """Raise a clear error when GuardDuty could not encrypt with ``key``.

    Raises
    ------
    KeyUnusableError
        Disabled, pending deletion, not symmetric, or AWS managed.
    """
    alias, region = settings.kms_alias, key.region
    if key.state == "Disabled":
        raise KeyUnusableError(alias, key.arn, "Disabled",
                               f"enable it (aws kms enable-key --key-id {key.key_id} --region {region}) and run "
                               f"again, or set kms_alias to a new alias so gdnb creates a key for it.")
    if key.state == "PendingDeletion":
        raise KeyUnusableError(alias, key.arn, "PendingDeletion",
                               f"cancel the deletion (aws kms cancel-key-deletion --key-id {key.key_id} --region "
                               f"{region}, then aws kms enable-key --key-id {key.key_id} --region {region}), or "
                               "delete the alias (aws kms delete-alias) or set kms_alias to a new alias so gdnb "
                               "creates a new key.")
    if key.state != "Enabled":
        raise KeyUnusableError(alias, key.arn, key.state,
                               "wait until the key is Enabled, or set kms_alias to a new alias so gdnb creates a key.")
    if key.spec != "SYMMETRIC_DEFAULT" or key.usage != "ENCRYPT_DECRYPT":
        raise KeyUnusableError(alias, key.arn, f"{key.spec}/{key.usage}",
                               "GuardDuty needs a symmetric encryption key (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT): "
                               "set kms_alias to a new alias so gdnb creates one.")
    if key.manager != "CUSTOMER":
        raise KeyUnusableError(alias, key.arn, "AWS managed",
                               "use a customer-managed key: set kms_alias to a new alias so gdnb creates one.")


def key_for_plan(calls: AwsCalls, settings: Settings, where: Where) -> KeyInfo:
    """The usable key behind the alias; in a dry run before 00_kms_key made it, the key 00_kms_key would create.

    The stand-in's ARN ends in ``key/(created by 00_kms_key)``, so the plans of notebook 01 can be read on
    a fresh account before anything is applied.

    Raises
    ------
    NotFoundError
        With ``apply: true`` when the alias does not exist (nothing can name a key that is not there).
    KeyUnusableError
        When the alias points to a key GuardDuty cannot use.
    """
    key = find_key(calls, settings)
    if key is not None:
        check_key_usable(key, settings)
        return key
    if settings.apply:
        raise NotFoundError(
            f"The KMS alias {settings.kms_alias} does not exist in {settings.home_region}. The bucket's default "
            "encryption, its policy and the publishing destination all name the key's exact ARN.",
            "run 00_kms_key with the same params (apply: true) first; to read this step's plan before that, run "
            "it with apply: false.", "NotFoundException")
    return KeyInfo(arn=f"arn:{where.partition}:kms:{settings.home_region}:{where.account}:key/{PLANNED_KEY_ID}",
                   key_id=PLANNED_KEY_ID, state="planned", region=settings.home_region, spec="SYMMETRIC_DEFAULT",
                   usage="ENCRYPT_DECRYPT", manager="CUSTOMER", planned=True)


def current_key_policy(calls: AwsCalls, key: KeyInfo) -> dict | None:
    # PolicyName must be given: "default" is the only key policy name.
    out = calls.call("kms", key.region, "get_key_policy", key.arn, KeyId=key.key_id, PolicyName="default")
    return parse_policy(out.get("Policy"))


def desired_key_statements(context: Context, settings: Settings, where: Where) -> list[dict]:
    return key_statements(account=where.account, detector_arns=detector_arns(context, where),
                          regions=settings.exporting_regions, reader_principals=settings.reader_principals,
                          home_region=settings.home_region)


def plan_key(settings: Settings, calls: AwsCalls | None = None) -> Plan:
    """Plan the exporting detectors and the KMS key with GuardDuty's key-policy statement.

    Parameters
    ----------
    settings
        Uses ``home_region``, ``kms_alias``, ``export_regions``, ``publishing_frequency`` (for new
        detectors), ``reader_principals``, ``tags``, ``account_id`` (checked when set), ``apply``.
    calls
        The AWS clients to use (default: from the settings' profile).

    Returns
    -------
    Plan
        Detectors (found or created), the key (found by alias, or created symmetric and customer managed
        with rotation on), its alias, rotation and policy. ``outputs`` hold ``account``, ``detector_ids``
        and, when the key exists, ``key_arn``.
    """
    preflight(settings)
    calls = calls or AwsCalls(settings)
    where = resolve_account(calls, settings)
    region, alias = settings.home_region, settings.kms_alias
    plan = Plan(f"KMS key {alias} in {region}", settings,
                outputs={"account": where.account, "partition": where.partition, "home_region": region,
                         "kms_alias": alias, "key_arn": None})  # the key's ARN once it exists
    plan_detectors(plan, calls, settings, where)

    key = find_key(calls, settings)
    if key is None:
        policy = new_key_policy(where.account, desired_key_statements(plan.outputs, settings, where), where.partition)
        plan.policies["key policy"] = diff_policies(None, policy, owned=KEY_SIDS)
        plan.add("kms key", f"{alias} (new)", CREATE,
                 "symmetric, customer managed, tagged gdnb:created-by, with the key policy below", region,
                 run=_create_key(calls, settings, where))
        plan.add("kms alias", alias, CREATE, "points to the new key", region, run=_create_alias(calls, settings))
        plan.add("key rotation", f"{alias} (new)", UPDATE, "turn on automatic yearly rotation", region,
                 run=_enable_rotation(calls, region))
        return plan

    check_key_usable(key, settings)
    plan.outputs.update(key_arn=key.arn, key_id=key.key_id)
    plan.add("kms key", key.arn, NOOP, f"found by {alias}: {key.state}, {key.spec}", region)
    plan.add("kms alias", alias, NOOP, f"points to {key.key_id}", region)
    rotation = calls.call("kms", region, "get_key_rotation_status", key.arn, KeyId=key.key_id)
    if rotation.get("KeyRotationEnabled"):
        plan.add("key rotation", key.arn, NOOP, "automatic rotation is on", region)
    else:
        plan.add("key rotation", key.arn, UPDATE, "turn on automatic yearly rotation", region,
                 run=_enable_rotation(calls, region))

    current = current_key_policy(calls, key)
    merged = merge_statements(current, desired_key_statements(plan.outputs, settings, where), owned=KEY_SIDS)
    change = policy_action(plan, "key policy", diff_policies(current, merged, owned=KEY_SIDS))
    detail = ("add or update gdnb's statements by Sid; every other statement stays" if change == UPDATE
              else "GuardDuty may use the key for every exporting detector")
    plan.add("key policy", key.arn, change, detail, region,
             run=_put_key_policy(calls, settings, where, current) if change == UPDATE else None)
    return plan


# -- the actions ----------------------------------------------------------------------------------

def _with_policy(calls: AwsCalls, settings: Settings, method: str, resource: str, **params: Any) -> Any:
    """A KMS call that sets a key policy; a refused policy becomes an error that says which setting to fix."""
    try:
        return calls.call("kms", settings.home_region, method, resource, **params)
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "MalformedPolicyDocumentException":
            raise
        readers = ", ".join(settings.reader_principals) or "none"
        raise SetupError(
            f"KMS refused the key policy for {settings.kms_alias} ({exc.response['Error'].get('Message', '')}). "
            f"KMS checks that every principal in a key policy exists; gdnb's statements name GuardDuty and "
            f"reader_principals ({readers}).",
            "correct or remove the reader_principals that do not exist (create the role first), then run again.",
        ) from exc

def _create_key(calls: AwsCalls, settings: Settings, where: Where):
    def run(ctx: Context) -> None:
        policy = new_key_policy(where.account, desired_key_statements(ctx, settings, where), where.partition)
        out = _with_policy(calls, settings, "create_key", settings.kms_alias,
                           Policy=json.dumps(policy), Description=KEY_DESCRIPTION.format(alias=settings.kms_alias),
                           KeyUsage="ENCRYPT_DECRYPT", KeySpec="SYMMETRIC_DEFAULT",
                           Tags=tag_list(settings, "TagKey", "TagValue"))
        ctx["key_arn"] = out["KeyMetadata"]["Arn"]
        ctx["key_id"] = out["KeyMetadata"]["KeyId"]
    return run


def _create_alias(calls: AwsCalls, settings: Settings):
    def run(ctx: Context) -> None:
        calls.call("kms", settings.home_region, "create_alias", settings.kms_alias,
                   AliasName=settings.kms_alias, TargetKeyId=ctx["key_id"])
    return run


def _enable_rotation(calls: AwsCalls, region: str):
    def run(ctx: Context) -> None:
        calls.call("kms", region, "enable_key_rotation", ctx["key_arn"], KeyId=ctx["key_id"])
    return run


def _put_key_policy(calls: AwsCalls, settings: Settings, where: Where, current: dict | None):
    def run(ctx: Context) -> None:
        merged = merge_statements(current, desired_key_statements(ctx, settings, where), owned=KEY_SIDS)
        _with_policy(calls, settings, "put_key_policy", ctx["key_arn"], KeyId=ctx["key_id"],
                     PolicyName="default", Policy=policy_json(merged))
    return run


def key_created_by_gdnb(calls: AwsCalls, key: KeyInfo) -> bool:
    """Whether gdnb created the key (it carries gdnb's created-by tag)."""
    tags = calls.pages("kms", key.region, "list_resource_tags", "Tags", key.arn, KeyId=key.key_id)
    return any(t.get("TagKey") == CREATED_BY_TAG and t.get("TagValue") == CREATED_BY_VALUE for t in tags)
