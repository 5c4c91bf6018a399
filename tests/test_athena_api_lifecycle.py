"""The Athena API's query life cycle around an engine that misbehaves on purpose (queues, crashes, hangs).

The real engine cannot be made to crash or to block on cue, so these tests put a scripted engine
behind the API (its ``engine_factory``) and drive the API in-process, over WSGI.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from werkzeug.test import Client

from gdnb.sandbox.athena.api import AthenaApi
from gdnb.sandbox.athena.errors import AthenaSqlError, QueryCancelled
from gdnb.sandbox.athena.model import Column, QueryOutcome
from gdnb.sandbox.athena.storage import LocalDirStore

AUTH = "AWS4-HMAC-SHA256 Credential=testing/20261201/eu-west-1/athena/aws4_request, SignedHeaders=host, Signature=x"


class ScriptedEngine:
    """Blocks ``SELECT 'block'`` until released or cancelled; ``SELECT 'crash'`` raises a bug."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started: list[str] = []
        self.cutoffs: list[int | None] = []

    def statement_type(self, sql: str) -> str:
        if sql.startswith("SELEC "):
            raise AthenaSqlError("SYNTAX_ERROR", "mismatched input 'SELEC'", 1, 1)
        return "DDL" if sql.startswith("CREATE") else "DML"

    def execute(self, sql: str, *, cancel: threading.Event | None = None, bytes_scanned_cutoff: int | None = None,
                **_: Any) -> QueryOutcome:
        self.started.append(sql)
        self.cutoffs.append(bytes_scanned_cutoff)
        if sql == "SELECT 'crash'":
            raise ZeroDivisionError("division by zero")
        if sql == "SELECT 'block'":
            while not self.release.wait(0.01):
                if cancel is not None and cancel.is_set():
                    raise QueryCancelled()
        if sql.startswith("CREATE"):
            return QueryOutcome("DDL", [], [], 0)
        return QueryOutcome("DML", [Column("x", "varchar")], [("1",)], 42)


@pytest.fixture()
def api(tmp_path: Path) -> tuple[AthenaApi, ScriptedEngine, Client]:
    store = LocalDirStore(tmp_path / "s3")
    (tmp_path / "s3" / "results").mkdir(parents=True)
    athena = AthenaApi(SimpleNamespace(account_id="123456789012", data_dir=tmp_path), workers=1)  # type: ignore[arg-type]
    engine = ScriptedEngine()
    athena.engine_factory = lambda gateway, region: engine
    athena.store = store
    yield athena, engine, Client(athena)
    engine.release.set()
    athena.reset()


def call(client: Client, operation: str, **body: Any) -> tuple[int, dict[str, Any]]:
    response = client.post("/", data=json.dumps(body), headers={
        "X-Amz-Target": f"AmazonAthena.{operation}", "Content-Type": "application/x-amz-json-1.1",
        "Authorization": AUTH})
    assert response.headers["Content-Type"] == "application/x-amz-json-1.1"
    return response.status_code, json.loads(response.data)


def start(client: Client, sql: str, **body: Any) -> str:
    status, out = call(client, "StartQueryExecution", QueryString=sql, ClientRequestToken=str(uuid.uuid4()),
                       ResultConfiguration={"OutputLocation": "s3://results/q/"}, **body)
    assert status == 200, out
    return out["QueryExecutionId"]


def state(client: Client, query_id: str) -> dict[str, Any]:
    status, out = call(client, "GetQueryExecution", QueryExecutionId=query_id)
    assert status == 200, out
    return out["QueryExecution"]


