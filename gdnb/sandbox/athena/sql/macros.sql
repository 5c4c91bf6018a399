-- DuckDB macros that give Trino's (Athena engine v3's) answer where DuckDB's own function differs.
-- Loaded once per DuckDB database by gdnb.sandbox.athena.sql.session. Errors are raised with
-- error('GDNB:<ATHENA_KIND>:<message>') and turned into AthenaSqlError by the executor.

-- The OpenX SerDe lower-cases every key of nested JSON. Keys are JSON strings followed by ':';
-- only text that starts as an object or array is touched, so plain strings keep their case.
CREATE OR REPLACE MACRO gdnb_lower_keys(s) AS
  CASE WHEN s IS NULL THEN NULL
       WHEN left(s, 1) NOT IN ('{', '[') OR NOT regexp_matches(s, '"[^"]*[A-Z]') THEN s
       ELSE array_to_string(list_transform(
              regexp_extract_all(s, '"(?:[^"\\]|\\.)*"\s*:|"(?:[^"\\]|\\.)*"|[^"]+'),
              lambda t: CASE WHEN left(t, 1) = '"' AND right(t, 1) = ':' THEN lower(t) ELSE t END), '')
  END;

-- json_extract_scalar: NULL for objects, arrays and text that is not JSON (Trino catches parse errors).
-- json_value already gives NULL for objects and arrays; strings come back quoted.
CREATE OR REPLACE MACRO gdnb_unquote(v) AS CASE WHEN prefix(v, '"') THEN json_extract_string(v, '$') ELSE v END;
CREATE OR REPLACE MACRO gdnb_json_extract_scalar(j, p) AS gdnb_unquote(try(json_value(j, p)));
CREATE OR REPLACE MACRO gdnb_json_extract_scalar_any(j, ps) AS
  gdnb_unquote(list_filter(try(json_value(j, ps)), lambda v: v IS NOT NULL)[1]);
CREATE OR REPLACE MACRO gdnb_json_extract(j, p) AS try(json_extract(j, p));
CREATE OR REPLACE MACRO gdnb_json_extract_any(j, ps) AS
  list_filter(try(json_extract(j, ps)), lambda v: v IS NOT NULL)[1];
CREATE OR REPLACE MACRO gdnb_json_type(j) AS try(json_type(CAST(j AS JSON)));
CREATE OR REPLACE MACRO gdnb_json_array_length(j) AS
  CASE WHEN gdnb_json_type(j) = 'ARRAY' THEN CAST(json_array_length(CAST(j AS JSON)) AS BIGINT) END;
CREATE OR REPLACE MACRO gdnb_json_size(j, p) AS
  CASE WHEN gdnb_json_extract(j, p) IS NULL THEN NULL
       WHEN json_type(gdnb_json_extract(j, p)) = 'OBJECT' THEN CAST(len(json_keys(gdnb_json_extract(j, p))) AS BIGINT)
       WHEN json_type(gdnb_json_extract(j, p)) = 'ARRAY' THEN CAST(json_array_length(gdnb_json_extract(j, p)) AS BIGINT)
       ELSE CAST(0 AS BIGINT) END;
CREATE OR REPLACE MACRO gdnb_is_json_scalar(j) AS
  CASE WHEN j IS NULL THEN NULL
       WHEN gdnb_json_type(j) IS NULL THEN error('GDNB:INVALID_FUNCTION_ARGUMENT:Invalid JSON value: ' || CAST(j AS VARCHAR))
       ELSE gdnb_json_type(j) NOT IN ('OBJECT', 'ARRAY') END;
CREATE OR REPLACE MACRO gdnb_json_array_contains(j, v) AS
  CASE WHEN gdnb_json_type(j) = 'ARRAY' THEN list_contains(CAST(CAST(j AS JSON) AS JSON[]), to_json(v)) END;
CREATE OR REPLACE MACRO gdnb_json_array_get(j, i) AS
  CASE WHEN gdnb_json_type(j) = 'ARRAY' THEN CAST(j AS JSON)->i END;
-- CAST(json AS varchar): the scalar's text; objects and arrays cannot be cast (Trino raises).
CREATE OR REPLACE MACRO gdnb_json_to_varchar(j) AS
  CASE WHEN j IS NULL THEN NULL
       WHEN left(CAST(j AS VARCHAR), 1) IN ('{', '[')
         THEN error('GDNB:INVALID_CAST_ARGUMENT:Cannot cast to varchar. ' || CAST(j AS VARCHAR))
       ELSE json_extract_string(j, '$') END;

