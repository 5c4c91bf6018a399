-- The AWS docs' "DNS data exfiltration" example, as published, over the unpartitioned gd_logs.
-- It reads the whole history, returns every exported version of each finding (GuardDuty exports
-- a finding again each time it is updated) and sorts severity as text ('10.0' < '8.0').
-- The queries over gd_findings fix all three.
SELECT title,
       severity,
       type,
       id AS FindingID,
       accountid,
       region,
       createdat,
       updatedat,
       json_extract_scalar(service, '$.count') AS Count,
       json_extract_scalar(resource, '$.instancedetails.instanceid') AS InstanceID,
       json_extract_scalar(service, '$.action.actiontype') AS DNS_ActionType,
       json_extract_scalar(service, '$.action.dnsrequestaction.domain') AS DomainName,
       json_extract_scalar(service, '$.action.dnsrequestaction.protocol') AS protocol,
       json_extract_scalar(service, '$.action.dnsrequestaction.blocked') AS blocked
FROM gd_logs
WHERE type = 'Trojan:EC2/DNSDataExfiltration'
ORDER BY severity DESC
