"""Query executions: their records, their life cycle, and the worker pool that runs them.

A query is recorded ``QUEUED`` when it is submitted, becomes ``RUNNING`` when a worker picks it
up and ends ``SUCCEEDED``, ``FAILED`` or ``CANCELLED``; a final state never changes again. Result
files are written before a query is marked ``SUCCEEDED``, so a client that sees that state can
read them at once, as on Athena.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from gdnb.sandbox.athena import results
from gdnb.sandbox.athena.errors import AthenaSqlError, QueryCancelled
from gdnb.sandbox.athena.model import QueryOutcome
from gdnb.sandbox.athena.storage import ObjectStore, split_s3_uri

log = logging.getLogger(__name__)

FINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")
CANCELLED_BY_USER = "Query cancelled by user"
CUTOFF_KIND = "BYTES_SCANNED_LIMIT_EXCEEDED"

# AthenaError.ErrorType for the engine's error names (Athena's error catalog; user errors are
# category 2, the engine's own failures category 1).
_ERROR_TYPES = {
    "SYNTAX_ERROR": 1006, "COLUMN_NOT_FOUND": 1006, "TABLE_NOT_FOUND": 1301, "SCHEMA_NOT_FOUND": 1301,
    "ALREADY_EXISTS": 1003, "TABLE_ALREADY_EXISTS": 1003, "CATALOG_NOT_FOUND": 1301,
    "HIVE_CURSOR_ERROR": 1001, "HIVE_BAD_DATA": 1001, "DIVISION_BY_ZERO": 1001,
    "TYPE_MISMATCH": 1002, "INVALID_CAST_ARGUMENT": 1100, "INVALID_FUNCTION_ARGUMENT": 1106,
    "INVALID_TABLE_PROPERTY": 1103, "FUNCTION_NOT_FOUND": 1303, "NOT_SUPPORTED": 1200,
    "HIVE_PARTITION_SCHEMA_MISMATCH": 1004, CUTOFF_KIND: 1008, "OUTPUT_BUCKET_NOT_FOUND": 1306,
}
_SYSTEM_ERRORS = ("GENERIC_INTERNAL_ERROR", "RESULT_WRITE_FAILED")


class Engine(Protocol):
    """What the API needs from the engine (``gdnb.sandbox.athena.engine.Engine``)."""

    def execute(self, sql: str, *, database: str | None = "default", catalog_name: str = "AwsDataCatalog",
                execution_parameters: list[str] | None = None, cancel: threading.Event | None = None,
                bytes_scanned_cutoff: int | None = None, now: Any = None) -> QueryOutcome: ...

    def statement_type(self, sql: str) -> str: ...


def athena_error(kind: str, reason: str) -> dict[str, Any]:
    """``Status.AthenaError`` for a failure of the given kind."""
    system = kind in _SYSTEM_ERRORS
    return {"ErrorCategory": 1 if system else 2,
            "ErrorType": 401 if kind == "RESULT_WRITE_FAILED" else (200 if system else _ERROR_TYPES.get(kind, 1000)),
            "Retryable": kind == "RESULT_WRITE_FAILED", "ErrorMessage": reason}


@dataclasses.dataclass
class QueryExecution:
    """One query execution and everything ``GetQueryExecution`` reports about it."""

    id: str
    region: str
    query: str
    statement_type: str
    workgroup: str
    context: dict[str, str]             # QueryExecutionContext as the client sent it
    result_configuration: dict[str, Any]  # with OutputLocation = the result file's full path
    engine_version: dict[str, str]
    execution_parameters: list[str] | None = None
    bytes_scanned_cutoff: int | None = None
    result_reuse: dict[str, Any] | None = None
    submitted: float = dataclasses.field(default_factory=time.time)
    state: str = "QUEUED"
    reason: str | None = None
    error: dict[str, Any] | None = None
    started: float | None = None
    engine_done: float | None = None
    completed: float | None = None
    outcome: QueryOutcome | None = None
    billed_bytes: int | None = None       # what a query stopped by the cutoff had read
    substatement_type: str | None = None
    cancel: threading.Event = dataclasses.field(default_factory=threading.Event)
    released: threading.Event = dataclasses.field(default_factory=threading.Event)  # the engine is done with it
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    @property
    def database(self) -> str:
        return self.context.get("Database") or "default"

    @property
    def catalog(self) -> str:
        return self.context.get("Catalog") or "AwsDataCatalog"

    @property
    def output_location(self) -> str:
        return self.result_configuration["OutputLocation"]

    # -- transitions (terminal states are final) ------------------------------------------------
    def start(self) -> bool:
        with self.lock:
            if self.state != "QUEUED":
                return False
            self.state, self.started = "RUNNING", time.time()
            return True

    def finish(self, state: str, reason: str | None = None, error: dict[str, Any] | None = None,
               outcome: QueryOutcome | None = None) -> bool:
        """Move to a final state; False when the query had already ended (e.g. stopped meanwhile)."""
        with self.lock:
            if self.state in FINAL_STATES:
                return False
            self.state, self.reason, self.error, self.outcome = state, reason, error, outcome
            self.completed = time.time()
            if self.started is None:
                self.started = self.completed
            return True

    def stop(self) -> None:
        """StopQueryExecution: cancelled at once; the worker notices through ``cancel``."""
        self.cancel.set()
        self.finish("CANCELLED", CANCELLED_BY_USER)

    # -- wire shape -------------------------------------------------------------------------
    def to_wire(self) -> dict[str, Any]:
        now = time.time()
        status: dict[str, Any] = {"State": self.state, "SubmissionDateTime": self.submitted}
        if self.reason:
            status["StateChangeReason"] = self.reason
        if self.completed is not None:
            status["CompletionDateTime"] = self.completed
        if self.error:
            status["AthenaError"] = dict(self.error)
        out: dict[str, Any] = {
            "QueryExecutionId": self.id, "Query": self.query, "StatementType": self.statement_type,
            "ResultConfiguration": dict(self.result_configuration),
            "ResultReuseConfiguration": self.result_reuse or {"ResultReuseByAgeConfiguration": {"Enabled": False}},
            "QueryExecutionContext": dict(self.context), "Status": status, "Statistics": self._statistics(now),
            "WorkGroup": self.workgroup, "EngineVersion": dict(self.engine_version),
        }
        if self.substatement_type:
            out["SubstatementType"] = self.substatement_type
        if self.execution_parameters:
            out["ExecutionParameters"] = list(self.execution_parameters)
        return out

    def _statistics(self, now: float) -> dict[str, Any]:
        def ms(a: float | None, b: float | None) -> int:
            return max(0, round(((b if b is not None else now) - a) * 1000)) if a is not None else 0

        queue_end = self.started if self.started is not None else now
        engine_end = self.engine_done or self.completed
        if self.state == "SUCCEEDED" and self.outcome is not None:
            scanned = self.outcome.data_scanned_bytes
        else:
            scanned = self.billed_bytes or 0
        return {
            "EngineExecutionTimeInMillis": ms(self.started, engine_end) if self.started else 0,
            "DataScannedInBytes": scanned,
            "TotalExecutionTimeInMillis": ms(self.submitted, self.completed),
            "QueryQueueTimeInMillis": ms(self.submitted, queue_end),
            "ServicePreProcessingTimeInMillis": 0,
            "QueryPlanningTimeInMillis": 0,
            "ServiceProcessingTimeInMillis": ms(self.engine_done, self.completed) if self.engine_done else 0,
            "ResultReuseInformation": {"ReusedPreviousResult": False},
        }


class ExecutionStore:
    """Every region's executions, newest first per workgroup, and the idempotency tokens."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executions: dict[str, QueryExecution] = {}
        self._order: list[str] = []
        self._tokens: dict[tuple[str, str], tuple[str, tuple[Any, ...]]] = {}

    def new_id(self) -> str:
        return str(uuid.uuid4())

    def add(self, execution: QueryExecution, token: str | None = None, token_params: tuple[Any, ...] = ()) -> None:
        with self._lock:
            self._executions[execution.id] = execution
            self._order.append(execution.id)
            if token:
                self._tokens[(execution.region, token)] = (execution.id, token_params)

    def by_token(self, region: str, token: str) -> tuple[QueryExecution, tuple[Any, ...]] | None:
        with self._lock:
            found = self._tokens.get((region, token))
            if found is None or found[0] not in self._executions:
                return None
            return self._executions[found[0]], found[1]

    def get(self, region: str, query_execution_id: str) -> QueryExecution | None:
        with self._lock:
            execution = self._executions.get(query_execution_id)
        return execution if execution is not None and execution.region == region else None

    def list_ids(self, region: str, workgroup: str) -> list[str]:
        """Ids of the workgroup's executions, newest first."""
        with self._lock:
            return [i for i in reversed(self._order)
                    if self._executions[i].region == region and self._executions[i].workgroup == workgroup]

    def running(self) -> list[QueryExecution]:
        """The executions not yet in a final state."""
        with self._lock:
            return [e for e in self._executions.values() if e.state not in FINAL_STATES]

    def reset(self) -> list[QueryExecution]:
        """Forget everything; return the executions that were still running (to cancel them)."""
        with self._lock:
            live = [e for e in self._executions.values() if e.state not in FINAL_STATES]
            self._executions.clear()
            self._order.clear()
            self._tokens.clear()
        return live


