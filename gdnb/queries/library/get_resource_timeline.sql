-- Every exported version of every finding about one resource (an instance id, access key id,
-- IAM user name, bucket name, EKS cluster or Lambda function name), oldest first: how the
-- story of that resource unfolded in the date window.
SELECT updatedat AS updated_at,
       createdat AS created_at,
       type,
       CAST(severity AS double) AS severity,
       CAST(json_extract_scalar(service, '$.count') AS bigint) AS event_count,
       id AS finding_id,
       accountid AS account_id,
       region_partition AS region,
       date_partition AS export_day,
       title
FROM gd_findings
WHERE date_partition BETWEEN %(start_day)s AND %(end_day)s
  AND (%(all_regions)s OR region_partition IN %(regions)s)
  AND %(resource_id)s IN (
        json_extract_scalar(resource, '$.instancedetails.instanceid'),
        json_extract_scalar(resource, '$.accesskeydetails.accesskeyid'),
        json_extract_scalar(resource, '$.accesskeydetails.username'),
        json_extract_scalar(resource, '$.s3bucketdetails[0].name'),
        json_extract_scalar(resource, '$.eksclusterdetails.name'),
        json_extract_scalar(resource, '$.lambdadetails.functionname'))
ORDER BY updatedat, finding_id
