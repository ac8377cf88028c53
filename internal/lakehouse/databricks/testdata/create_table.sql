CREATE TABLE IF NOT EXISTS `main`.`exports`.`lakeport_user_vip` (
  `id` BIGINT NOT NULL,
  `name` STRING,
  `ts` TIMESTAMP,
  `local ts` TIMESTAMP_NTZ,
  `day` DATE,
  `price` DECIMAL(10,2),
  `tags` ARRAY<STRING>,
  `attrs` MAP<STRING,STRING>,
  `addr` STRUCT<`city`:STRING>
) USING DELTA
TBLPROPERTIES ('comment.by' = 'lakeport\'s', 'delta.enableChangeDataFeed' = 'true')
