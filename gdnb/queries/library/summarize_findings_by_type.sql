-- Findings per type in the date window (each finding counted once, at its latest version).
WITH versions AS (
  SELECT *,
         row_number() OVER (PARTITION BY id ORDER BY updatedat DESC) AS version_rank
  FROM gd_findings
  WHERE date_partition BETWEEN %(start_day)s AND %(end_day)s
    AND (%(all_regions)s OR region_partition IN %(regions)s)
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
