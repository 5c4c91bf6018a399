"""Settings from a params YAML file (and overrides), validated before any AWS call.

One :class:`Settings` object describes a whole deployment: where the key, bucket and
export live, which Athena database and workgroup to use, and the report window. Notebooks
declare the subset they use in their ``parameters`` cell; :func:`settings_from_namespace`
builds the object from those names.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import ipaddress
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from gdnb.errors import ConfigError
from gdnb.finding_types import finding_type_names
from gdnb.regions import ALL_REGIONS

ACCOUNT_RE = re.compile(r"^\d{12}$")
SQL_IDENTIFIER_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
KMS_ALIAS_RE = re.compile(r"^alias/[a-zA-Z0-9/_-]{1,250}$")
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
PREFIX_RE = re.compile(r"^[A-Za-z0-9!_.*'()/-]*$")
FREQUENCIES = ("FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS")


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything gdnb needs to know about one deployment.

    Attributes are documented in ``params/aws.example.yaml``; defaults suit the sandbox.
    """

    profile: str | None = None
    account_id: str | None = None
    home_region: str = "ap-northeast-1"
    export_regions: tuple[str, ...] = ()
    bucket: str = "guardduty-alert"
    prefix: str = ""
    kms_alias: str = "alias/guardduty-alert"
    publishing_frequency: str = "FIFTEEN_MINUTES"
    sample_findings: tuple[str, ...] | str = "all"
    reader_principals: tuple[str, ...] = ()
    tags: Mapping[str, str] = dataclasses.field(default_factory=lambda: {"project": "gdnb"})
    apply: bool = False
    athena_region: str | None = None
    database: str = "guardduty"
    workgroup: str = "gdnb"
    results_bucket: str | None = None
    bytes_scanned_cutoff: int = 10 * 1024**3
    price_per_tb: float = 5.0
    start: dt.date | None = None
    end: dt.date | None = None
    lookback_days: int = 7
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    min_severity: float = 0.0
    teardown: bool = False
    delete_findings: bool = False
    confirm_bucket: str = ""
    key_pending_days: int = 30

    # -- derived values -------------------------------------------------------------------
    @property
    def exporting_regions(self) -> tuple[str, ...]:
        """The regions whose detectors export (the home region when none are listed)."""
        return self.export_regions or (self.home_region,)

    @property
    def query_region(self) -> str:
        """The region Athena runs in (the home region unless set)."""
        return self.athena_region or self.home_region

    @property
    def athena_results_bucket(self) -> str:
        """The bucket for Athena query results (kept apart from the findings bucket)."""
        return self.results_bucket or f"{self.bucket}-athena-results"

    def window(self, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
        """The report window ``(start, end)``, both inclusive, in UTC days."""
        today = today or dt.datetime.now(dt.UTC).date()
        end = self.end or today
        start = self.start or end - dt.timedelta(days=self.lookback_days - 1)
        return start, end

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied and validated."""
        return load_settings(overrides={**as_dict(self), **changes})


FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Settings))


def as_dict(settings: Settings) -> dict[str, Any]:
    """The settings as plain values (lists, ISO date strings), as in a params file."""
    out: dict[str, Any] = {}
    for name in FIELDS:
        value = getattr(settings, name)
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, dt.date):
            value = value.isoformat()
        elif isinstance(value, Mapping):
            value = dict(value)
        out[name] = value
    return out


def load_settings(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Read a params YAML file, apply ``overrides`` and validate the result.

    Parameters
    ----------
    path
        A params file such as ``params/sandbox.yaml``; ``None`` starts from the defaults.
    overrides
        Values that win over the file (for example from ``-p key value`` on the command line).

    Raises
    ------
    ConfigError
        When a key is unknown or a value breaks its rule; nothing has been called yet.
    """
    raw: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError("params file", str(p), "the file does not exist", "params/sandbox.yaml")
        try:
            loaded = yaml.load(p.read_text(), Loader=DatesAsTextLoader) or {}
        except yaml.YAMLError as exc:
            raise ConfigError("params file", str(p), f"not valid YAML: {exc}", "key: value lines") from exc
        if not isinstance(loaded, dict):
            raise ConfigError("params file", str(p), "must be a mapping of setting names to values",
                              "bucket: guardduty-alert")
        raw.update(loaded)
    raw.update(overrides or {})
    return _validate(raw)


def parse_override(text: str) -> Any:
    """A ``-p NAME VALUE`` value read as a YAML scalar or list, dates kept as text for the date check."""
    try:
        return yaml.load(text, Loader=DatesAsTextLoader)
    except (yaml.YAMLError, ValueError):
        return text


def settings_from_namespace(namespace: Mapping[str, Any]) -> Settings:
    """Build settings from a notebook's variables: every name that is a setting is taken."""
    return load_settings(overrides={k: v for k, v in namespace.items() if k in FIELDS})


class DatesAsTextLoader(yaml.SafeLoader):
    """YAML without implicit timestamps: an impossible date such as 2026-02-30 reaches the date check
    (which names the setting) instead of failing inside the YAML parser."""


DatesAsTextLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


# -- validation ---------------------------------------------------------------------------

def _validate(raw: Mapping[str, Any]) -> Settings:
    unknown = [k for k in raw if k not in FIELDS]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(str(key), FIELDS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(str(key), raw[key], "not a gdnb setting", close[0] if close else FIELDS[0],
                          fix=f"{hint}remove or rename {key!r}; the settings are: {', '.join(FIELDS)}.")
    values: dict[str, Any] = {}
    for name, value in raw.items():
        values[name] = _CHECKS.get(name, _passthrough)(name, value)
    settings = Settings(**values)
    _check_combinations(settings)
    return settings


def _passthrough(name: str, value: Any) -> Any:
    return value


def check_account_id(name: str, value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    if not ACCOUNT_RE.match(text):
        raise ConfigError(name, value, "an AWS account id is exactly 12 digits, quoted in YAML", "'123456789012'")
    return text


def check_region(name: str, value: Any) -> str:
    if not isinstance(value, str) or value not in ALL_REGIONS:
        close = difflib.get_close_matches(str(value), sorted(ALL_REGIONS), n=1)
        raise ConfigError(name, value, "not an AWS region name", close[0] if close else "ap-northeast-1")
    return value


def _optional_region(name: str, value: Any) -> str | None:
    return None if value is None else check_region(name, value)


def _regions(name: str, value: Any) -> tuple[str, ...]:
    items = _as_list(name, value, "[ap-northeast-1, us-east-1]")
    return tuple(check_region(name, v) for v in items)


def check_bucket_name(name: str, value: Any) -> str:
    example = "guardduty-alert"
    if not isinstance(value, str) or not BUCKET_RE.match(value):
        raise ConfigError(name, value, "S3 bucket names are 3-63 characters of lower-case letters, digits, "
                          "dots and hyphens, starting and ending with a letter or digit", example)
    if ".." in value or ".-" in value or "-." in value:
        raise ConfigError(name, value, "S3 bucket names cannot have adjacent dots or a dot next to a hyphen",
                          example)
    try:
        ipaddress.ip_address(value)
    except ValueError:
        pass
    else:
        raise ConfigError(name, value, "S3 bucket names cannot look like an IP address", example)
    if value.startswith(("xn--", "sthree-", "amzn-s3-demo-")) or value.endswith(
            ("-s3alias", "--ol-s3", ".mrap", "--x-s3")):
        raise ConfigError(name, value, "S3 reserves that prefix or suffix", example)
    return value


def _optional_bucket(name: str, value: Any) -> str | None:
    return None if value is None else check_bucket_name(name, value)


def _prefix(name: str, value: Any) -> str:
    value = "" if value is None else value
    if not isinstance(value, str) or not PREFIX_RE.match(value) or value.startswith("/") or "//" in value:
        raise ConfigError(name, value, "a key prefix of letters, digits and !_.*'()/- that does not start "
                          "with '/' nor hold '//'", "guardduty")
    if value.startswith("AWSLogs"):
        raise ConfigError(name, value, "GuardDuty adds AWSLogs/ itself after the prefix", "guardduty")
    return value.strip("/")


def check_kms_alias(name: str, value: Any) -> str:
    if not isinstance(value, str) or not KMS_ALIAS_RE.match(value):
        raise ConfigError(name, value, "a KMS alias is 'alias/' followed by letters, digits, '/', '_' or '-'",
                          "alias/guardduty-alert")
    if value.startswith("alias/aws/"):
        raise ConfigError(name, value, "aliases under alias/aws/ belong to AWS-managed keys",
                          "alias/guardduty-alert")
    return value


def check_sql_identifier(name: str, value: Any) -> str:
    if not isinstance(value, str) or not SQL_IDENTIFIER_RE.match(value):
        raise ConfigError(name, value, "SQL identifiers match ^[a-z_][a-z0-9_]*$ (lower case, digits, "
                          "underscores; no quotes, dots or spaces)", "guardduty")
    return value


def _workgroup(name: str, value: Any) -> str:
    if not isinstance(value, str) or not re.match(r"^[a-zA-Z0-9._-]{1,128}$", value):
        raise ConfigError(name, value, "an Athena workgroup name is 1-128 letters, digits, '.', '_' or '-'",
                          "gdnb")
    return value


def _frequency(name: str, value: Any) -> str:
    if value not in FREQUENCIES:
        raise ConfigError(name, value, f"one of {', '.join(FREQUENCIES)}", "FIFTEEN_MINUTES")
    return value


def _sample_findings(name: str, value: Any) -> tuple[str, ...] | str:
    if value in (None, False, "none", []):
        return ()
    if value in ("all", True):
        return "all"
    items = _as_list(name, value, "[Trojan:EC2/DNSDataExfiltration]")
    known = finding_type_names()
    for item in items:
        if item not in known:
            close = difflib.get_close_matches(str(item), sorted(known), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(name, item, "not a GuardDuty finding type (ThreatPurpose:ResourceType/Name, "
                              "or 'all', or 'none')", close[0] if close else "Trojan:EC2/DNSDataExfiltration",
                              fix=f"{hint}use finding types as GuardDuty names them, 'all' or 'none'.")
    return tuple(items)


def _principals(name: str, value: Any) -> tuple[str, ...]:
    items = _as_list(name, value, "[arn:aws:iam::123456789012:role/SecurityAnalyst]")
    for item in items:
        if not isinstance(item, str) or not re.match(r"^arn:aws[a-z-]*:(iam|sts)::\d{12}:\S+$", item):
            raise ConfigError(name, item, "an IAM principal ARN", "arn:aws:iam::123456789012:role/SecurityAnalyst")
    return tuple(items)


def _accounts(name: str, value: Any) -> tuple[str, ...]:
    items = _as_list(name, value, "['123456789012']")
    return tuple(check_account_id(name, v) or "" for v in items)


def _tags(name: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(name, value, "a mapping of tag keys to values", "{project: gdnb}")
    for k, v in value.items():
        if not isinstance(k, str) or not 1 <= len(k) <= 128 or k.startswith("aws:"):
            raise ConfigError(name, k, "a tag key is 1-128 characters and cannot start with 'aws:'", "project")
        if isinstance(v, bool) or v is None or not isinstance(v, str | int | float) or len(str(v)) > 256:
            raise ConfigError(name, {k: v}, "a tag value is text of at most 256 characters", "{project: gdnb}")
    return {k: str(v) for k, v in value.items()}


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(name, value, "true or false", "true")
    return value


def _optional_str(name: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(name, value, "a text value", "default")
    return value


def _str(name: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConfigError(name, value, "a text value", "guardduty-alert")
    return value


def check_date(name: str, value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
        raise ConfigError(name, value, "an ISO date YYYY-MM-DD", "2026-11-01")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigError(name, value, "an ISO date YYYY-MM-DD (that day does not exist)", "2026-11-01") from None


def _int_range(low: int, high: int | None, example: str):
    def check(name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise ConfigError(name, value, f"a whole number {bound}", example)
        return value
    return check


def _float_range(low: float, high: float, example: str):
    def check(name: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise ConfigError(name, value, f"a number between {low} and {high}", example)
        return float(value)
    return check


def _as_list(name: str, value: Any, example: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list | tuple):
        return list(value)
    raise ConfigError(name, value, "a list", example)


_CHECKS: dict[str, Any] = {
    "profile": _optional_str,
    "account_id": check_account_id,
    "home_region": check_region,
    "export_regions": _regions,
    "bucket": check_bucket_name,
    "prefix": _prefix,
    "kms_alias": check_kms_alias,
    "publishing_frequency": _frequency,
    "sample_findings": _sample_findings,
    "reader_principals": _principals,
    "tags": _tags,
    "apply": _bool,
    "athena_region": _optional_region,
    "database": check_sql_identifier,
    "workgroup": _workgroup,
    "results_bucket": _optional_bucket,
    "bytes_scanned_cutoff": _int_range(10 * 1024**2, None, "10737418240"),
    "price_per_tb": _float_range(0.0, 1000.0, "5.0"),
    "start": check_date,
    "end": check_date,
    "lookback_days": _int_range(1, 3650, "7"),
    "accounts": _accounts,
    "regions": _regions,
    "min_severity": _float_range(0.0, 10.0, "4.0"),
    "teardown": _bool,
    "delete_findings": _bool,
    "confirm_bucket": _str,
    "key_pending_days": _int_range(7, 30, "30"),
}


def _check_combinations(s: Settings) -> None:
    if s.start and s.end and s.start > s.end:
        raise ConfigError("start", s.start.isoformat(), f"the window starts after it ends ({s.end.isoformat()})",
                          f"start: {s.end.isoformat()}")
    if s.results_bucket and s.results_bucket == s.bucket:
        raise ConfigError("results_bucket", s.results_bucket,
                          "Athena results must not share the findings bucket (its policy denies other keys)",
                          f"{s.bucket}-athena-results")
