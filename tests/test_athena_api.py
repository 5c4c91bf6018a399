"""The sandbox's Athena API through boto3 and the AWS CLI, as a user drives it (real engine, real sandbox)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from gdnb.sandbox import control
from gdnb.sandbox.athena.api import WORKERS
from gdnb.sandbox.athena.results import decode_metadata

REGION = "us-east-1"
RESULTS = "athena-results"
DATA = "findings-data"
FINAL = ("SUCCEEDED", "FAILED", "CANCELLED")


def _athena(region: str = REGION):
    return boto3.client("athena", region_name=region)


def _s3(region: str = REGION):
    return boto3.client("s3", region_name=region)


def wait(athena, query_execution_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll GetQueryExecution until the query ends, as a client does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution = athena.get_query_execution(QueryExecutionId=query_execution_id)["QueryExecution"]
        if execution["Status"]["State"] in FINAL:
            return execution
        time.sleep(0.05)
    raise AssertionError(f"query {query_execution_id} did not end within {timeout} s")


def run(athena, sql: str, output: str | None = f"s3://{RESULTS}/out/", **kwargs: Any) -> dict[str, Any]:
    """Start a query and wait for its end."""
    if output is not None:
        kwargs.setdefault("ResultConfiguration", {"OutputLocation": output})
    query_execution_id = athena.start_query_execution(QueryString=sql, **kwargs)["QueryExecutionId"]
    return wait(athena, query_execution_id)


def succeeded(athena, sql: str, **kwargs: Any) -> dict[str, Any]:
    execution = run(athena, sql, **kwargs)
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    return execution


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


def _finding(i: int) -> dict[str, Any]:
    kinds = ["Recon:EC2/PortProbeUnprotectedPort", "Trojan:EC2/DNSDataExfiltration", 'UnauthorizedAccess:IAM/"x"']
    return {"id": f"f{i:04d}", "type": kinds[i % 3], "severity": 2.0 + (i % 7),
            "region": "us-east-1", "resource": {"instanceDetails": {"instanceId": f"i-{i:04x}"}},
            "note": None if i % 5 == 0 else f"note {i}"}


def put_findings(s3, objects: int = 3, per_object: int = 10, prefix: str = "findings/") -> int:
    """Gzip JSON Lines objects under ``s3://findings-data/<prefix>``; return their total size in bytes."""
    total = 0
    for o in range(objects):
        lines = "\n".join(json.dumps(_finding(o * per_object + i)) for i in range(per_object)) + "\n"
        body = gzip.compress(lines.encode())
        total += len(body)
        s3.put_object(Bucket=DATA, Key=f"{prefix}part-{o}.jsonl.gz", Body=body)
    return total


TABLE_DDL = f"""CREATE EXTERNAL TABLE findings (
  id string, type string, severity double, region string,
  resource struct<instancedetails:struct<instanceid:string>>, note string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://{DATA}/findings/'"""


@pytest.fixture()
def buckets(clean_sandbox: control.SandboxState) -> control.SandboxState:
    s3 = _s3()
    s3.create_bucket(Bucket=RESULTS)
    s3.create_bucket(Bucket=DATA)
    return clean_sandbox


@pytest.fixture()
def findings_table(buckets: control.SandboxState) -> int:
    """Database ``gd`` with table ``findings`` over 3 gzip objects (30 findings); returns bytes stored."""
    athena = _athena()
    size = put_findings(_s3())
    succeeded(athena, "CREATE DATABASE gd")
    succeeded(athena, TABLE_DDL, QueryExecutionContext={"Database": "gd"})
    return size