-- Out-of-range parts are NULL in Trino, '' in DuckDB.
CREATE OR REPLACE MACRO gdnb_split_part(s, d, i) AS
  CASE WHEN i <= 0 THEN error('GDNB:INVALID_FUNCTION_ARGUMENT:Index must be greater than zero')
       WHEN i <= len(string_split(s, d)) THEN split_part(s, d, i) END;
CREATE OR REPLACE MACRO gdnb_regexp_extract(s, p, g) AS
  CASE WHEN regexp_matches(s, p) THEN regexp_extract(s, p, g) END;

-- Trino's strict varchar -> integer casts: '8.0' and '8.5' are errors (try_cast gives NULL).
CREATE OR REPLACE MACRO gdnb_is_integer_text(s) AS regexp_full_match(s, '\s*[+-]?[0-9]+\s*');
CREATE OR REPLACE MACRO gdnb_cast_integer(s, type_name) AS
  CASE WHEN s IS NULL THEN NULL
       WHEN gdnb_is_integer_text(s) THEN trim(s)
       ELSE error('GDNB:INVALID_CAST_ARGUMENT:Cannot cast ''' || s || ''' to ' || type_name) END;
CREATE OR REPLACE MACRO gdnb_try_cast_integer(s) AS CASE WHEN gdnb_is_integer_text(s) THEN trim(s) END;
CREATE OR REPLACE MACRO gdnb_cast_boolean(s) AS
  CASE WHEN s IS NULL THEN NULL
       WHEN lower(trim(s)) IN ('true', 't', '1') THEN true
       WHEN lower(trim(s)) IN ('false', 'f', '0') THEN false
       ELSE error('GDNB:INVALID_CAST_ARGUMENT:Cannot cast ''' || s || ''' to BOOLEAN') END;
CREATE OR REPLACE MACRO gdnb_try_cast_boolean(s) AS
  CASE WHEN lower(trim(s)) IN ('true', 't', '1') THEN true WHEN lower(trim(s)) IN ('false', 'f', '0') THEN false END;

-- Subscripts raise in Trino where DuckDB gives NULL (element_at stays lenient in both).
CREATE OR REPLACE MACRO gdnb_array_subscript(a, i) AS
  CASE WHEN a IS NULL OR i IS NULL THEN NULL
       WHEN i = 0 THEN error('GDNB:INVALID_FUNCTION_ARGUMENT:SQL array indices start at 1')
       WHEN i < 0 THEN error('GDNB:INVALID_FUNCTION_ARGUMENT:Array subscript is negative: ' || i)
       WHEN i > len(a) THEN error('GDNB:INVALID_FUNCTION_ARGUMENT:Array subscript must be less than or equal to array length: '
                                  || i || ' > ' || len(a))
       ELSE a[i] END;
CREATE OR REPLACE MACRO gdnb_map_subscript(m, k) AS
  CASE WHEN m IS NULL OR k IS NULL THEN NULL
       WHEN NOT map_contains(m, k) THEN error('GDNB:INVALID_FUNCTION_ARGUMENT:Key not present in map: ' || k)
       ELSE m[k] END;
CREATE OR REPLACE MACRO gdnb_element_at(a, i) AS
  CASE WHEN i = 0 THEN error('GDNB:INVALID_FUNCTION_ARGUMENT:SQL array indices start at 1') ELSE a[i] END;

CREATE OR REPLACE MACRO gdnb_to_iso8601_tz(t) AS strftime(t, '%Y-%m-%dT%H:%M:%S.%gZ');
CREATE OR REPLACE MACRO gdnb_to_iso8601_ts(t) AS strftime(t, '%Y-%m-%dT%H:%M:%S.%g');
-- Instants parsed from text are kept to the millisecond, as Trino's timestamp(3) with time zone.
CREATE OR REPLACE MACRO gdnb_from_iso8601_timestamp(s) AS
  CASE WHEN s IS NULL THEN NULL
       WHEN regexp_matches(s, 'T[^+-]*[+-]\d\d(:?\d\d)?$') AND NOT regexp_matches(s, '[+-]00(:?00)?$')
         THEN error('GDNB:NOT_SUPPORTED:from_iso8601_timestamp with a UTC offset other than Z is not emulated '
                    || '(the local Athena keeps instants in UTC): ' || s)
       WHEN NOT regexp_full_match(s, '\d{4}-\d\d(-\d\d(T\d\d(:\d\d(:\d\d([.,]\d+)?)?)?)?)?(Z|[+-]\d\d(:?\d\d)?)?')
         THEN error('GDNB:INVALID_FUNCTION_ARGUMENT:Invalid format: "' || s || '"')
       ELSE date_trunc('millisecond', CAST(replace(s, ',', '.') AS TIMESTAMPTZ)) END;
CREATE OR REPLACE MACRO gdnb_from_iso8601_date(s) AS
  CASE WHEN s IS NULL THEN NULL
       WHEN NOT regexp_full_match(s, '\d{4}-\d\d-\d\d')
         THEN error('GDNB:INVALID_FUNCTION_ARGUMENT:Invalid format: "' || s || '"')
       ELSE CAST(s AS DATE) END;

CREATE OR REPLACE MACRO gdnb_url_extract_host(u) AS
  nullif(regexp_extract(u, '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?(\[[^\]]*\]|[^/?#:]*)', 1), '');
CREATE OR REPLACE MACRO gdnb_url_extract_path(u) AS
  regexp_extract(u, '^(?:[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)?([^?#]*)', 1);
CREATE OR REPLACE MACRO gdnb_url_extract_protocol(u) AS nullif(regexp_extract(u, '^([A-Za-z][A-Za-z0-9+.-]*):', 1), '');

-- contains('10.0.0.0/8', CAST(ip AS IPADDRESS)) for IPv4 (the inet extension is not available offline).
CREATE OR REPLACE MACRO gdnb_ipv4_to_int(ip) AS
  CASE WHEN regexp_full_match(ip, '(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})')
            AND list_bool_and(list_transform(string_split(ip, '.'), lambda o: CAST(o AS INTEGER) <= 255))
       THEN list_reduce(list_transform(string_split(ip, '.'), lambda o: CAST(o AS BIGINT)), lambda a, b: a * 256 + b)
       WHEN contains(ip, ':') THEN error('GDNB:NOT_SUPPORTED:IPv6 addresses are not emulated by the local Athena: ' || ip)
       ELSE error('GDNB:INVALID_CAST_ARGUMENT:Cannot cast value to IPADDRESS: ' || ip) END;
CREATE OR REPLACE MACRO gdnb_ipv4_in_cidr(cidr, ip) AS
  CASE WHEN ip IS NULL OR cidr IS NULL THEN NULL
       ELSE (gdnb_ipv4_to_int(ip) // CAST(pow(2, 32 - CAST(split_part(cidr, '/', 2) AS INTEGER)) AS BIGINT))
          = (gdnb_ipv4_to_int(split_part(cidr, '/', 1)) // CAST(pow(2, 32 - CAST(split_part(cidr, '/', 2) AS INTEGER)) AS BIGINT))
  END;

-- Athena's names for DuckDB's type names (typeof).
CREATE OR REPLACE MACRO gdnb_typeof(t) AS
  CASE t WHEN 'VARCHAR' THEN 'varchar' WHEN 'INTEGER' THEN 'integer' WHEN 'BIGINT' THEN 'bigint'
         WHEN 'SMALLINT' THEN 'smallint' WHEN 'TINYINT' THEN 'tinyint' WHEN 'DOUBLE' THEN 'double'
         WHEN 'FLOAT' THEN 'real' WHEN 'BOOLEAN' THEN 'boolean' WHEN 'DATE' THEN 'date'
         WHEN 'TIMESTAMP' THEN 'timestamp(3)' WHEN 'TIMESTAMP WITH TIME ZONE' THEN 'timestamp(3) with time zone'
         WHEN 'JSON' THEN 'json' WHEN 'INTERVAL' THEN 'interval day to second' WHEN 'BLOB' THEN 'varbinary'
         WHEN 'VARCHAR[]' THEN 'array(varchar)' WHEN 'BIGINT[]' THEN 'array(bigint)' WHEN 'INTEGER[]' THEN 'array(integer)'
         WHEN 'JSON[]' THEN 'array(json)' WHEN 'DOUBLE[]' THEN 'array(double)'
         WHEN 'MAP(VARCHAR, VARCHAR)' THEN 'map(varchar, varchar)' WHEN 'MAP(VARCHAR, JSON)' THEN 'map(varchar, json)'
         ELSE CASE WHEN regexp_full_match(t, 'DECIMAL\(\d+,\d+\)') THEN lower(t)
                   ELSE error('GDNB:NOT_SUPPORTED:typeof() of a ' || t || ' value is not emulated') END END;

-- CAST(double AS varchar) as Java prints doubles: 8.0, 123.456, 1.0E7, 1.0E-4 (DuckDB: 10000000.0, 0.0001).
CREATE OR REPLACE MACRO gdnb_sci_digits(s) AS
  CASE WHEN contains(s, 'e') THEN
         CASE WHEN contains(split_part(s, 'e', 1), '.') THEN split_part(s, 'e', 1) ELSE split_part(s, 'e', 1) || '.0' END
         || 'E' || CAST(CAST(split_part(s, 'e', 2) AS INTEGER) AS VARCHAR)
       WHEN split_part(s, '.', 1) <> '0' THEN
         left(rtrim(split_part(s, '.', 1) || split_part(s, '.', 2), '0'), 1) || '.'
         || coalesce(nullif(substr(rtrim(split_part(s, '.', 1) || split_part(s, '.', 2), '0'), 2), ''), '0')
         || 'E' || CAST(length(split_part(s, '.', 1)) - 1 AS VARCHAR)
       ELSE
         left(rtrim(ltrim(split_part(s, '.', 2), '0'), '0'), 1) || '.'
         || coalesce(nullif(substr(rtrim(ltrim(split_part(s, '.', 2), '0'), '0'), 2), ''), '0')
         || 'E-' || CAST(length(split_part(s, '.', 2)) - length(ltrim(split_part(s, '.', 2), '0')) + 1 AS VARCHAR)
  END;
CREATE OR REPLACE MACRO gdnb_double_to_varchar(x) AS
  CASE WHEN x IS NULL THEN NULL
       WHEN isnan(x) THEN 'NaN'
       WHEN isinf(x) THEN CASE WHEN x > 0 THEN 'Infinity' ELSE '-Infinity' END
       WHEN x = 0 THEN CASE WHEN CAST(x AS VARCHAR) LIKE '-%' THEN '-0.0' ELSE '0.0' END
       WHEN abs(x) >= 0.001 AND abs(x) < 10000000 AND NOT contains(CAST(x AS VARCHAR), 'e') THEN CAST(x AS VARCHAR)
       ELSE CASE WHEN x < 0 THEN '-' ELSE '' END || gdnb_sci_digits(CAST(abs(x) AS VARCHAR))
  END;

-- Inside try(...) Trino turns errors into NULL, and DuckDB's try() refuses error(): lenient twins.
CREATE OR REPLACE MACRO gdnb_cast_integer_or_null(s, type_name) AS gdnb_try_cast_integer(s);
CREATE OR REPLACE MACRO gdnb_cast_boolean_or_null(s) AS gdnb_try_cast_boolean(s);
CREATE OR REPLACE MACRO gdnb_array_subscript_or_null(a, i) AS CASE WHEN i >= 1 AND i <= len(a) THEN a[i] END;
CREATE OR REPLACE MACRO gdnb_map_subscript_or_null(m, k) AS m[k];
CREATE OR REPLACE MACRO gdnb_element_at_or_null(a, i) AS CASE WHEN i <> 0 THEN a[i] END;
CREATE OR REPLACE MACRO gdnb_json_to_varchar_or_null(j) AS
  CASE WHEN prefix(CAST(j AS VARCHAR), '{') OR prefix(CAST(j AS VARCHAR), '[') THEN NULL ELSE json_extract_string(j, '$') END;
CREATE OR REPLACE MACRO gdnb_split_part_or_null(s, d, i) AS
  CASE WHEN i > 0 AND i <= len(string_split(s, d)) THEN split_part(s, d, i) END;
CREATE OR REPLACE MACRO gdnb_from_iso8601_date_or_null(s) AS
  CASE WHEN regexp_full_match(s, '\d{4}-\d\d-\d\d') THEN TRY_CAST(s AS DATE) END;
CREATE OR REPLACE MACRO gdnb_from_iso8601_timestamp_or_null(s) AS
  CASE WHEN regexp_full_match(s, '\d{4}-\d\d(-\d\d(T\d\d(:\d\d(:\d\d([.,]\d+)?)?)?)?)?(Z|[+-]00(:?00)?)?')
       THEN date_trunc('millisecond', TRY_CAST(replace(s, ',', '.') AS TIMESTAMPTZ)) END;
CREATE OR REPLACE MACRO gdnb_is_json_scalar_or_null(j) AS
  CASE WHEN gdnb_json_type(j) IS NOT NULL THEN gdnb_json_type(j) NOT IN ('OBJECT', 'ARRAY') END;
