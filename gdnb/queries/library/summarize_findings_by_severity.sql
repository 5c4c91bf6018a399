-- Findings per severity band in the date window (latest version of each finding):
-- Low 1.0-3.9, Medium 4.0-6.9, High 7.0-8.9, Critical 9.0 and above.
WITH versions AS (
  SELECT *,
         row_number() OVER (PARTITION BY id ORDER BY updatedat DESC) AS version_rank
  FROM gd_findings
  WHERE date_partition BETWEEN %(start_day)s AND %(end_day)s
    AND (%(all_regions)s OR region_partition IN %(regions)s)
),
banded AS (
  SELECT CAST(severity AS double) AS severity_value,
         CASE
           WHEN CAST(severity AS double) >= 9.0 THEN 'Critical'
           WHEN CAST(severity AS double) >= 7.0 THEN 'High'
           WHEN CAST(severity AS double) >= 4.0 THEN 'Medium'
           ELSE 'Low'
         END AS severity_band
  FROM versions
  WHERE version_rank = 1
    AND CAST(severity AS double) >= %(min_severity)s
    AND (%(all_accounts)s OR accountid IN %(accounts)s)
)
SELECT severity_band,
       count(*) AS findings,
       min(severity_value) AS min_severity,
       max(severity_value) AS max_severity
FROM banded
GROUP BY severity_band
ORDER BY max(severity_value) DESC
