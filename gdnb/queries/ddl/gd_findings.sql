-- GuardDuty findings, partitioned by the export's own folders, registered by hand
-- (ALTER TABLE ADD PARTITION, see gdnb.partitions): AWSLogs/<account>/GuardDuty/<region>/YYYY/MM/DD/.
-- A query that filters date_partition reads only those days' objects.
-- LOCATION is s3://<bucket>/[<prefix>/]AWSLogs/
CREATE EXTERNAL TABLE `gd_findings` (
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
PARTITIONED BY (
  `account_partition` string,
  `region_partition` string,
  `date_partition` string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION %(location)s
