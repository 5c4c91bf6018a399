-- New findings per day: the findings created (createdAt, UTC) on each day of the date window,
-- split by severity band; each finding counted once, at its latest version in the window.
-- A finding created before the window and updated in it is exported in the window but is not
-- new there, so it is left out (report_findings_by_day counts the findings active each day).
WITH versions AS (
  SELECT *,
         row_number() OVER (PARTITION BY id ORDER BY updatedat DESC) AS version_rank
  FROM gd_findings
  WHERE date_partition BETWEEN %(start_day)s AND %(end_day)s
    AND (%(all_regions)s OR region_partition IN %(regions)s)
)
SELECT substr(createdat, 1, 10) AS day,
       count(*) AS findings,
       count_if(CAST(severity AS double) >= 9.0) AS critical,
       count_if(CAST(severity AS double) >= 7.0 AND CAST(severity AS double) < 9.0) AS high,
       count_if(CAST(severity AS double) >= 4.0 AND CAST(severity AS double) < 7.0) AS medium,
       count_if(CAST(severity AS double) < 4.0) AS low
FROM versions
WHERE version_rank = 1
  AND substr(createdat, 1, 10) BETWEEN %(start_date)s AND %(end_date)s
  AND CAST(severity AS double) >= %(min_severity)s
  AND (%(all_accounts)s OR accountid IN %(accounts)s)
GROUP BY substr(createdat, 1, 10)
ORDER BY day
