"""Issue 3's promise, end to end: GuardDuty exports findings, a user creates the AWS docs table and runs the
docs DNS data exfiltration query through pyathena, and gets what an independent reading of the JSON gives,
with bytes scanned equal to the bytes of the objects read."""

from __future__ import annotations

import boto3
import gd_setup
import pytest
from pyathena import connect

from gdnb.sandbox import control

REGION = "ap-northeast-1"
BUCKET = "guardduty-alert"
RESULTS = "guardduty-alert-athena-results"

DOCS_DDL = """CREATE EXTERNAL TABLE `gd_logs` (
  `schemaversion` string,
  `accountid` string,
  `region` string,
  `partition` string,
  `id` string,
  `arn` string,
  `type` string,
  `resource` string,
  `service` string,
  `severity` string,
  `createdat` string,
  `updatedat` string,
  `title` string,
  `description` string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://{bucket}/AWSLogs/{account}/GuardDuty/'
TBLPROPERTIES ('has_encrypted_data'='true')"""

DOCS_DNS_QUERY = """SELECT title, severity, type, id AS FindingID, accountid, region, createdat, updatedat,
  json_extract_scalar(service,'$.count') AS Count,
  json_extract_scalar(resource,'$.instancedetails.instanceid') AS InstanceID,
  json_extract_scalar(service,'$.action.actiontype') AS DNS_ActionType,
  json_extract_scalar(service,'$.action.dnsrequestaction.domain') AS DomainName,
  json_extract_scalar(service,'$.action.dnsrequestaction.protocol') AS protocol,
  json_extract_scalar(service,'$.action.dnsrequestaction.blocked') AS blocked
FROM gd_logs
WHERE type = 'Trojan:EC2/DNSDataExfiltration'
ORDER BY severity DESC"""


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@pytest.fixture()
def exported(clean_sandbox: control.SandboxState) -> gd_setup.Export:
    export = gd_setup.setup_export(REGION, BUCKET)
    gd = gd_setup.client("guardduty", REGION)
    gd.create_sample_findings(DetectorId=export.detector_id)  # one of every type
    gd.create_sample_findings(DetectorId=export.detector_id,  # and an update of the DNS finding
                              FindingTypes=["Trojan:EC2/DNSDataExfiltration"])
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=RESULTS, CreateBucketConfiguration={"LocationConstraint": REGION})
    return export


def test_docs_table_and_dns_query_through_pyathena_match_the_json(exported: gd_setup.Export):
    keys = gd_setup.list_keys(BUCKET, f"AWSLogs/{exported.account_id}/GuardDuty/", REGION)
    assert keys, "the export wrote nothing"
    s3 = boto3.client("s3", region_name=REGION)
    total_bytes = sum(s3.head_object(Bucket=BUCKET, Key=k)["ContentLength"] for k in keys)
    # The independent reading: every exported row of that type, from the raw camelCase JSON.
    expected = sorted(
        (f["id"], _text(f["severity"]), _text(f["service"]["count"]),
         f["resource"]["instanceDetails"]["instanceId"], f["service"]["action"]["actionType"],
         f["service"]["action"]["dnsRequestAction"]["domain"], f["service"]["action"]["dnsRequestAction"]["protocol"],
         _text(f["service"]["action"]["dnsRequestAction"]["blocked"]), f["createdAt"], f["updatedAt"])
        for k in keys for f in gd_setup.read_findings(BUCKET, k, REGION)
        if f["type"] == "Trojan:EC2/DNSDataExfiltration")
    assert len(expected) == 2  # the first export and the update

    conn = connect(s3_staging_dir=f"s3://{RESULTS}/results/", region_name=REGION, poll_interval=0.05)
    cur = conn.cursor()
    cur.execute("CREATE DATABASE guardduty")
    cur.execute(DOCS_DDL.format(bucket=BUCKET, account=exported.account_id).replace(
        "CREATE EXTERNAL TABLE `gd_logs`", "CREATE EXTERNAL TABLE `guardduty`.`gd_logs`"))
    assert cur.data_scanned_in_bytes == 0  # DDL is free
    cur = connect(s3_staging_dir=f"s3://{RESULTS}/results/", region_name=REGION, schema_name="guardduty",
                  poll_interval=0.05).cursor()
    cur.execute(DOCS_DNS_QUERY)
    names = [d[0] for d in cur.description]
    assert names == ["title", "severity", "type", "findingid", "accountid", "region", "createdat", "updatedat",
                     "count", "instanceid", "dns_actiontype", "domainname", "protocol", "blocked"]
    rows = cur.fetchall()
    got = sorted((r[3], r[1], r[8], r[9], r[10], r[11], r[12], r[13], r[6], r[7]) for r in rows)
    assert got == expected
    # An unpartitioned table reads every object under its location, and Athena bills their stored size.
    assert cur.data_scanned_in_bytes == total_bytes
