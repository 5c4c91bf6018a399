-- Why the columns are createdat/updatedat: the same objects read by the current docs table
-- (gd_logs) and by the old docs table (gd_logs_old_docs, createdate/updatedate). The old
-- columns match no JSON key, so they are never set.
SELECT 'gd_logs' AS table_name,
       count(*) AS rows_read,
       count(createdat) AS created_set,
       count(updatedat) AS updated_set
FROM gd_logs
UNION ALL
SELECT 'gd_logs_old_docs' AS table_name,
       count(*) AS rows_read,
       count(createdate) AS created_set,
       count(updatedate) AS updated_set
FROM gd_logs_old_docs