# -- queries and their results ----------------------------------------------------------------
def test_select_is_queued_then_succeeds_with_statistics_and_output_location(findings_table: int):
    athena = _athena()
    started = athena.start_query_execution(
        QueryString="SELECT type, count(*) AS n FROM findings GROUP BY type ORDER BY type",
        QueryExecutionContext={"Database": "gd"},
        ResultConfiguration={"OutputLocation": f"s3://{RESULTS}/out/"})
    query_id = started["QueryExecutionId"]
    first = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    assert first["Status"]["State"] in ("QUEUED", "RUNNING", "SUCCEEDED")
    execution = wait(athena, query_id)
    assert execution["Status"]["State"] == "SUCCEEDED"
    assert execution["StatementType"] == "DML"
    assert execution["ResultConfiguration"]["OutputLocation"] == f"s3://{RESULTS}/out/{query_id}.csv"
    assert execution["QueryExecutionContext"] == {"Database": "gd"}
    assert execution["WorkGroup"] == "primary"
    assert execution["EngineVersion"]["EffectiveEngineVersion"] == "Athena engine version 3"
    stats = execution["Statistics"]
    # Gzip JSON is read whole: bytes scanned is the size of every object under the table.
    assert stats["DataScannedInBytes"] == findings_table
    assert stats["TotalExecutionTimeInMillis"] >= stats["EngineExecutionTimeInMillis"] >= 0
    assert {"QueryQueueTimeInMillis", "ServiceProcessingTimeInMillis"} <= stats.keys()
    assert execution["Status"]["CompletionDateTime"] >= execution["Status"]["SubmissionDateTime"]

    got = athena.get_query_results(QueryExecutionId=query_id)
    rows = [[d.get("VarCharValue") for d in r["Data"]] for r in got["ResultSet"]["Rows"]]
    assert rows == [["type", "n"], ["Recon:EC2/PortProbeUnprotectedPort", "10"],
                    ["Trojan:EC2/DNSDataExfiltration", "10"], ['UnauthorizedAccess:IAM/"x"', "10"]]
    info = got["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
    assert [(c["Name"], c["Type"], c["Precision"], c["CaseSensitive"]) for c in info] == [
        ("type", "varchar", 2147483647, True), ("n", "bigint", 19, False)]
    assert got["UpdateCount"] == 0 and "NextToken" not in got


def test_result_files_are_written_where_athena_writes_them(findings_table: int):
    athena, s3 = _athena(), _s3()
    execution = succeeded(athena, "SELECT id, type, note FROM findings WHERE id IN ('f0000', 'f0002') ORDER BY id",
                          QueryExecutionContext={"Database": "gd"})
    query_id = execution["QueryExecutionId"]
    data = s3.get_object(Bucket=RESULTS, Key=f"out/{query_id}.csv")["Body"].read()
    # Header first, every value quoted, quotes doubled, NULL an empty unquoted field.
    assert data == (b'"id","type","note"\n"f0000","Recon:EC2/PortProbeUnprotectedPort",\n'
                    b'"f0002","UnauthorizedAccess:IAM/""x""","note 2"\n')
    meta = s3.get_object(Bucket=RESULTS, Key=f"out/{query_id}.csv.metadata")["Body"].read()
    meta_id, columns = decode_metadata(meta)
    assert meta_id == query_id and [c["Name"] for c in columns] == ["id", "type", "note"]


def test_results_page_by_max_results_with_the_header_on_the_first_page(buckets: control.SandboxState):
    athena = _athena()
    execution = succeeded(athena, "SELECT x, CASE WHEN x % 100 = 0 THEN NULL ELSE 'v' || CAST(x AS varchar) END AS v "
                                  "FROM UNNEST(sequence(1, 2500)) AS t(x) ORDER BY x")
    query_id = execution["QueryExecutionId"]
    pages, token = [], None
    while True:
        kwargs = {"NextToken": token} if token else {}
        page = athena.get_query_results(QueryExecutionId=query_id, MaxResults=1000, **kwargs)
        pages.append(page["ResultSet"]["Rows"])
        token = page.get("NextToken")
        if not token:
            break
    assert [len(p) for p in pages] == [1000, 1000, 501]  # 2,500 rows and the header row
    rows = [r["Data"] for p in pages for r in p]
    assert rows[0] == [{"VarCharValue": "x"}, {"VarCharValue": "v"}]
    assert rows[1] == [{"VarCharValue": "1"}, {"VarCharValue": "v1"}]
    assert rows[100] == [{"VarCharValue": "100"}, {}]  # NULL has no VarCharValue
    assert rows[-2:] == [[{"VarCharValue": "2499"}, {"VarCharValue": "v2499"}], [{"VarCharValue": "2500"}, {}]]
    # boto3's paginator reads the same pages.
    paginated = list(athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id))
    assert sum(len(p["ResultSet"]["Rows"]) for p in paginated) == 2501


