-- Findings per exporting region (the region folder of the export) in the date window,
-- latest version of each finding.
WITH versions AS (
  SELECT *,
         row_number() OVER (PARTITION BY id ORDER BY updatedat DESC) AS version_rank
  FROM gd_findings
  WHERE date_partition BETWEEN %(start_day)s AND %(end_day)s
    AND (%(all_regions)s OR region_partition IN %(regions)s)
)
SELECT region_partition AS region,
       count(*) AS findings,
       count_if(CAST(severity AS double) >= 7.0) AS high_or_critical,
       count(DISTINCT type) AS types,
       max(CAST(severity AS double)) AS max_severity
FROM versions
WHERE version_rank = 1
  AND CAST(severity AS double) >= %(min_severity)s
  AND (%(all_accounts)s OR accountid IN %(accounts)s)
GROUP BY region_partition
ORDER BY findings DESC, region
