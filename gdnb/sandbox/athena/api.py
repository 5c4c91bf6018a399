"""The Athena API of the sandbox: Athena's JSON 1.1 protocol over the local engine.

Requests with ``X-Amz-Target: AmazonAthena.<Operation>`` come here instead of moto. Queries run
asynchronously on a few worker threads, on one engine per region (the region of the request's
SigV4 scope) over the sandbox's Glue and S3; results land in the sandbox's S3 where Athena puts
them. boto3, pyathena (``Cursor``, ``PandasCursor``) and the AWS CLI work unmodified with only
``AWS_ENDPOINT_URL`` set.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gdnb.sandbox.athena import datacatalogs, results
from gdnb.sandbox.athena.apierrors import (
    AthenaApiError,
    execution_not_found,
    invalid,
    validation,
)
from gdnb.sandbox.athena.errors import AthenaSqlError
from gdnb.sandbox.athena.executions import (
    FINAL_STATES,
    Engine,
    ExecutionStore,
    QueryExecution,
    QueryRunner,
    athena_error,
)
from gdnb.sandbox.athena.storage import MotoS3Store, ObjectStore
from gdnb.sandbox.athena.workgroups import (
    ENGINE_VERSION,
    PRIMARY,
    WorkGroups,
    resolve_result_configuration,
    validate_encryption,
    validate_output_location,
)
from gdnb.sandbox.requestinfo import RequestInfo

if TYPE_CHECKING:
    from gdnb.sandbox.server import Gateway, StartResponse

log = logging.getLogger(__name__)

TARGET_PREFIX = "AmazonAthena."
CONTENT_TYPE = "application/x-amz-json-1.1"
DEFAULT_REGION = "us-east-1"
WORKERS = 3
MAX_QUERY_RESULTS = 1000

EngineFactory = Callable[["Gateway", str], Engine]
CatalogFactory = Callable[[str, str], datacatalogs.Catalog]


def default_engine_factory(gateway: Gateway, region: str) -> Engine:
    """The region's engine over the sandbox's Glue and S3, caching under the data directory."""
    from gdnb.sandbox.athena.catalog import GlueCatalog
    from gdnb.sandbox.athena.engine import Engine as LocalEngine

    cache_dir = Path(gateway.data_dir) / "athena-cache" / region
    return LocalEngine(GlueCatalog(gateway.account_id, region), MotoS3Store(gateway.account_id), region,
                       cache_dir=cache_dir)


def default_catalog_factory(account_id: str, region: str) -> datacatalogs.Catalog:
    from gdnb.sandbox.athena.catalog import GlueCatalog

    return GlueCatalog(account_id, region)


class AthenaApi:
    """The Athena extension of the gateway.

    ``engine_factory``, ``catalog_factory`` and ``store`` are attributes so that tests (and tools)
    can put another engine behind the same API.
    """

    def __init__(self, gateway: Gateway, workers: int = WORKERS) -> None:
        self.gateway = gateway
        self.account_id = gateway.account_id
        self.engine_factory: EngineFactory = default_engine_factory
        self.catalog_factory: CatalogFactory = default_catalog_factory
        self.store: ObjectStore = MotoS3Store(gateway.account_id)
        self.workgroups = WorkGroups()
        self.executions = ExecutionStore()
        self.runner = QueryRunner(workers)
        self._engines: dict[str, Engine] = {}
        self._engines_lock = threading.Lock()
        self._start_lock = threading.Lock()
        # A query still running when the sandbox stops would hold the process in the engine's teardown.
        atexit.register(self.stop_all)
        self._ops: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
            "StartQueryExecution": self.start_query_execution,
            "GetQueryExecution": self.get_query_execution,
            "GetQueryResults": self.get_query_results,
            "StopQueryExecution": self.stop_query_execution,
            "BatchGetQueryExecution": self.batch_get_query_execution,
            "ListQueryExecutions": self.list_query_executions,
            "CreateWorkGroup": self.create_work_group,
            "GetWorkGroup": self.get_work_group,
            "ListWorkGroups": self.list_work_groups,
            "UpdateWorkGroup": self.update_work_group,
            "DeleteWorkGroup": self.delete_work_group,
            "ListEngineVersions": self.list_engine_versions,
            "ListDataCatalogs": self.list_data_catalogs,
            "GetDataCatalog": self.get_data_catalog,
            "ListDatabases": self.list_databases,
            "GetDatabase": self.get_database,
            "ListTableMetadata": self.list_table_metadata,
            "GetTableMetadata": self.get_table_metadata,
        }

    # -- Extension ---------------------------------------------------------------------------
    def handles(self, info: RequestInfo) -> bool:
        return (info.target or "").startswith(TARGET_PREFIX)

    def stop_all(self, timeout: float = 5.0) -> None:
        """Stop every running query and wait (a little) until the engines let go of them."""
        live = self.executions.running()
        for execution in live:
            execution.stop()
        deadline = time.monotonic() + timeout
        for execution in live:
            execution.released.wait(max(0.0, deadline - time.monotonic()))

    def reset(self) -> None:
        """Forget executions and workgroups; stop what still runs; start engines afresh."""
        live = self.executions.reset()
        for execution in live:
            execution.stop()
        self.workgroups.reset()
        with self._engines_lock:
            engines, self._engines = list(self._engines.values()), {}
        if engines:
            # Close the old engines once the stopped queries have left them (never under a running query).
            threading.Thread(target=_close_engines, args=(engines, live), name="athena-engine-close",
                             daemon=True).start()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        info = RequestInfo.from_environ(environ)
        operation = (info.target or "")[len(TARGET_PREFIX):]
        region = info.region or DEFAULT_REGION
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b""
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError as exc:
                raise AthenaApiError(f"Malformed JSON request body: {exc}", "SerializationException", None) from exc
            if not isinstance(body, dict):
                raise AthenaApiError("The request body must be a JSON object.", "SerializationException", None)
            handler = self._ops.get(operation)
            if handler is None:
                raise AthenaApiError(
                    f"The gdnb sandbox does not emulate Athena's {operation or '(no operation)'}. Emulated "
                    f"operations: {', '.join(sorted(self._ops))}.", "InvalidRequestException", "UNSUPPORTED_OPERATION")
            status, payload = 200, handler(region, body)
        except AthenaApiError as exc:
            status, payload = exc.status, exc.body()
        except Exception as exc:  # the caller gets a 500 with the reason; the sandbox keeps serving
            log.exception("Athena %s failed", operation)
            status, payload = 500, {"__type": "InternalServerException", "Message": f"{type(exc).__name__}: {exc}"}
        data = json.dumps(payload, default=_json_default).encode()
        start_response(f"{status} {'OK' if status == 200 else 'Bad Request' if status == 400 else 'Error'}",
                       [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(data))),
                        ("x-amzn-RequestId", str(uuid.uuid4()))])
        return [data]

    # -- engines -----------------------------------------------------------------------------
    def engine(self, region: str) -> Engine:
        """The region's engine, made on first use."""
        with self._engines_lock:
            engine = self._engines.get(region)
            if engine is None:
                try:
                    engine = self.engine_factory(self.gateway, region)
                except Exception as exc:
                    log.exception("the Athena engine for %s could not start", region)
                    raise AthenaApiError(f"The sandbox's Athena engine could not start: {type(exc).__name__}: {exc}",
                                         "InternalServerException", None) from exc
                self._engines[region] = engine
        return engine

    # -- query executions --------------------------------------------------------------------
    def start_query_execution(self, region: str, body: dict[str, Any]) -> dict[str, Any]:
        query = _required_str(body, "QueryString", "queryString")
        token = _client_request_token(body.get("ClientRequestToken"))
        context = _object(body, "QueryExecutionContext")
        client_result = _object(body, "ResultConfiguration")
        if client_result.get("OutputLocation") is not None:
            validate_output_location(client_result["OutputLocation"])
        if client_result.get("EncryptionConfiguration") is not None:
            client_result["EncryptionConfiguration"] = validate_encryption(client_result["EncryptionConfiguration"])
        if context.get("Catalog") is not None:
            datacatalogs.check_catalog_name(context["Catalog"])
        parameters = body.get("ExecutionParameters")
        if parameters is not None and (not isinstance(parameters, list) or not parameters
                                       or not all(isinstance(p, str) and p for p in parameters)):
            raise validation("executionParameters", "Member must be a list of 1 or more non-empty strings")
        group = self.workgroups.get(region, body.get("WorkGroup") or PRIMARY)
        if group.state != "ENABLED":
            raise invalid(f"WorkGroup {group.name} is disabled.")
        # What Athena compares when a token is sent again (measured: not the parameters or workgroup).
        token_params = (query, context.get("Database"), context.get("Catalog"), client_result.get("OutputLocation"))
        with self._start_lock:
            if token is not None:
                seen = self.executions.by_token(region, token)
                if seen is not None:
                    if seen[1] != token_params:
                        raise invalid("Idempotent parameters do not match", "IDEMPOTENT_PARAMETER_MISMATCH")
                    return {"QueryExecutionId": seen[0].id}
            result_configuration = resolve_result_configuration(group, client_result)
            engine = self.engine(region)
            statement_type, substatement_type, parse_error = classify(engine, query)
            execution_id = self.executions.new_id()
            suffix = ".csv" if statement_type == "DML" else ".txt"
            result_configuration["OutputLocation"] = (
                result_configuration["OutputLocation"].rstrip("/") + "/" + execution_id + suffix)
            echoed_context = {k: v for k, v in (("Database", context.get("Database")),
                                                ("Catalog", (context.get("Catalog") or "").lower() or None)) if v}
            execution = QueryExecution(
                id=execution_id, region=region, query=query, statement_type=statement_type, workgroup=group.name,
                context=echoed_context, result_configuration=result_configuration,
                substatement_type=substatement_type,
                engine_version=group.engine_version, execution_parameters=parameters,
                bytes_scanned_cutoff=group.bytes_scanned_cutoff,
                result_reuse=body.get("ResultReuseConfiguration"))
            self.executions.add(execution, token, token_params)
        if parse_error is not None:
            # A statement that cannot be parsed ends FAILED at once with "SYNTAX_ERROR: line l:c: ..."
            # (the kind-prefixed text, also from errors that word their reason as a request error).
            reason = AthenaSqlError.reason.fget(parse_error)
            execution.finish("FAILED", reason, athena_error(parse_error.kind, reason))
        else:
            self.runner.submit(execution, engine, self.store, self._after_write)
        return {"QueryExecutionId": execution_id}

    def _execution(self, region: str, body: dict[str, Any]) -> QueryExecution:
        query_execution_id = _required_str(body, "QueryExecutionId", "queryExecutionId")
        execution = self.executions.get(region, query_execution_id)
        if execution is None:
            raise execution_not_found(query_execution_id)
        return execution

    def get_query_execution(self, region: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"QueryExecution": self._execution(region, body).to_wire()}

    def get_query_results(self, region: str, body: dict[str, Any]) -> dict[str, Any]:
        execution = self._execution(region, body)
        limit = _max_results(body, MAX_QUERY_RESULTS, MAX_QUERY_RESULTS, minimum=1)
        if body.get("QueryResultType") not in (None, "DATA_ROWS"):
            raise invalid("The gdnb sandbox returns query results as DATA_ROWS only (no data manifests).")
        state = execution.state
        if state == "CANCELLED":
            raise invalid("Could not find results", "RESULT_NOT_FOUND")
        if state == "FAILED":
            raise invalid("Query did not finish successfully. Final query state: FAILED",
                          "INVALID_QUERY_EXECUTION_STATE")
        if state not in FINAL_STATES:
            raise invalid(f"Query has not yet finished. Current state: {state}", "INVALID_QUERY_EXECUTION_STATE")
        outcome = execution.outcome
        assert outcome is not None  # a SUCCEEDED execution always has its outcome
        offset = _decode_token(body.get("NextToken"), "results", execution.id)
        rows, total = results.result_page(execution.statement_type, outcome.columns, outcome.rows, offset, limit)
        response: dict[str, Any] = {"ResultSet": {
            "Rows": rows, "ResultSetMetadata": {"ColumnInfo": [results.column_info(c) for c in outcome.columns]}}}
        if execution.statement_type != "DDL":
            response["UpdateCount"] = 0
        if offset + limit < total:
            response["NextToken"] = _encode_token("results", execution.id, offset + limit)
        return response

    def stop_query_execution(self, region: str, body: dict[str, Any]) -> dict[str, Any]:
        execution = self._execution(region, body)
        if execution.state not in FINAL_STATES:
            execution.stop()
        return {}

    def batch_get_query_execution(self, region: str, body: dict[str, Any]) -> dict[str, Any]:
        ids = body.get("QueryExecutionIds")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 50:
            raise validation("queryExecutionIds", "Member must have length between 1 and 50")
        found, missing = [], []
        for query_execution_id in ids:
            execution = self.executions.get(region, str(query_execution_id))
            if execution is None:
                missing.append({"QueryExecutionId": query_execution_id, "ErrorCode": "QUERY_EXECUTION_NOT_FOUND",
                                "ErrorMessage": f"QueryExecution {query_execution_id} was not found"})
            else:
                found.append(execution.to_wire())
        return {"QueryExecutions": found, "UnprocessedQueryExecutionIds": missing}

    def list_query_executions(self, region: str, body: dict[str, Any]) -> dict[str, Any]:
        group = self.workgroups.get(region, body.get("WorkGroup") or PRIMARY)
        limit = _max_results(body, 50, 50, minimum=0) or 50
        ids = self.executions.list_ids(region, group.name)
        return _page("QueryExecutionIds", ids, body, "executions", f"{region}/{group.name}", limit)

    def _after_write(self, execution: QueryExecution, bucket: str, key: str) -> None:
        # The store writes plain objects; mark the result's server-side encryption the way S3 reports it.
        encryption = execution.result_configuration.get("EncryptionConfiguration") or {}
        option = encryption.get("EncryptionOption")
        if option not in ("SSE_S3", "SSE_KMS") or not isinstance(self.store, MotoS3Store):
            return
        from moto.s3.models import s3_backends

        obj = s3_backends[self.account_id]["aws"].get_object(bucket, key)
        if obj is not None:
            obj.encryption = "AES256" if option == "SSE_S3" else "aws:kms"
            obj.kms_key_id = encryption.get("KmsKey") if option == "SSE_KMS" else None

    # -- workgroups --------------------------------------------------------------------------
    def create_work_group(self, region: str, body: dict[str, Any]) -> dict[str, Any]:
        self.workgroups.create(region, body.get("Name"), body.get("Configuration"), body.get("Description"),
                               body.get("Tags"))
        return {}

    def get_work_group(self, region: str, body: dict[str, Any]) -> dict[str, Any]:
        name = _required_str(body, "WorkGroup", "workGroup")
        return {"WorkGroup": self.workgroups.get(region, name).to_wire()}

    def list_work_groups(self, region: str, body: dict[str, Any]) -> dict[str, Any]:
        limit = _max_results(body, 50, 50, minimum=1)
        summaries = [g.summary() for g in self.workgroups.list(region)]
        return _page("WorkGroups", summaries, body, "workgroups", region, limit)

    def update_work_group(self, region: str, body: dict[str, Any]) -> dict[str, Any]:
        name = _required_str(body, "WorkGroup", "workGroup")
        self.workgroups.update(region, name, body)
        return {}

    def delete_work_group(self, region: str, body: dict[str, Any]) -> dict[str, Any]:
        name = _required_str(body, "WorkGroup", "workGroup")
        self.workgroups.delete(region, name)
        return {}

    def list_engine_versions(self, region: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"EngineVersions": [{"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": ENGINE_VERSION},
                                   {"SelectedEngineVersion": ENGINE_VERSION,
                                    "EffectiveEngineVersion": ENGINE_VERSION}]}

    # -- data catalogs and metadata ----------------------------------------------------------
    def list_data_catalogs(self, region: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"DataCatalogsSummary": [datacatalogs.data_catalog_summary()]}

    def get_data_catalog(self, region: str, body: dict[str, Any]) -> dict[str, Any]:
        datacatalogs.check_catalog_name(_required_str(body, "Name", "name"))
        return {"DataCatalog": datacatalogs.data_catalog(self.account_id)}

    def _catalog(self, region: str, body: dict[str, Any]) -> datacatalogs.Catalog:
        datacatalogs.check_catalog_name(_required_str(body, "CatalogName", "catalogName"))
        return self.catalog_factory(self.account_id, region)

    def list_databases(self, region: str, body: dict[str, Any]) -> dict[str, Any]:
        catalog = self._catalog(region, body)
        limit = _max_results(body, 50, 50, minimum=1)
        databases = sorted((datacatalogs.database_wire(d) for d in catalog.list_databases()),
                           key=lambda d: d["Name"])
        return _page("DatabaseList", databases, body, "databases", region, limit)

    def get_database(self, region: str, body: dict[str, Any]) -> dict[str, Any]:
        catalog = self._catalog(region, body)
        return {"Database": datacatalogs.get_database(catalog, _required_str(body, "DatabaseName", "databaseName"))}

    def list_table_metadata(self, region: str, body: dict[str, Any]) -> dict[str, Any]:
        catalog = self._catalog(region, body)
        database = _required_str(body, "DatabaseName", "databaseName")
        limit = _max_results(body, 50, 50, minimum=1)
        tables = datacatalogs.list_table_metadata(catalog, database, body.get("Expression"))
        return _page("TableMetadataList", tables, body, "tables", f"{region}/{database}", limit)

    def get_table_metadata(self, region: str, body: dict[str, Any]) -> dict[str, Any]:
        catalog = self._catalog(region, body)
        database = _required_str(body, "DatabaseName", "databaseName")
        table = _required_str(body, "TableName", "tableName")
        return {"TableMetadata": datacatalogs.get_table_metadata(catalog, database, table)}


