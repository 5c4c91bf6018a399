"""Against a real AWS account, read-only: run with GDNB_AWS_TESTS=1 GDNB_AWS_PARAMS=params/aws.yaml.

The setup notebooks are run with ``apply: false`` (plans only, no write call); nothing is changed in the account.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import gdnb
from gdnb.setup import plan_key

pytestmark = pytest.mark.aws


@pytest.fixture(scope="module")
def settings() -> gdnb.Settings:
    path = os.environ.get("GDNB_AWS_PARAMS")
    assert path, "set GDNB_AWS_PARAMS to your params file (copied from params/aws.example.yaml)"
    return gdnb.load_settings(Path(path), {"apply": False, "teardown": False})


def test_caller_identity_and_key_plan_read_only(settings: gdnb.Settings):
    from gdnb.aws import caller_identity

    ident = caller_identity(settings)
    assert len(ident["Account"]) == 12
    plan = plan_key(settings)
    assert not plan.applied
    assert set(plan.table()["change"]) <= {"create", "update", "no-op", "keep"}
