-- Drop points and sinkholes (Trojan:EC2|Lambda|Runtime/DropPoint and /BlackholeTraffic, with their
-- !DNS variants): an instance, Lambda function or workload talks to a server that collects stolen
-- data (a drop point) or to an address that was sinkholed after its owner was taken down.
-- Which resource, which process, and the remote end (the domain for the !DNS variants, else the IP
-- address and port). One row per finding (latest version) in the date window.
WITH versions AS (
  SELECT *,
         row_number() OVER (PARTITION BY id ORDER BY updatedat DESC) AS version_rank
  FROM gd_findings
  WHERE date_partition BETWEEN %(start_day)s AND %(end_day)s
    AND (%(all_regions)s OR region_partition IN %(regions)s)
    AND (type LIKE 'Trojan:EC2/DropPoint%%'
         OR type LIKE 'Trojan:EC2/BlackholeTraffic%%'
         OR type LIKE 'Trojan:Lambda/DropPoint%%'
         OR type LIKE 'Trojan:Lambda/BlackholeTraffic%%'
         OR type LIKE 'Trojan:Runtime/DropPoint%%'
         OR type LIKE 'Trojan:Runtime/BlackholeTraffic%%')
)
SELECT id AS finding_id,
       type,
       accountid AS account_id,
       region,
       CAST(severity AS double) AS severity,
       json_extract_scalar(resource, '$.resourcetype') AS resource_type,
       json_extract_scalar(resource, '$.instancedetails.instanceid') AS instance_id,
       json_extract_scalar(resource, '$.lambdadetails.functionname') AS lambda_function,
       json_extract_scalar(resource, '$.eksclusterdetails.name') AS eks_cluster,
       json_extract_scalar(resource, '$.ecsclusterdetails.name') AS ecs_cluster,
       json_extract_scalar(service, '$.runtimedetails.process.name') AS process,
       json_extract_scalar(service, '$.action.dnsrequestaction.domain') AS domain,
       json_extract_scalar(service, '$.action.networkconnectionaction.remoteipdetails.ipaddressv4') AS remote_ip,
       CAST(json_extract_scalar(service, '$.action.networkconnectionaction.remoteportdetails.port') AS integer)
         AS remote_port,
       json_extract_scalar(service, '$.action.networkconnectionaction.remoteipdetails.country.countryname')
         AS remote_country,
       json_extract_scalar(service, '$.action.networkconnectionaction.remoteipdetails.organization.asnorg')
         AS remote_asn_org,
       coalesce(json_extract_scalar(service, '$.action.dnsrequestaction.domain'),
                json_extract_scalar(service, '$.action.networkconnectionaction.remoteipdetails.ipaddressv4'))
         AS destination,
       CAST(json_extract_scalar(service, '$.count') AS bigint) AS event_count,
       json_extract_scalar(service, '$.eventfirstseen') AS first_seen,
       json_extract_scalar(service, '$.eventlastseen') AS last_seen
FROM versions
WHERE version_rank = 1
  AND CAST(severity AS double) >= %(min_severity)s
  AND (%(all_accounts)s OR accountid IN %(accounts)s)
ORDER BY CAST(severity AS double) DESC, last_seen DESC, finding_id
