-- The table of the AWS docs ("Querying Amazon GuardDuty findings"), verbatim.
-- Unpartitioned: every query reads every object under LOCATION, so its cost grows with the history.
-- LOCATION is s3://<bucket>/[<prefix>/]AWSLogs/<account>/GuardDuty/
CREATE EXTERNAL TABLE `gd_logs` (
  `schemaversion` string,
  `accountid` string,
  `region` string,
  `partition` string,
  `id` string,
  `arn` string,
  `type` string,
  `resource` string,
  `service` string,
  `severity` string,
  `createdat` string,
  `updatedat` string,
  `title` string,
  `description` string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION %(location)s
TBLPROPERTIES ('has_encrypted_data'='true')
