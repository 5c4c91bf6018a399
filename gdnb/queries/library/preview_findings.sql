-- A few findings from the date window, to see what the table holds (every version).
SELECT id AS finding_id,
       type,
       CAST(severity AS double) AS severity,
       accountid AS account_id,
       region_partition AS region,
       date_partition AS export_day,
       createdat AS created_at,
       updatedat AS updated_at,
       title
FROM gd_findings
WHERE date_partition BETWEEN %(start_day)s AND %(end_day)s
  AND (%(all_regions)s OR region_partition IN %(regions)s)
ORDER BY updatedat DESC, finding_id
LIMIT %(limit)s
