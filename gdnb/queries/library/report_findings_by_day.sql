-- Findings active on each day of the date window (exported that day: created or updated), split
-- by severity band (Low 1.0-3.9, Medium 4.0-6.9, High 7.0-8.9, Critical 9.0+). A finding counts
-- once per day, at its last version of that day; the day is the export's date folder (UTC).
WITH versions AS (
  SELECT id,
         accountid,
         severity,
         date_partition,
         row_number() OVER (PARTITION BY id, date_partition ORDER BY updatedat DESC) AS version_rank
  FROM gd_findings
  WHERE date_partition BETWEEN %(start_day)s AND %(end_day)s
    AND (%(all_regions)s OR region_partition IN %(regions)s)
)
SELECT replace(date_partition, '/', '-') AS day,
       count(*) AS findings,
       count_if(CAST(severity AS double) >= 9.0) AS critical,
       count_if(CAST(severity AS double) >= 7.0 AND CAST(severity AS double) < 9.0) AS high,
       count_if(CAST(severity AS double) >= 4.0 AND CAST(severity AS double) < 7.0) AS medium,
       count_if(CAST(severity AS double) < 4.0) AS low
FROM versions
WHERE version_rank = 1
  AND CAST(severity AS double) >= %(min_severity)s
  AND (%(all_accounts)s OR accountid IN %(accounts)s)
GROUP BY replace(date_partition, '/', '-')
ORDER BY day