def _close_engines(engines: list[Engine], stopped: list[QueryExecution], timeout: float = 60.0) -> None:
    for execution in stopped:
        if not execution.released.wait(timeout):
            log.warning("query %s did not stop within %.0f s; its engine stays open", execution.id, timeout)
            return
    for engine in engines:
        close = getattr(engine, "close", None)
        if callable(close):
            try:
                close()
            except Exception:  # a failing close must not break the sandbox
                log.exception("closing an Athena engine failed")


def install(gateway: Gateway) -> AthenaApi:
    """Serve Athena from the local engine (called at sandbox start-up)."""
    api = AthenaApi(gateway)
    gateway.add_extension(api)
    return api


# -- request helpers ------------------------------------------------------------------------
_LEADING_COMMENTS = re.compile(r"^(\s+|--[^\n]*\n?|/\*.*?\*/)*", re.DOTALL)


def classify(engine: Engine, sql: str) -> tuple[str, str | None, AthenaSqlError | None]:
    """``StatementType``, ``SubstatementType`` (when the engine knows it) and the parse error, if any."""
    try:
        classify_with = getattr(engine, "classify", None)
        if callable(classify_with):
            found = classify_with(sql)
            return found.statement_type, found.substatement_type, None
        return engine.statement_type(sql), None, None
    except AthenaSqlError as exc:
        return guess_statement_type(sql), None, exc


