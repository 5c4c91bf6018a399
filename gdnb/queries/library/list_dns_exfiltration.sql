-- DNS data exfiltration (Trojan:EC2/DNSDataExfiltration): an instance sends data out encoded
-- in DNS queries. One row per finding (its latest exported version) in the date window.
WITH versions AS (
  SELECT *,
         row_number() OVER (PARTITION BY id ORDER BY updatedat DESC) AS version_rank
  FROM gd_findings
  WHERE date_partition BETWEEN %(start_day)s AND %(end_day)s
    AND (%(all_regions)s OR region_partition IN %(regions)s)
    AND type = 'Trojan:EC2/DNSDataExfiltration'
)
SELECT id AS finding_id,
       accountid AS account_id,
       region,
       CAST(severity AS double) AS severity,
       json_extract_scalar(resource, '$.instancedetails.instanceid') AS instance_id,
       json_extract_scalar(service, '$.action.dnsrequestaction.domain') AS domain,
       json_extract_scalar(service, '$.action.dnsrequestaction.protocol') AS protocol,
       json_extract_scalar(service, '$.action.dnsrequestaction.blocked') AS blocked,
       CAST(json_extract_scalar(service, '$.count') AS bigint) AS event_count,
       json_extract_scalar(service, '$.eventfirstseen') AS first_seen,
       json_extract_scalar(service, '$.eventlastseen') AS last_seen,
       title
FROM versions
WHERE version_rank = 1
  AND CAST(severity AS double) >= %(min_severity)s
  AND (%(all_accounts)s OR accountid IN %(accounts)s)
ORDER BY CAST(severity AS double) DESC, last_seen DESC, finding_id
