"""The same Athena engine over a local copy of buckets, and a small command line for it.

After ``aws s3 sync s3://my-findings-bucket ROOT/my-findings-bucket`` the copy under ``ROOT`` is
queried with the very DDL and SQL used on Athena: ``s3://my-findings-bucket/...`` locations
resolve to ``ROOT/my-findings-bucket/...``. The catalog (databases, tables, partitions) lives in
``ROOT/.gdnb-catalog.json``; a ``default`` database is made on first use, as an AWS account has one.

Usage::

    python -m gdnb.sandbox.athena.local --root ROOT [--database D] [--format table|csv] "SQL"
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gdnb.sandbox.athena.catalog import AlreadyExists, LocalCatalog
from gdnb.sandbox.athena.engine import Engine
from gdnb.sandbox.athena.errors import AthenaSqlError
from gdnb.sandbox.athena.model import QueryOutcome
from gdnb.sandbox.athena.storage import LocalDirStore

if TYPE_CHECKING:
    from gdnb.sandbox.athena.dml import DmlExecutor

log = logging.getLogger(__name__)

CATALOG_FILE = ".gdnb-catalog.json"
CACHE_DIR = ".gdnb-cache"


def local_engine(root: Path, region: str = "us-east-1", catalog_path: Path | None = None,
                 executor: DmlExecutor | None = None) -> Engine:
    """An :class:`~gdnb.sandbox.athena.engine.Engine` over buckets copied under ``root``.

    Parameters
    ----------
    root
        The directory whose subdirectories are buckets (``root/<bucket>/<key>``).
    region
        The region the copy stands for (every bucket is taken to be there).
    catalog_path
        The catalog file; default ``root/.gdnb-catalog.json``.
    executor
        The DML executor; default the SQL engine's ``DmlExecutor`` (caching under ``root/.gdnb-cache``).
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory: give the folder that holds the copied buckets")
    catalog = LocalCatalog(catalog_path or root / CATALOG_FILE)
    with contextlib.suppress(AlreadyExists):
        catalog.create_database({"Name": "default", "Description": "Default database", "Parameters": {}})
    return Engine(catalog, LocalDirStore(root, region=region), region, cache_dir=root / CACHE_DIR, executor=executor)


def _print_table(outcome: QueryOutcome, out) -> None:
    if outcome.statement_type != "DML":
        for row in outcome.rows:
            print(row[0] if row else "", file=out)
        return
    headers = [c.name for c in outcome.columns]
    cells = [["" if v is None else str(v) for v in row] for row in outcome.rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    print(" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)), file=out)
    print("-+-".join("-" * w for w in widths), file=out)
    for r in cells:
        print(" | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)), file=out)


def _print_csv(outcome: QueryOutcome, out) -> None:
    if outcome.statement_type != "DML":
        _print_table(outcome, out)
        return
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow([c.name for c in outcome.columns])
    for row in outcome.rows:
        writer.writerow(["" if v is None else v for v in row])


def main(argv: Sequence[str] | None = None) -> int:
    """Run one statement over a local copy and print its result.

    Returns the exit status: 0 on success, 1 when the statement failed (the reason is printed).
    """
    parser = argparse.ArgumentParser(prog="gdnb local",
                                     description="Run an Athena statement over a local copy of S3 buckets.")
    parser.add_argument("--root", required=True, type=Path, help="folder holding the copied buckets")
    parser.add_argument("--database", default="default", help="session database (default: default)")
    parser.add_argument("--region", default="us-east-1", help="region the copy stands for")
    parser.add_argument("--catalog", type=Path, default=None, help=f"catalog file (default: ROOT/{CATALOG_FILE})")
    parser.add_argument("--format", choices=("table", "csv"), default="table")
    parser.add_argument("--param", action="append", default=None, help="an execution parameter for a '?' (repeat)")
    parser.add_argument("sql", help="the statement")
    args = parser.parse_args(argv)
    try:
        engine = local_engine(args.root, region=args.region, catalog_path=args.catalog)
        outcome = engine.execute(args.sql, database=args.database, execution_parameters=args.param,
                                 now=datetime.datetime.now(datetime.UTC))
    except AthenaSqlError as err:
        print(err.reason, file=sys.stderr)
        return 1
    except FileNotFoundError as err:
        print(str(err), file=sys.stderr)
        return 1
    (_print_csv if args.format == "csv" else _print_table)(outcome, sys.stdout)
    if outcome.statement_type == "DML":
        print(f"Data scanned: {outcome.data_scanned_bytes} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