def guess_statement_type(sql: str) -> str:
    """The statement type by the first keyword, for SQL the engine cannot parse."""
    words = _LEADING_COMMENTS.sub("", sql).split(None, 1)
    first = words[0].lower().lstrip("(") if words else ""
    if first in ("create", "alter", "drop", "msck", "describe", "desc"):
        return "DDL"
    if first in ("show", "use"):
        return "UTILITY"
    return "DML"


def _required_str(body: dict[str, Any], key: str, member: str) -> str:
    value = body.get(key)
    if value is None:
        raise invalid(f"1 validation error detected: Value null at '{member}' failed to satisfy constraint: "
                      "Member must not be null")
    if not isinstance(value, str) or not value:
        raise validation(member, "Member must have length greater than or equal to 1", value)
    return value


def _object(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid(f"{key} must be an object.")
    return dict(value)


def _client_request_token(token: Any) -> str | None:
    # The SDKs and the CLI always send one (an idempotency token); raw HTTP clients must too, as on AWS.
    if token is None:
        raise invalid("clientRequestToken is null or empty")
    if not isinstance(token, str) or len(token) < 32:
        raise validation("clientRequestToken", "Member must have length greater than or equal to 32")
    if len(token) > 128:
        raise validation("clientRequestToken", "Member must have length less than or equal to 128")
    return token


def _max_results(body: dict[str, Any], default: int, maximum: int, minimum: int) -> int:
    value = body.get("MaxResults")
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise validation("maxResults", "Member must be an integer", value)
    if value > maximum:
        raise validation("maxResults", f"Member must have value less than or equal to {maximum}", value)
    if value < minimum:
        raise validation("maxResults", f"Member must have value greater than or equal to {minimum}", value)
    return value


def _encode_token(kind: str, scope: str, offset: int) -> str:
    raw = json.dumps({"k": kind, "s": scope, "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: Any, kind: str, scope: str) -> int:
    if token is None:
        return 0
    try:
        text = str(token)
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if data["k"] == kind and data["s"] == scope and isinstance(data["o"], int) and data["o"] >= 0:
            return data["o"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        pass
    raise invalid("The NextToken is not valid for this request: pass the NextToken of the previous answer "
                  "to the same request unchanged.")


def _page(key: str, items: list[Any], body: dict[str, Any], kind: str, scope: str, limit: int) -> dict[str, Any]:
    offset = _decode_token(body.get("NextToken"), kind, scope)
    out: dict[str, Any] = {key: items[offset:offset + limit]}
    if offset + limit < len(items):
        out["NextToken"] = _encode_token(kind, scope, offset + limit)
    return out


def _json_default(value: Any) -> Any:
    import datetime as dt

    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).timestamp()
    return str(value)
