"""The params files: every key a valid setting and a parameter of some notebook; sandbox.yaml covers them all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from gdnb.config import FIELDS, load_settings
from gdnb.notebooks import notebook_parameters, notebook_params

ROOT = Path(__file__).resolve().parent.parent
PARAMS = sorted((ROOT / "params").glob("*.yaml"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def declared() -> dict[str, set[str]]:
    return {nb.stem: set(notebook_parameters(nb)) for nb in NOTEBOOKS}


def test_the_params_files_exist():
    assert {"sandbox.yaml", "aws.example.yaml"} <= {p.name for p in PARAMS}


@pytest.mark.parametrize("path", PARAMS, ids=lambda p: p.name)
def test_every_key_is_a_valid_setting_used_by_a_notebook(path: Path):
    load_settings(path)  # raises ConfigError naming the key otherwise
    keys = set(yaml.safe_load(path.read_text()))
    used = set().union(*declared().values())
    assert keys <= set(FIELDS)
    assert not keys - used, f"{sorted(keys - used)} in {path.name} are parameters of no notebook"


def test_every_notebook_setting_appears_in_the_sandbox_params():
    sandbox = set(yaml.safe_load((ROOT / "params" / "sandbox.yaml").read_text()))
    for name, params in declared().items():
        missing = (params & set(FIELDS)) - sandbox
        assert not missing, f"{name} declares {sorted(missing)}, absent from params/sandbox.yaml"


def test_sandbox_params_apply_and_export_three_regions_to_one_bucket():
    s = load_settings(ROOT / "params" / "sandbox.yaml")
    assert s.apply is True and s.home_region == "ap-northeast-1" and s.bucket == "guardduty-alert"
    assert s.teardown is False and s.delete_findings is False  # applying the setup never tears it down
    assert s.kms_alias == "alias/guardduty-alert" and s.sample_findings == "all"
    assert s.exporting_regions == ("ap-northeast-1", "us-east-1", "eu-west-1")


def test_the_aws_example_is_safe_and_explains_every_key():
    path = ROOT / "params" / "aws.example.yaml"
    settings = load_settings(path)
    assert settings.apply is False and settings.teardown is False and settings.delete_findings is False
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^[a-z_]+:", line):
            assert lines[i - 1].startswith("#"), f"no comment above {line!r}"


def test_a_notebook_gets_only_the_parameters_it_declares():
    for nb in NOTEBOOKS:
        given = notebook_params(nb, ROOT / "params" / "sandbox.yaml")
        assert set(given) <= set(notebook_parameters(nb)), nb.stem
    key = notebook_params("00_kms_key", ROOT / "params" / "sandbox.yaml", {"apply": False})
    assert "bucket" not in key and key["apply"] is False
    assert key["export_regions"] == ["ap-northeast-1", "us-east-1", "eu-west-1"]


def test_teardown_has_its_own_switch_and_ignores_apply():
    given = notebook_params("99_teardown", ROOT / "params" / "sandbox.yaml")
    assert "apply" not in notebook_parameters(ROOT / "notebooks" / "99_teardown.ipynb")
    assert given["teardown"] is False and "apply" not in given