class QueryRunner:
    """A few worker threads that run queued executions on the engine of their region.

    The workers are daemon threads: stopping the sandbox never waits for a query still running
    (a ``ThreadPoolExecutor`` would hold the process until it ends).

    Parameters
    ----------
    workers
        How many queries run at once; the others wait ``QUEUED``.
    """

    def __init__(self, workers: int = 3) -> None:
        self._queue: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, name=f"athena-query-{i}", daemon=True)
                         for i in range(workers)]
        for thread in self._threads:
            thread.start()

    def submit(self, execution: QueryExecution, engine: Engine, store: ObjectStore,
               after_write: Callable[[QueryExecution, str, str], None] | None = None) -> None:
        self._queue.put((execution, engine, store, after_write))

    def _work(self) -> None:
        while True:
            run_execution(*self._queue.get())


def run_execution(execution: QueryExecution, engine: Engine, store: ObjectStore,
                  after_write: Callable[[QueryExecution, str, str], None] | None = None) -> None:
    """Run one execution to its final state (the body of a worker)."""
    try:
        if not execution.start():
            return  # stopped while queued
        _run(execution, engine, store, after_write)
    except Exception as exc:  # a bug must end the query, never leave it RUNNING
        log.exception("query %s failed unexpectedly", execution.id)
        reason = f"GENERIC_INTERNAL_ERROR: {exc}"
        execution.finish("FAILED", reason, athena_error("GENERIC_INTERNAL_ERROR", reason))
    finally:
        execution.released.set()


