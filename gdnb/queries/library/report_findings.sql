-- The findings report's rows: one row per finding exported in the date window, at its latest
-- version there, with what the report groups by: severity, type, account, exporting region, when
-- it was created and last updated, on which days and how many times it was exported in the window,
-- and the resources it names (instance, access key and user, bucket, EKS and ECS cluster, Lambda
-- function, RDS instance). A finding created before the window and updated in it is included.
WITH versions AS (
  SELECT *,
         row_number() OVER (PARTITION BY id ORDER BY updatedat DESC) AS version_rank,
         count(*) OVER (PARTITION BY id) AS exports,
         min(date_partition) OVER (PARTITION BY id) AS first_export_partition
  FROM gd_findings
  WHERE date_partition BETWEEN %(start_day)s AND %(end_day)s
    AND (%(all_regions)s OR region_partition IN %(regions)s)
)
SELECT id AS finding_id,
       type,
       accountid AS account_id,
       region_partition AS region,
       CAST(severity AS double) AS severity,
       createdat AS created_at,
       updatedat AS updated_at,
       replace(first_export_partition, '/', '-') AS first_export_day,
       replace(date_partition, '/', '-') AS last_export_day,
       exports,
       CAST(json_extract_scalar(service, '$.count') AS bigint) AS event_count,
       title,
       json_extract_scalar(resource, '$.resourcetype') AS resource_type,
       json_extract_scalar(resource, '$.instancedetails.instanceid') AS instance_id,
       json_extract_scalar(resource, '$.accesskeydetails.accesskeyid') AS access_key_id,
       json_extract_scalar(resource, '$.accesskeydetails.username') AS user_name,
       json_extract_scalar(resource, '$.s3bucketdetails[0].name') AS bucket,
       json_extract_scalar(resource, '$.eksclusterdetails.name') AS eks_cluster,
       json_extract_scalar(resource, '$.ecsclusterdetails.name') AS ecs_cluster,
       json_extract_scalar(resource, '$.lambdadetails.functionname') AS lambda_function,
       json_extract_scalar(resource, '$.rdsdbinstancedetails.dbinstanceidentifier') AS rds_instance
FROM versions
WHERE version_rank = 1
  AND CAST(severity AS double) >= %(min_severity)s
  AND (%(all_accounts)s OR accountid IN %(accounts)s)
ORDER BY CAST(severity AS double) DESC, updatedat DESC, finding_id
