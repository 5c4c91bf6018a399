-- The same table with partition projection: Athena computes the partitions from these
-- properties (accounts and regions listed, days from a start date to NOW) instead of reading
-- them from Glue, so nothing has to be registered as new days arrive.
-- LOCATION is s3://<bucket>/[<prefix>/]AWSLogs/
CREATE EXTERNAL TABLE `gd_findings_projected` (
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
TBLPROPERTIES (
  'projection.enabled'='true',
  'projection.account_partition.type'='enum',
  'projection.account_partition.values'=%(accounts)s,
  'projection.region_partition.type'='enum',
  'projection.region_partition.values'=%(regions)s,
  'projection.date_partition.type'='date',
  'projection.date_partition.format'='yyyy/MM/dd',
  'projection.date_partition.range'=%(date_range)s,
  'projection.date_partition.interval'='1',
  'projection.date_partition.interval.unit'='DAYS',
  'storage.location.template'=%(location_template)s)