def wait_for(client: Client, query_id: str, wanted: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution = state(client, query_id)
        if execution["Status"]["State"] == wanted:
            return execution
        time.sleep(0.01)
    raise AssertionError(f"{query_id} never reached {wanted}: {state(client, query_id)['Status']}")


def test_queries_wait_queued_while_the_workers_are_busy_and_stop_while_queued(api):
    _, engine, client = api
    blocking = start(client, "SELECT 'block'")
    wait_for(client, blocking, "RUNNING")
    queued = start(client, "SELECT 'next'")
    assert state(client, queued)["Status"]["State"] == "QUEUED"
    assert call(client, "StopQueryExecution", QueryExecutionId=queued) == (200, {})
    assert state(client, queued)["Status"]["State"] == "CANCELLED"
    engine.release.set()
    wait_for(client, blocking, "SUCCEEDED")
    assert engine.started == ["SELECT 'block'"]  # the stopped query never reached the engine


def test_stop_cancels_a_running_query_and_its_results_are_never_written(api, tmp_path: Path):
    _, _, client = api
    query_id = start(client, "SELECT 'block'")
    wait_for(client, query_id, "RUNNING")
    call(client, "StopQueryExecution", QueryExecutionId=query_id)
    execution = wait_for(client, query_id, "CANCELLED")
    assert execution["Status"]["StateChangeReason"] == "Query cancelled by user"
    assert "AthenaError" not in execution["Status"]
    time.sleep(0.1)
    assert not list((tmp_path / "s3" / "results").rglob("*"))


def test_an_engine_bug_fails_the_query_instead_of_leaving_it_running(api):
    _, _, client = api
    query_id = start(client, "SELECT 'crash'")
    execution = wait_for(client, query_id, "FAILED")
    assert execution["Status"]["StateChangeReason"] == "GENERIC_INTERNAL_ERROR: division by zero"
    assert execution["Status"]["AthenaError"]["ErrorCategory"] == 1
    # The worker survives: the next query runs.
    wait_for(client, start(client, "SELECT 'ok'"), "SUCCEEDED")


def test_unparseable_sql_fails_at_once_without_reaching_the_engine(api):
    _, engine, client = api
    execution = state(client, start(client, "SELEC 1"))
    assert execution["Status"]["State"] == "FAILED"
    assert execution["Status"]["StateChangeReason"] == "SYNTAX_ERROR: line 1:1: mismatched input 'SELEC'"
    assert execution["StatementType"] == "DML" and engine.started == []


def test_errors_have_athenas_wire_shape(api):
    _, _, client = api
    status, body = call(client, "GetQueryExecution", QueryExecutionId="nope")
    assert status == 400
    assert body == {"__type": "InvalidRequestException", "AthenaErrorCode": "QUERY_EXECUTION_NOT_FOUND",
                    "ErrorCode": "QUERY_EXECUTION_NOT_FOUND", "Message": "QueryExecution nope was not found"}
    status, body = call(client, "GetQueryExecution")
    assert status == 400 and "'queryExecutionId' failed to satisfy constraint: Member must not be null" in body[
        "Message"]
    response = client.post("/", data=b"{not json", headers={"X-Amz-Target": "AmazonAthena.ListWorkGroups",
                                                             "Authorization": AUTH})
    assert response.status_code == 400 and json.loads(response.data)["__type"] == "SerializationException"


def test_client_request_token_is_required_as_on_aws(api):
    _, _, client = api
    result = {"ResultConfiguration": {"OutputLocation": "s3://results/q/"}}
    status, body = call(client, "StartQueryExecution", QueryString="SELECT 1", **result)
    assert (status, body["Message"]) == (400, "clientRequestToken is null or empty")
    status, body = call(client, "StartQueryExecution", QueryString="SELECT 1", ClientRequestToken="short", **result)
    assert status == 400 and "greater than or equal to 32" in body["Message"]


def test_the_workgroup_cutoff_is_passed_to_the_engine(api):
    _, engine, client = api
    call(client, "CreateWorkGroup", Name="capped", Configuration={"BytesScannedCutoffPerQuery": 12_000_000})
    wait_for(client, start(client, "SELECT 'a'", WorkGroup="capped"), "SUCCEEDED")
    wait_for(client, start(client, "SELECT 'b'"), "SUCCEEDED")
    assert engine.cutoffs == [12_000_000, None]


def test_reset_stops_running_queries(api):
    athena, _, client = api
    query_id = start(client, "SELECT 'block'")
    wait_for(client, query_id, "RUNNING")
    athena.reset()
    assert call(client, "GetQueryExecution", QueryExecutionId=query_id)[0] == 400
    # The worker is free again once the engine saw the cancellation.
    wait_for(client, start(client, "SELECT 'after'"), "SUCCEEDED")
