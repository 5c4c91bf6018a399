-- The same question as summarize_findings_by_type, asked of the unpartitioned gd_logs: the
-- window can only filter rows after reading them (by updatedat), so the whole history is scanned.
WITH versions AS (
  SELECT *,
         row_number() OVER (PARTITION BY id ORDER BY updatedat DESC) AS version_rank
  FROM gd_logs
  WHERE substr(updatedat, 1, 10) BETWEEN %(start_date)s AND %(end_date)s
)
SELECT type,
       count(*) AS findings,
       sum(CAST(json_extract_scalar(service, '$.count') AS bigint)) AS events,
       max(CAST(severity AS double)) AS max_severity,
       min(createdat) AS first_created,
       max(updatedat) AS last_updated
FROM versions
WHERE version_rank = 1
  AND CAST(severity AS double) >= %(min_severity)s
  AND (%(all_accounts)s OR accountid IN %(accounts)s)
GROUP BY type
ORDER BY findings DESC, type