def test_max_results_over_1000_is_refused(buckets: control.SandboxState):
    athena = _athena()
    query_id = succeeded(athena, "SELECT 1 AS one")["QueryExecutionId"]
    with pytest.raises(ClientError) as exc:
        athena.get_query_results(QueryExecutionId=query_id, MaxResults=1001)
    code, message = _error(exc)
    assert code == "InvalidRequestException"
    assert "maxResults" in message and "less than or equal to 1000" in message


def test_ddl_changes_glue_and_writes_a_txt_result(findings_table: int):
    athena, s3, glue = _athena(), _s3(), boto3.client("glue", region_name=REGION)
    table = glue.get_table(DatabaseName="gd", Name="findings")["Table"]
    assert table["StorageDescriptor"]["Location"] == f"s3://{DATA}/findings/"
    execution = succeeded(athena, "SHOW TABLES IN gd")
    query_id = execution["QueryExecutionId"]
    assert execution["StatementType"] in ("UTILITY", "DDL")
    assert execution["ResultConfiguration"]["OutputLocation"] == f"s3://{RESULTS}/out/{query_id}.txt"
    assert s3.get_object(Bucket=RESULTS, Key=f"out/{query_id}.txt")["Body"].read() == b"findings"
    got = athena.get_query_results(QueryExecutionId=query_id)
    assert [[d.get("VarCharValue") for d in r["Data"]] for r in got["ResultSet"]["Rows"]] == [["findings"]]
    drop = succeeded(athena, "DROP TABLE gd.findings")
    assert drop["StatementType"] == "DDL"
    assert "UpdateCount" not in athena.get_query_results(QueryExecutionId=drop["QueryExecutionId"])
    with pytest.raises(ClientError):
        glue.get_table(DatabaseName="gd", Name="findings")


def test_bad_sql_fails_with_the_syntax_error_reason(buckets: control.SandboxState):
    athena = _athena()
    execution = run(athena, "SELEC 1")
    status = execution["Status"]
    assert status["State"] == "FAILED"
    assert status["StateChangeReason"].startswith("SYNTAX_ERROR: ")
    assert status["AthenaError"]["ErrorCategory"] == 2 and status["AthenaError"]["Retryable"] is False
    assert status["AthenaError"]["ErrorMessage"] == status["StateChangeReason"]
    assert execution["Statistics"]["DataScannedInBytes"] == 0
    with pytest.raises(ClientError) as exc:
        athena.get_query_results(QueryExecutionId=execution["QueryExecutionId"])
    assert _error(exc) == ("InvalidRequestException", "Query did not finish successfully. Final query state: FAILED")


def test_a_failed_query_over_data_scans_nothing(findings_table: int):
    execution = run(_athena(), "SELECT no_such_column FROM findings", QueryExecutionContext={"Database": "gd"})
    assert execution["Status"]["State"] == "FAILED"
    assert execution["Status"]["StateChangeReason"].startswith("COLUMN_NOT_FOUND")
    assert execution["Statistics"]["DataScannedInBytes"] == 0


def test_missing_output_bucket_fails_the_query(buckets: control.SandboxState):
    execution = run(_athena(), "SELECT 1", output="s3://no-such-results-bucket/x/")
    assert execution["Status"]["State"] == "FAILED"
    assert "no-such-results-bucket" in execution["Status"]["StateChangeReason"]
    assert execution["Statistics"]["DataScannedInBytes"] == 0


