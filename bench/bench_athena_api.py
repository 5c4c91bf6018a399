"""What the sandbox's Athena API adds on top of its engine, side by side in one run.

For a 10,000-row query (``sequence``) and ``SELECT 1``, measures:

* the engine alone, in-process, without and with a cancel event (the floor, and what the API pays
  for making every query stoppable);
* the API's own work in the sandbox: ``TotalExecutionTimeInMillis - EngineExecutionTimeInMillis``
  (queueing, result CSV + metadata written to S3) from GetQueryExecution's statistics;
* one 1,000-row GetQueryResults page over raw HTTP (the server's cost) and through boto3 (plus
  botocore's parsing, which is the client's);
* pyathena ``Cursor`` (pages GetQueryResults) and ``PandasCursor`` (one S3 read of the CSV).

Run: ``.venv/bin/python bench/bench_athena_api.py [--repeat N]``.
Targets: the API's own work < 15 ms per 10,000-row query; a 1,000-row page < 10 ms on the server;
PandasCursor faster than Cursor for 10,000 rows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from gdnb.sandbox import control

SMALL = "SELECT 1 AS one"
BIG = "SELECT x, 'row ' || CAST(x AS varchar) AS label FROM UNNEST(sequence(1, 10000)) AS t(x)"
RESULTS = "bench-results"
REGION = "us-east-1"


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _engine():
    from moto import mock_aws

    from gdnb.sandbox.athena.catalog import GlueCatalog
    from gdnb.sandbox.athena.engine import Engine
    from gdnb.sandbox.athena.storage import MotoS3Store

    mock_aws().start()
    return Engine(GlueCatalog("123456789012", REGION), MotoS3Store("123456789012"), REGION,
                  cache_dir=Path(tempfile.mkdtemp()))


def _finished(athena, sql: str) -> dict:
    query_id = athena.start_query_execution(
        QueryString=sql, ResultConfiguration={"OutputLocation": f"s3://{RESULTS}/bench/"})["QueryExecutionId"]
    while True:
        execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        if execution["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return execution
        time.sleep(0.02)


def _api_own_ms(athena, sql: str, repeat: int) -> float:
    own = []
    for _ in range(repeat):
        stats = _finished(athena, sql)["Statistics"]
        own.append(stats["TotalExecutionTimeInMillis"] - stats["EngineExecutionTimeInMillis"])
    return statistics.median(own)


def _raw_page(endpoint: str, query_id: str) -> Callable[[], bytes]:
    credentials = boto3.Session().get_credentials()
    body = json.dumps({"QueryExecutionId": query_id, "MaxResults": 1000})

    def call() -> bytes:
        request = AWSRequest(method="POST", url=endpoint + "/", data=body, headers={
            "X-Amz-Target": "AmazonAthena.GetQueryResults", "Content-Type": "application/x-amz-json-1.1"})
        SigV4Auth(credentials, "athena", REGION).add_auth(request)
        raw = urllib.request.Request(endpoint + "/", data=body.encode(), headers=dict(request.headers), method="POST")
        with urllib.request.urlopen(raw) as response:
            return response.read()
    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    repeat = args.repeat

    engine = _engine()
    floor = {sql: _median_ms(lambda sql=sql: engine.execute(sql), repeat) for sql in (SMALL, BIG)}
    stoppable = {sql: _median_ms(lambda sql=sql: engine.execute(sql, cancel=threading.Event()), repeat)
                 for sql in (SMALL, BIG)}

    data_dir = Path(tempfile.mkdtemp(prefix="bench-athena-api-"))
    state = control.start(port=0, data_dir=data_dir)
    try:
        os.environ.update(state.env())
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=RESULTS)
        athena = boto3.client("athena", region_name=REGION)
        own = {sql: _api_own_ms(athena, sql, repeat) for sql in (SMALL, BIG)}
        query_id = _finished(athena, BIG)["QueryExecutionId"]
        raw_page = _median_ms(_raw_page(state.endpoint, query_id), repeat)
        boto_page = _median_ms(lambda: athena.get_query_results(QueryExecutionId=query_id, MaxResults=1000), repeat)

        from pyathena import connect
        from pyathena.pandas.cursor import PandasCursor

        conn = connect(s3_staging_dir=f"s3://{RESULTS}/pyathena/", region_name=REGION, poll_interval=0.05)
        few = max(3, repeat // 3)
        cursor_big = _median_ms(lambda: conn.cursor().execute(BIG).fetchall(), few)
        pandas_big = _median_ms(lambda: conn.cursor(PandasCursor).execute(BIG).as_pandas(), few)
    finally:
        control.stop(data_dir)

    print(f"{'median, ms':44s}{'SELECT 1':>10s}{'10,000 rows':>13s}")
    print(f"{'engine in-process, no cancel event':44s}{floor[SMALL]:10.1f}{floor[BIG]:13.1f}")
    print(f"{'engine in-process, with a cancel event':44s}{stoppable[SMALL]:10.1f}{stoppable[BIG]:13.1f}")
    print(f"{'API own work (queue + result files)':44s}{own[SMALL]:10.1f}{own[BIG]:13.1f}")
    print(f"{'GetQueryResults 1,000 rows, raw HTTP':44s}{'':10s}{raw_page:13.1f}")
    print(f"{'GetQueryResults 1,000 rows, boto3':44s}{'':10s}{boto_page:13.1f}")
    print(f"{'pyathena Cursor (0.05 s polling)':44s}{'':10s}{cursor_big:13.1f}")
    print(f"{'pyathena PandasCursor (0.05 s polling)':44s}{'':10s}{pandas_big:13.1f}")
    print(f"cancel event cost: {stoppable[SMALL] - floor[SMALL]:.1f} ms per query")
    print(f"API own work / engine, 10,000 rows: {own[BIG] / stoppable[BIG]:.2f}x (target: own work < 15 ms)")
    print(f"boto3 / raw page: {boto_page / raw_page:.1f}x (client parsing); "
          f"Cursor / PandasCursor: {cursor_big / pandas_big:.1f}x")


if __name__ == "__main__":
    main()
