"""environment.yml and pyproject.toml name the same dependencies with the same pins."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# conda-forge spells a few packages differently from PyPI.
CONDA_TO_PYPI = {"python-duckdb": "duckdb", "python-isal": "isal"}
MOVING_APIS = {"duckdb", "sqlglot", "moto", "pyathena", "pandas", "papermill"}


def _split(requirement: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*(.*)$", requirement)
    assert m, requirement
    return m.group(1).lower(), m.group(3).replace(" ", "")


def _pyproject() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = data["project"]["dependencies"] + data["project"]["optional-dependencies"]["dev"]
    return dict(_split(r) for r in reqs)


def _environment() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    found: dict[str, str] = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for pip_req in dep["pip"]:
                name, spec = _split(pip_req)
                found[name] = spec
            continue
        name, spec = _split(dep.replace("=", "==", 1) if re.match(r"^[\w.-]+=[^=]", dep) else dep)
        if name in {"python", "pip"}:
            continue
        found[CONDA_TO_PYPI.get(name, name)] = spec
    return found


def test_environment_and_pyproject_agree():
    assert _environment() == _pyproject()


def test_moving_apis_are_pinned_to_compatible_ranges():
    deps = _pyproject()
    for name in MOVING_APIS:
        assert deps[name].startswith("~="), f"{name} should be pinned with ~= (compatible release), got {deps[name]!r}"


def test_readme_quickstart_is_two_commands():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make demo", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