def test_no_output_location_is_refused(buckets: control.SandboxState):
    with pytest.raises(ClientError) as exc:
        _athena().start_query_execution(QueryString="SELECT 1")
    assert _error(exc) == ("InvalidRequestException", "No output location provided. An output location is required "
                           "either through the Workgroup result configuration setting or as an API input.")


def test_invalid_output_location_is_refused(buckets: control.SandboxState):
    with pytest.raises(ClientError) as exc:
        _athena().start_query_execution(QueryString="SELECT 1", ResultConfiguration={"OutputLocation": "results/"})
    assert _error(exc) == ("InvalidRequestException", "outputLocation is not a valid S3 path.")


def test_unknown_query_execution_id(buckets: control.SandboxState):
    athena = _athena()
    for call in (athena.get_query_execution, athena.get_query_results, athena.stop_query_execution):
        with pytest.raises(ClientError) as exc:
            call(QueryExecutionId="00000000-0000-0000-0000-000000000000")
        assert _error(exc) == ("InvalidRequestException",
                               "QueryExecution 00000000-0000-0000-0000-000000000000 was not found")


def test_the_same_client_request_token_returns_the_same_execution(buckets: control.SandboxState):
    athena = _athena()
    token = "t" * 40
    first = athena.start_query_execution(QueryString="SELECT 1", ClientRequestToken=token,
                                         ResultConfiguration={"OutputLocation": f"s3://{RESULTS}/out/"})
    again = athena.start_query_execution(QueryString="SELECT 1", ClientRequestToken=token,
                                         ResultConfiguration={"OutputLocation": f"s3://{RESULTS}/out/"})
    assert again["QueryExecutionId"] == first["QueryExecutionId"]
    with pytest.raises(ClientError) as exc:
        athena.start_query_execution(QueryString="SELECT 2", ClientRequestToken=token,
                                     ResultConfiguration={"OutputLocation": f"s3://{RESULTS}/out/"})
    assert _error(exc) == ("InvalidRequestException", "Idempotent parameters do not match")
    assert len(athena.list_query_executions()["QueryExecutionIds"]) == 1


def test_execution_parameters_reach_the_engine(findings_table: int):
    athena = _athena()
    execution = succeeded(athena, "SELECT count(*) AS n FROM findings WHERE type = ? AND severity >= ?",
                          QueryExecutionContext={"Database": "gd"},
                          ExecutionParameters=["'Trojan:EC2/DNSDataExfiltration'", "5"])
    assert execution["ExecutionParameters"] == ["'Trojan:EC2/DNSDataExfiltration'", "5"]
    rows = athena.get_query_results(QueryExecutionId=execution["QueryExecutionId"])["ResultSet"]["Rows"]
    expected = sum(1 for i in range(30) if i % 3 == 1 and 2.0 + (i % 7) >= 5)
    assert rows[1]["Data"][0]["VarCharValue"] == str(expected)


# -- long queries: RUNNING, stop, cancel ------------------------------------------------------
LONG_QUERY = ("SELECT count(*) FROM UNNEST(sequence(1, 10000)) AS a(x) CROSS JOIN UNNEST(sequence(1, 10000)) AS b(y) "
              "CROSS JOIN UNNEST(sequence(1, 10000)) AS c(z) WHERE x + y + z < 0")


