"""The local Athena's SQL engine: Trino semantics on DuckDB, the JSON SerDes, Athena's value rendering.

``serde`` loads and caches tables, ``translate`` turns Athena SQL into DuckDB SQL, ``macros.sql`` holds
the DuckDB macros that give Trino's answers, ``render`` prints values as Athena does, ``types`` maps
Hive, DuckDB and Athena type names. ``gdnb.sandbox.athena.dml`` ties them together.
"""
