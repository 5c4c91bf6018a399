-- New since the previous window, or recurring. Run it over both windows: start is the first day
-- of the previous window, end the last day of the report window, current_start the report
-- window's first day. Per type, at each finding's latest version: the findings exported in the
-- report window, those of them also exported in the previous window (recurring) and not
-- (new since then), and the previous window's findings that were not exported again.
WITH versions AS (
  SELECT id,
         type,
         accountid,
         severity,
         row_number() OVER (PARTITION BY id ORDER BY updatedat DESC) AS version_rank,
         min(date_partition) OVER (PARTITION BY id) AS first_partition,
         max(date_partition) OVER (PARTITION BY id) AS last_partition
  FROM gd_findings
  WHERE date_partition BETWEEN %(start_day)s AND %(end_day)s
    AND (%(all_regions)s OR region_partition IN %(regions)s)
),
findings AS (
  SELECT type,
         last_partition >= date_format(%(current_start)s, '%%Y/%%m/%%d') AS in_window,
         first_partition < date_format(%(current_start)s, '%%Y/%%m/%%d') AS in_previous
  FROM versions
  WHERE version_rank = 1
    AND CAST(severity AS double) >= %(min_severity)s
    AND (%(all_accounts)s OR accountid IN %(accounts)s)
)
SELECT type,
       count_if(in_window) AS findings,
       count_if(in_window AND NOT in_previous) AS new_since_previous,
       count_if(in_window AND in_previous) AS recurring,
       count_if(in_previous) AS previous_window,
       count_if(in_previous AND NOT in_window) AS not_seen_again
FROM findings
GROUP BY type
ORDER BY findings DESC, previous_window DESC, type