def test_a_long_query_is_seen_running_and_stopped(buckets: control.SandboxState):
    athena = _athena()
    # As many long queries as there are workers: a query after them runs only if stopping frees them.
    ids = [athena.start_query_execution(QueryString=LONG_QUERY, ResultConfiguration={
        "OutputLocation": f"s3://{RESULTS}/out/"})["QueryExecutionId"] for _ in range(WORKERS)]
    deadline = time.monotonic() + 30
    states = {}
    while time.monotonic() < deadline:
        states = {q: athena.get_query_execution(QueryExecutionId=q)["QueryExecution"]["Status"]["State"] for q in ids}
        if set(states.values()) == {"RUNNING"}:
            break
        time.sleep(0.02)
    assert set(states.values()) == {"RUNNING"}, states
    with pytest.raises(ClientError) as exc:
        athena.get_query_results(QueryExecutionId=ids[0])
    assert _error(exc) == ("InvalidRequestException", "Query has not yet finished. Current state: RUNNING")
    for query_id in ids:
        athena.stop_query_execution(QueryExecutionId=query_id)
    for query_id in ids:
        execution = wait(athena, query_id, timeout=30)
        assert execution["Status"]["State"] == "CANCELLED"
        assert execution["Status"]["StateChangeReason"] == "Query cancelled by user"
    with pytest.raises(ClientError) as exc:
        athena.get_query_results(QueryExecutionId=ids[0])
    assert _error(exc) == ("InvalidRequestException", "Could not find results")
    # The engine really stopped: the workers are free for the next query.
    assert succeeded(athena, "SELECT 1 AS one")["Status"]["State"] == "SUCCEEDED"
    # Stopping a finished query changes nothing.
    athena.stop_query_execution(QueryExecutionId=ids[0])
    assert wait(athena, ids[0])["Status"]["State"] == "CANCELLED"


# -- workgroups -------------------------------------------------------------------------------
def test_workgroup_life_cycle(buckets: control.SandboxState):
    athena = _athena()
    athena.create_work_group(Name="gdnb", Description="GuardDuty analysis", Configuration={
        "ResultConfiguration": {"OutputLocation": f"s3://{RESULTS}/gdnb/",
                                "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"}},
        "EnforceWorkGroupConfiguration": True, "PublishCloudWatchMetricsEnabled": True,
        "BytesScannedCutoffPerQuery": 10_000_000_000,
        "EngineVersion": {"SelectedEngineVersion": "Athena engine version 3"}})
    group = athena.get_work_group(WorkGroup="gdnb")["WorkGroup"]
    assert group["Name"] == "gdnb" and group["State"] == "ENABLED" and group["Description"] == "GuardDuty analysis"
    config = group["Configuration"]
    assert config["ResultConfiguration"] == {"OutputLocation": f"s3://{RESULTS}/gdnb/",
                                             "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"}}
    assert config["EnforceWorkGroupConfiguration"] is True and config["BytesScannedCutoffPerQuery"] == 10_000_000_000
    assert config["EngineVersion"] == {"SelectedEngineVersion": "Athena engine version 3",
                                       "EffectiveEngineVersion": "Athena engine version 3"}
    names = [g["Name"] for g in athena.list_work_groups()["WorkGroups"]]
    assert names == ["gdnb", "primary"]
    with pytest.raises(ClientError) as exc:
        athena.create_work_group(Name="gdnb")
    assert _error(exc)[0] == "InvalidRequestException"

    athena.update_work_group(WorkGroup="gdnb", Description="changed", ConfigurationUpdates={
        "RemoveBytesScannedCutoffPerQuery": True,
        "ResultConfigurationUpdates": {"OutputLocation": f"s3://{RESULTS}/other/"}})
    config = athena.get_work_group(WorkGroup="gdnb")["WorkGroup"]["Configuration"]
    assert "BytesScannedCutoffPerQuery" not in config
    assert config["ResultConfiguration"]["OutputLocation"] == f"s3://{RESULTS}/other/"

    athena.delete_work_group(WorkGroup="gdnb")
    for call, kwargs in ((athena.get_work_group, {"WorkGroup": "gdnb"}),
                         (athena.start_query_execution, {"QueryString": "SELECT 1", "WorkGroup": "gdnb"}),
                         (athena.list_query_executions, {"WorkGroup": "gdnb"})):
        with pytest.raises(ClientError) as exc:
            call(**kwargs)
        assert _error(exc) == ("InvalidRequestException", "WorkGroup gdnb is not found.")
    with pytest.raises(ClientError) as exc:
        athena.delete_work_group(WorkGroup="primary")
    assert "primary" in _error(exc)[1]


def test_workgroup_refuses_an_engine_it_cannot_emulate(buckets: control.SandboxState):
    with pytest.raises(ClientError) as exc:
        _athena().create_work_group(Name="v2", Configuration={
            "EngineVersion": {"SelectedEngineVersion": "Athena engine version 2"}})
    assert "Athena engine version 3" in _error(exc)[1]