def _run(execution: QueryExecution, engine: Engine, store: ObjectStore,
         after_write: Callable[[QueryExecution, str, str], None] | None) -> None:
    bucket, key = split_s3_uri(execution.output_location)
    if not store.bucket_exists(bucket):
        # Athena checks the result location before it runs anything (no DDL half-done).
        reason = f"Unable to verify/create output bucket {bucket}"
        execution.finish("FAILED", reason, athena_error("OUTPUT_BUCKET_NOT_FOUND", reason))
        return
    try:
        outcome = engine.execute(
            execution.query, database=execution.database, catalog_name=execution.catalog,
            execution_parameters=execution.execution_parameters, cancel=execution.cancel,
            bytes_scanned_cutoff=execution.bytes_scanned_cutoff)
    except QueryCancelled:
        execution.finish("CANCELLED", CANCELLED_BY_USER)
        return
    except AthenaSqlError as exc:
        # The workgroup's data usage control cancels a query (AWS docs), billing what it read up to
        # the cutoff; every other error fails it and bills nothing.
        state = getattr(exc, "state", "CANCELLED" if exc.kind == CUTOFF_KIND else "FAILED")
        execution.billed_bytes = getattr(exc, "data_scanned_bytes", None) if state == "CANCELLED" else None
        execution.finish(state, exc.reason, athena_error(exc.kind, exc.reason))
        return
    execution.engine_done = time.time()
    if execution.cancel.is_set():
        execution.finish("CANCELLED", CANCELLED_BY_USER)
        return
    try:
        _write_results(execution, outcome, store, bucket, key, after_write)
    except Exception as exc:
        log.exception("query %s: writing results to %s failed", execution.id, execution.output_location)
        reason = f"Error writing query results to {execution.output_location}: {exc}"
        execution.finish("FAILED", reason, athena_error("RESULT_WRITE_FAILED", reason))
        return
    execution.finish("SUCCEEDED", outcome=outcome)


def _write_results(execution: QueryExecution, outcome: QueryOutcome, store: ObjectStore, bucket: str, key: str,
                   after_write: Callable[[QueryExecution, str, str], None] | None) -> None:
    if execution.statement_type == "DML":
        files = [(key, results.render_csv(outcome.columns, outcome.rows), "application/octet-stream")]
    else:
        files = [(key, results.render_txt(outcome.rows), "binary/octet-stream")]
    if outcome.columns:
        # Athena writes the column metadata next to every result that has columns.
        files.append((key + ".metadata", results.render_metadata(execution.id, outcome.columns),
                      "application/octet-stream"))
    for file_key, data, content_type in files:
        store.write(bucket, file_key, data, content_type)
        if after_write is not None:
            after_write(execution, bucket, file_key)
