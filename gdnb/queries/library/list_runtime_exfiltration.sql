-- Exfiltration seen by Runtime Monitoring and EKS protection: instance credentials stolen through
-- DNS rebinding of the metadata service, and access to Kubernetes secrets and credentials. Which
-- cluster, workload, process and remote end. One row per finding (latest version) in the date
-- window. Drop points and sinkholes (also of runtime workloads) are list_drop_point_traffic's.
WITH versions AS (
  SELECT *,
         row_number() OVER (PARTITION BY id ORDER BY updatedat DESC) AS version_rank
  FROM gd_findings
  WHERE date_partition BETWEEN %(start_day)s AND %(end_day)s
    AND (%(all_regions)s OR region_partition IN %(regions)s)
    AND (type = 'UnauthorizedAccess:Runtime/MetadataDNSRebind'
         OR type LIKE 'CredentialAccess:Kubernetes/%%')
)
SELECT id AS finding_id,
       type,
       accountid AS account_id,
       region,
       CAST(severity AS double) AS severity,
       json_extract_scalar(resource, '$.resourcetype') AS resource_type,
       json_extract_scalar(resource, '$.eksclusterdetails.name') AS eks_cluster,
       json_extract_scalar(resource, '$.kubernetesdetails.kubernetesworkloaddetails.namespace') AS namespace,
       json_extract_scalar(resource, '$.kubernetesdetails.kubernetesworkloaddetails.name') AS workload,
       json_extract_scalar(resource, '$.kubernetesdetails.kubernetesuserdetails.username') AS kubernetes_user,
       json_extract_scalar(resource, '$.instancedetails.instanceid') AS instance_id,
       json_extract_scalar(resource, '$.lambdadetails.functionname') AS lambda_function,
       json_extract_scalar(service, '$.runtimedetails.process.name') AS process,
       json_extract_scalar(service, '$.action.dnsrequestaction.domain') AS domain,
       coalesce(json_extract_scalar(service, '$.action.networkconnectionaction.remoteipdetails.ipaddressv4'),
                json_extract_scalar(service, '$.action.kubernetesapicallaction.remoteipdetails.ipaddressv4'))
         AS remote_ip,
       json_extract_scalar(service, '$.action.kubernetesapicallaction.requesturi') AS request_uri,
       CAST(json_extract_scalar(service, '$.count') AS bigint) AS event_count,
       json_extract_scalar(service, '$.eventfirstseen') AS first_seen,
       json_extract_scalar(service, '$.eventlastseen') AS last_seen
FROM versions
WHERE version_rank = 1
  AND CAST(severity AS double) >= %(min_severity)s
  AND (%(all_accounts)s OR accountid IN %(accounts)s)
ORDER BY CAST(severity AS double) DESC, last_seen DESC, finding_id
