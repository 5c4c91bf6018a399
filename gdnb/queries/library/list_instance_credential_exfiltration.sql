-- Credential exfiltration (UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.* and
-- ResourceCredentialExfiltration.*): temporary credentials made for an EC2 instance role, or for
-- another resource's role, are used from outside it (OutsideAWS: from an external IP address;
-- InsideAWS: from another AWS account). Which key, which principal, what it called, and from
-- where. One row per finding (latest version) in the date window.
WITH versions AS (
  SELECT *,
         row_number() OVER (PARTITION BY id ORDER BY updatedat DESC) AS version_rank
  FROM gd_findings
  WHERE date_partition BETWEEN %(start_day)s AND %(end_day)s
    AND (%(all_regions)s OR region_partition IN %(regions)s)
    AND (type LIKE 'UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration%%'
         OR type LIKE 'UnauthorizedAccess:IAMUser/ResourceCredentialExfiltration%%')
)
SELECT id AS finding_id,
       type,
       accountid AS account_id,
       region,
       CAST(severity AS double) AS severity,
       json_extract_scalar(resource, '$.accesskeydetails.accesskeyid') AS access_key_id,
       json_extract_scalar(resource, '$.accesskeydetails.principalid') AS principal_id,
       json_extract_scalar(resource, '$.accesskeydetails.username') AS user_name,
       json_extract_scalar(resource, '$.accesskeydetails.usertype') AS user_type,
       json_extract_scalar(service, '$.action.awsapicallaction.api') AS api,
       json_extract_scalar(service, '$.action.awsapicallaction.servicename') AS service_name,
       json_extract_scalar(service, '$.action.awsapicallaction.remoteipdetails.ipaddressv4') AS remote_ip,
       json_extract_scalar(service, '$.action.awsapicallaction.remoteipdetails.country.countryname') AS remote_country,
       json_extract_scalar(service, '$.action.awsapicallaction.remoteipdetails.organization.org') AS remote_org,
       json_extract_scalar(service, '$.action.awsapicallaction.remoteipdetails.organization.asnorg') AS remote_asn_org,
       json_extract_scalar(service, '$.action.awsapicallaction.remoteaccountdetails.accountid') AS remote_account,
       CAST(json_extract_scalar(service, '$.count') AS bigint) AS event_count,
       json_extract_scalar(service, '$.eventfirstseen') AS first_seen,
       json_extract_scalar(service, '$.eventlastseen') AS last_seen
FROM versions
WHERE version_rank = 1
  AND CAST(severity AS double) >= %(min_severity)s
  AND (%(all_accounts)s OR accountid IN %(accounts)s)
ORDER BY CAST(severity AS double) DESC, last_seen DESC, finding_id