def test_enforced_workgroup_location_overrides_the_clients(buckets: control.SandboxState):
    athena, s3 = _athena(), _s3()
    athena.create_work_group(Name="enforced", Configuration={
        "ResultConfiguration": {"OutputLocation": f"s3://{RESULTS}/enforced/"},
        "EnforceWorkGroupConfiguration": True})
    execution = succeeded(athena, "SELECT 1 AS one", output=f"s3://{RESULTS}/client/", WorkGroup="enforced")
    query_id = execution["QueryExecutionId"]
    assert execution["ResultConfiguration"]["OutputLocation"] == f"s3://{RESULTS}/enforced/{query_id}.csv"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=RESULTS)["Contents"]]
    assert sorted(keys) == [f"enforced/{query_id}.csv", f"enforced/{query_id}.csv.metadata"]
    # Without enforcement the client's location wins, and the workgroup's is the default.
    athena.update_work_group(WorkGroup="enforced", ConfigurationUpdates={"EnforceWorkGroupConfiguration": False})
    client = succeeded(athena, "SELECT 1 AS one", output=f"s3://{RESULTS}/client/", WorkGroup="enforced")
    assert client["ResultConfiguration"]["OutputLocation"].startswith(f"s3://{RESULTS}/client/")
    default = succeeded(athena, "SELECT 1 AS one", output=None, WorkGroup="enforced")
    assert default["ResultConfiguration"]["OutputLocation"].startswith(f"s3://{RESULTS}/enforced/")


