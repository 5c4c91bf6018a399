"""Local Athena: the Athena API over sqlglot (Athena SQL) and DuckDB (execution).

The engine is independent of the sandbox's HTTP layer: it reads objects through an
:class:`~gdnb.sandbox.athena.storage.ObjectStore` and tables through a catalog, so the same
engine answers over moto's S3 and Glue in the sandbox, or over a local copy of a bucket.
"""
