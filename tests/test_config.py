"""Settings: every rule rejects a bad value before any AWS call, naming field, value, rule and example."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gdnb.config import FIELDS, as_dict, load_settings, settings_from_namespace
from gdnb.errors import ConfigError


@pytest.mark.parametrize(
    ("field", "value", "rule_words"),
    [
        ("account_id", "12345", "12 digits"),
        ("account_id", 12345678901, "12 digits"),
        ("home_region", "us-east-9", "region"),
        ("home_region", "ap-northeast1", "region"),
        ("export_regions", ["us-east-1", "mars-1"], "region"),
        ("bucket", "GuardDuty_Alert", "bucket names"),
        ("bucket", "ab", "bucket names"),
        ("bucket", "a..b", "adjacent dots"),
        ("bucket", "192.168.1.1", "IP address"),
        ("bucket", "xn--bucket", "reserves"),
        ("kms_alias", "guardduty-alert", "alias/"),
        ("kms_alias", "alias/aws/s3", "AWS-managed"),
        ("database", "GuardDuty", "SQL identifiers"),
        ("database", "gd; DROP TABLE x", "SQL identifiers"),
        ("start", "2026-02-30", "ISO date"),
        ("end", "yesterday", "ISO date"),
        ("publishing_frequency", "FIVE_MINUTES", "FIFTEEN_MINUTES"),
        ("sample_findings", ["not a type"], "finding type"),
        ("prefix", "/leading", "prefix"),
        ("prefix", "AWSLogs/x", "AWSLogs"),
        ("apply", "yes", "true or false"),
        ("key_pending_days", 3, "between 7 and 30"),
        ("min_severity", 11, "between 0.0 and 10.0"),
        ("reader_principals", ["analyst"], "principal ARN"),
    ],
)
def test_bad_values_are_rejected_with_field_value_rule_and_example(field, value, rule_words):
    with pytest.raises(ConfigError) as info:
        load_settings(overrides={field: value})
    err = info.value
    assert err.field == field
    text = str(err)
    assert field in text
    values = value if isinstance(value, list) else [value]
    assert any(str(v) in text for v in values)
    assert rule_words in text
    assert "for example" in text or "Fix:" in text


def test_unknown_key_names_the_closest_setting():
    with pytest.raises(ConfigError, match="did you mean 'bucket'"):
        load_settings(overrides={"buckt": "x"})


def test_reversed_window_is_rejected():
    with pytest.raises(ConfigError, match="starts after it ends"):
        load_settings(overrides={"start": "2026-12-05", "end": "2026-12-01"})


def test_results_bucket_must_differ_from_findings_bucket():
    with pytest.raises(ConfigError, match="must not share"):
        load_settings(overrides={"bucket": "guardduty-alert", "results_bucket": "guardduty-alert"})


def test_good_values_and_derived_settings():
    s = load_settings(overrides={"account_id": "111122223333", "export_regions": "us-east-1, eu-west-1",
                                 "start": "2026-11-01", "end": dt.date(2026, 11, 7), "prefix": "gd/"})
    assert s.account_id == "111122223333"
    assert s.exporting_regions == ("us-east-1", "eu-west-1")
    assert s.window() == (dt.date(2026, 11, 1), dt.date(2026, 11, 7))
    assert s.prefix == "gd"
    assert s.query_region == s.home_region
    assert s.athena_results_bucket == "guardduty-alert-athena-results"
    assert load_settings(overrides=as_dict(s)) == s


def test_lookback_window_ends_today_utc():
    s = load_settings(overrides={"lookback_days": 7})
    start, end = s.window(today=dt.date(2026, 12, 4))
    assert (start, end) == (dt.date(2026, 11, 28), dt.date(2026, 12, 4))


def test_params_file_errors(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("bucket: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(listy)


def test_overrides_win_over_file(tmp_path: Path):
    f = tmp_path / "p.yaml"
    f.write_text("bucket: from-file-bucket\nhome_region: eu-west-1\n")
    s = load_settings(f, {"bucket": "from-override"})
    assert (s.bucket, s.home_region) == ("from-override", "eu-west-1")


def test_settings_from_namespace_takes_only_settings():
    ns = {"bucket": "nb-bucket", "apply": True, "cfg": object(), "__name__": "x"}
    s = settings_from_namespace(ns)
    assert s.bucket == "nb-bucket" and s.apply is True
    assert set(FIELDS) >= {"bucket", "apply"}


def test_impossible_date_in_a_params_file_names_the_setting(tmp_path: Path):
    f = tmp_path / "p.yaml"
    f.write_text("start: 2026-02-30\nend: 2026-03-01\n")
    with pytest.raises(ConfigError) as info:
        load_settings(f)
    assert info.value.field == "start" and "does not exist" in str(info.value)


def test_dates_in_a_params_file_are_read_as_dates(tmp_path: Path):
    f = tmp_path / "p.yaml"
    f.write_text("start: 2026-11-01\nend: '2026-11-07'\n")
    s = load_settings(f)
    assert (s.start, s.end) == (dt.date(2026, 11, 1), dt.date(2026, 11, 7))


@pytest.mark.parametrize("value", [20261101, "20261101", "2026-1-1"])
def test_dates_must_be_extended_iso(value):
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        load_settings(overrides={"start": value})


def test_misspelt_sample_finding_type_names_the_closest():
    with pytest.raises(ConfigError, match="did you mean 'Recon:EC2/PortProbeUnprotectedPort'"):
        load_settings(overrides={"sample_findings": ["Recon:EC2/PortProbeUnprotectedPorts"]})
    ok = load_settings(overrides={"sample_findings": ["Recon:EC2/PortProbeUnprotectedPort"]})
    assert ok.sample_findings == ("Recon:EC2/PortProbeUnprotectedPort",)


@pytest.mark.parametrize("tags", [{"a": None}, {"aws:x": "y"}, {"k": "v" * 300}, ["project"]])
def test_bad_tags_are_rejected(tags):
    with pytest.raises(ConfigError, match="tag"):
        load_settings(overrides={"tags": tags})