def test_workgroup_cutoff_cancels_a_query_that_scans_more(buckets: control.SandboxState):
    athena, s3 = _athena(), _s3()
    # 11 MB of JSON lines, stored uncompressed: over the smallest cutoff Athena accepts (10 MB).
    line = json.dumps({"id": "x" * 100, "type": "t"}) + "\n"
    s3.put_object(Bucket=DATA, Key="big/data.json", Body=(line * (11_000_000 // len(line) + 1)).encode())
    succeeded(athena, "CREATE DATABASE gd")
    succeeded(athena, f"CREATE EXTERNAL TABLE big (id string, type string) "
                      f"ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' LOCATION 's3://{DATA}/big/'",
              QueryExecutionContext={"Database": "gd"})
    athena.create_work_group(Name="capped", Configuration={
        "ResultConfiguration": {"OutputLocation": f"s3://{RESULTS}/capped/"}, "BytesScannedCutoffPerQuery": 10_000_000})
    capped = run(athena, "SELECT count(*) FROM big", output=None, WorkGroup="capped",
                 QueryExecutionContext={"Database": "gd"})
    # Athena cancels such a query and bills what it read, up to the cutoff.
    assert capped["Status"]["State"] == "CANCELLED"
    assert capped["Status"]["StateChangeReason"] == "Bytes scanned limit was exceeded"
    assert capped["Statistics"]["DataScannedInBytes"] == 10_000_000
    uncapped = succeeded(athena, "SELECT count(*) FROM big", QueryExecutionContext={"Database": "gd"})
    assert uncapped["Statistics"]["DataScannedInBytes"] > 10_000_000


def test_results_are_encrypted_as_the_workgroup_says(buckets: control.SandboxState):
    athena, s3 = _athena(), _s3()
    key_arn = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    athena.create_work_group(Name="kms", Configuration={"ResultConfiguration": {
        "OutputLocation": f"s3://{RESULTS}/kms/",
        "EncryptionConfiguration": {"EncryptionOption": "SSE_KMS", "KmsKey": key_arn}}})
    execution = succeeded(athena, "SELECT 1 AS one", output=None, WorkGroup="kms")
    assert execution["ResultConfiguration"]["EncryptionConfiguration"] == {"EncryptionOption": "SSE_KMS",
                                                                            "KmsKey": key_arn}
    head = s3.head_object(Bucket=RESULTS, Key=f"kms/{execution['QueryExecutionId']}.csv")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key_arn


# -- history ----------------------------------------------------------------------------------
def test_list_and_batch_get_query_executions(buckets: control.SandboxState):
    athena = _athena()
    athena.create_work_group(Name="other", Configuration={
        "ResultConfiguration": {"OutputLocation": f"s3://{RESULTS}/other/"}})
    ids = [succeeded(athena, f"SELECT {i} AS n")["QueryExecutionId"] for i in range(3)]
    other = succeeded(athena, "SELECT 9 AS n", output=None, WorkGroup="other")["QueryExecutionId"]
    assert athena.list_query_executions()["QueryExecutionIds"] == ids[::-1]  # newest first
    assert athena.list_query_executions(WorkGroup="other")["QueryExecutionIds"] == [other]
    first = athena.list_query_executions(MaxResults=2)
    assert first["QueryExecutionIds"] == ids[:0:-1] and first["NextToken"]
    rest = athena.list_query_executions(MaxResults=2, NextToken=first["NextToken"])
    assert rest["QueryExecutionIds"] == ids[:1] and "NextToken" not in rest
    batch = athena.batch_get_query_execution(QueryExecutionIds=[ids[0], other, "not-an-id"])
    assert [e["QueryExecutionId"] for e in batch["QueryExecutions"]] == [ids[0], other]
    assert batch["QueryExecutions"][1]["WorkGroup"] == "other"
    assert [u["QueryExecutionId"] for u in batch["UnprocessedQueryExecutionIds"]] == ["not-an-id"]


def test_regions_are_separate(buckets: control.SandboxState):
    us, eu = _athena("us-east-1"), _athena("eu-west-1")
    eu.create_work_group(Name="eu-only")
    with pytest.raises(ClientError):
        us.get_work_group(WorkGroup="eu-only")
    query_id = succeeded(us, "SELECT 1 AS one")["QueryExecutionId"]
    with pytest.raises(ClientError) as exc:
        eu.get_query_execution(QueryExecutionId=query_id)
    assert "was not found" in _error(exc)[1]


def test_reset_forgets_executions_and_workgroups(buckets: control.SandboxState):
    athena = _athena()
    athena.create_work_group(Name="gone")
    succeeded(athena, "SELECT 1 AS one")
    long_ids = [athena.start_query_execution(QueryString=LONG_QUERY, ResultConfiguration={
        "OutputLocation": f"s3://{RESULTS}/out/"})["QueryExecutionId"] for _ in range(WORKERS)]
    req = urllib.request.Request(f"{buckets.endpoint}/moto-api/reset", data=b"", method="POST")
    urllib.request.urlopen(req, timeout=10).read()
    assert athena.list_query_executions()["QueryExecutionIds"] == []
    assert [g["Name"] for g in athena.list_work_groups()["WorkGroups"]] == ["primary"]
    with pytest.raises(ClientError):
        athena.get_query_execution(QueryExecutionId=long_ids[0])
    # The running queries were stopped with the reset: the workers are free again.
    _s3().create_bucket(Bucket=RESULTS)
    assert succeeded(athena, "SELECT 2 AS two")["Status"]["State"] == "SUCCEEDED"


# -- metadata ---------------------------------------------------------------------------------
def test_catalog_database_and_table_metadata(findings_table: int):
    athena = _athena()
    assert athena.list_data_catalogs()["DataCatalogsSummary"] == [{"CatalogName": "AwsDataCatalog", "Type": "GLUE"}]
    assert athena.get_data_catalog(Name="AwsDataCatalog")["DataCatalog"]["Type"] == "GLUE"
    assert [d["Name"] for d in athena.list_databases(CatalogName="AwsDataCatalog")["DatabaseList"]] == ["gd"]
    assert athena.get_database(CatalogName="AwsDataCatalog", DatabaseName="gd")["Database"]["Name"] == "gd"
    listed = athena.list_table_metadata(CatalogName="AwsDataCatalog", DatabaseName="gd")["TableMetadataList"]
    assert [t["Name"] for t in listed] == ["findings"]
    table = athena.get_table_metadata(CatalogName="AwsDataCatalog", DatabaseName="gd",
                                      TableName="findings")["TableMetadata"]
    assert table["TableType"] == "EXTERNAL_TABLE"
    assert [(c["Name"], c["Type"]) for c in table["Columns"]][:3] == [
        ("id", "string"), ("type", "string"), ("severity", "double")]
    assert table["PartitionKeys"] == []
    assert table["Parameters"]["location"] == f"s3://{DATA}/findings/"
    assert table["Parameters"]["serde.serialization.lib"] == "org.openx.data.jsonserde.JsonSerDe"
    assert table["CreateTime"] is not None
    with pytest.raises(ClientError) as exc:
        athena.get_table_metadata(CatalogName="AwsDataCatalog", DatabaseName="gd", TableName="nope")
    assert _error(exc)[0] == "MetadataException"
    with pytest.raises(ClientError) as exc:
        athena.get_data_catalog(Name="other")
    assert "AwsDataCatalog" in _error(exc)[1]


def test_an_operation_not_emulated_says_so(buckets: control.SandboxState):
    with pytest.raises(ClientError) as exc:
        _athena().list_named_queries()
    code, message = _error(exc)
    assert code == "InvalidRequestException" and "does not emulate Athena's ListNamedQueries" in message


# -- the AWS CLI ------------------------------------------------------------------------------
def _aws(*args: str) -> dict[str, Any]:
    aws = Path(sys.executable).parent / "aws"
    assert aws.exists(), f"the AWS CLI is not installed next to {sys.executable}: pip install awscli (a dev dependency)"
    out = subprocess.run([str(aws), "athena", *args, "--output", "json"], capture_output=True, text=True,
                         env=os.environ.copy(), timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_aws_cli_runs_a_query(findings_table: int):
    started = _aws("start-query-execution", "--query-string", "SELECT id, note FROM findings ORDER BY id LIMIT 2",
                   "--query-execution-context", "Database=gd",
                   "--result-configuration", f"OutputLocation=s3://{RESULTS}/cli/")
    query_id = started["QueryExecutionId"]
    assert wait(_athena(), query_id)["Status"]["State"] == "SUCCEEDED"
    assert _aws("get-query-execution", "--query-execution-id", query_id)["QueryExecution"]["Status"]["State"] == \
        "SUCCEEDED"
    got = _aws("get-query-results", "--query-execution-id", query_id)
    rows = [[d.get("VarCharValue") for d in r["Data"]] for r in got["ResultSet"]["Rows"]]
    assert rows == [["id", "note"], ["f0000", None], ["f0001", "note 1"]]
    body = _s3().get_object(Bucket=RESULTS, Key=f"cli/{query_id}.csv")["Body"].read().decode()
    assert list(csv.reader(io.StringIO(body))) == [["id", "note"], ["f0000", ""], ["f0001", "note 1"]]


def test_stopping_the_sandbox_does_not_wait_for_a_running_query(tmp_path: Path, sandbox: control.SandboxState):
    # A sandbox of its own (the session's stays up); the long query must not hold its process.
    data_dir = tmp_path / "own"
    state = control.start(port=0, data_dir=data_dir)
    try:
        kwargs = {"region_name": REGION, "endpoint_url": state.endpoint}
        boto3.client("s3", **kwargs).create_bucket(Bucket=RESULTS)
        athena = boto3.client("athena", **kwargs)
        query_id = athena.start_query_execution(
            QueryString=LONG_QUERY, ResultConfiguration={"OutputLocation": f"s3://{RESULTS}/out/"})["QueryExecutionId"]
        deadline = time.monotonic() + 30
        while athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]["State"] != "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        started = time.monotonic()
        control.stop(data_dir, timeout=8)
    # control.stop kills the process only after its timeout: ending sooner means it exited on SIGTERM.
    assert time.monotonic() - started < 8
    assert control.health(state, timeout=1) is None
