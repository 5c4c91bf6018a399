-- The same table as an older version of the AWS docs declared it: createdate/updatedate.
-- No JSON key is called that (GuardDuty writes createdAt/updatedAt), so those two columns are
-- always NULL. Kept only to show the pitfall in notebook 02.
CREATE EXTERNAL TABLE `gd_logs_old_docs` (
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
  `createdate` string,
  `updatedate` string,
  `title` string,
  `description` string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION %(location)s
TBLPROPERTIES ('has_encrypted_data'='true')
