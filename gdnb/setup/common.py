"""What every setup step needs first: checks that need no AWS call, the account, the ARN partition."""

from __future__ import annotations

import dataclasses

import botocore.exceptions

from gdnb import aws
from gdnb.config import Settings
from gdnb.errors import AwsError, ConfigError, SetupError
from gdnb.regions import export_allowed, is_opt_in, partition_of
from gdnb.setup.calls import AwsCalls

# Tag gdnb puts on what it creates, so teardown knows what is its own to delete.
CREATED_BY_TAG = "gdnb:created-by"
CREATED_BY_VALUE = "gdnb"


def preflight(settings: Settings) -> None:
    """Check the region rules GuardDuty's export imposes, before any call.

    Raises
    ------
    ConfigError
        When an exporting region may not export to the bucket's region (opt-in region rules, or another
        partition).
    """
    home = settings.home_region
    for region in settings.exporting_regions:
        if export_allowed(region, home):
            continue
        if partition_of(region) != partition_of(home):
            why = f"{region} and {home} are in different AWS partitions"
        elif is_opt_in(home):
            why = (f"{home} is an opt-in region: only findings from {home} itself may be exported to a bucket there "
                   "(findings from other regions may go to commercial regions only)")
        else:
            why = "GuardDuty does not export across these regions"
        raise ConfigError("export_regions", region, f"its findings cannot be exported to a bucket in {home}: {why}",
                          f"[{home}]", fix=f"remove {region} from export_regions, or put the bucket and key "
                          "(home_region) in a commercial region such as us-east-1.")


def tag_list(settings: Settings, key_name: str = "Key", value_name: str = "Value") -> list[dict[str, str]]:
    """The settings' tags plus gdnb's created-by tag, in the list form most APIs take."""
    tags = {**settings.tags, CREATED_BY_TAG: CREATED_BY_VALUE}
    return [{key_name: k, value_name: v} for k, v in sorted(tags.items())]


@dataclasses.dataclass(frozen=True)
class Where:
    """The account and partition a step works in."""

    account: str
    partition: str


def resolve_account(calls: AwsCalls, settings: Settings) -> Where:
    """The caller's account (checked against ``settings.account_id`` when set) and the partition.

    Raises
    ------
    SetupError
        When the credentials belong to another account than the params name.
    AwsError
        When there are no credentials or the endpoint cannot be reached.
    """
    try:
        ident = calls.call("sts", settings.home_region, "get_caller_identity")
    except botocore.exceptions.NoCredentialsError as exc:
        raise AwsError("No AWS credentials found.",
                       "set AWS_PROFILE (or profile: in the params file), or run `eval \"$(gdnb sandbox env)\"` "
                       "to use the offline sandbox.") from exc
    except aws.CREDENTIAL_EXCEPTIONS as exc:
        raise aws.credentials_error(exc, settings) from exc
    except botocore.exceptions.EndpointConnectionError as exc:
        raise AwsError(f"Cannot reach the AWS endpoint ({exc}).",
                       "check your network, or start the sandbox with `gdnb sandbox up` if AWS_ENDPOINT_URL "
                       "points at it.") from exc
    account = ident["Account"]
    if settings.account_id and settings.account_id != account:
        raise SetupError(
            f"The credentials in use belong to account {account} ({ident['Arn']}), but the params file says "
            f"account_id: {settings.account_id}. gdnb stops rather than change the wrong account.",
            f"use a profile for account {settings.account_id} (profile: in the params file or AWS_PROFILE), "
            "or correct account_id.",
        )
    return Where(account, partition_of(settings.home_region))
