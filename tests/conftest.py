"""Shared fixtures: one sandbox per test session, reached only through its endpoint."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from gdnb.sandbox import control

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[control.SandboxState]:
    """A sandbox on a free port, with its environment exported to this process (and its children)."""
    data_dir = tmp_path_factory.mktemp("sandbox")
    state = control.start(port=0, data_dir=data_dir)
    saved = {k: os.environ.get(k) for k in [*state.env(), "AWS_PROFILE", "AWS_SESSION_TOKEN"]}
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.update(state.env())
    try:
        yield state
    finally:
        control.stop(data_dir)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture()
def clean_sandbox(sandbox: control.SandboxState) -> control.SandboxState:
    """The session sandbox, reset to empty before the test."""
    req = urllib.request.Request(f"{sandbox.endpoint}/moto-api/reset", data=b"", method="POST")
    urllib.request.urlopen(req, timeout=10).read()
    return sandbox


@pytest.fixture()
def in_process_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """For tests under ``moto.mock_aws``: no endpoint override, so boto3 calls stay in-process."""
    for key in list(os.environ):
        if key.startswith("AWS_ENDPOINT_URL"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``aws`` reach a real account: they run only with GDNB_AWS_TESTS=1 (and its params file)."""
    if os.environ.get("GDNB_AWS_TESTS") == "1":
        return
    kept = [item for item in items if "aws" not in item.keywords]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if "aws" in item.keywords])
        items[:] = kept
