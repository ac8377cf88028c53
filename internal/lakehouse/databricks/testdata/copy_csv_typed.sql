COPY INTO `main`.`exports`.`lakeport_user_vip`
FROM (
  SELECT CAST(`id` AS BIGINT) AS `id`, CAST(`name` AS STRING) AS `name`, CAST(`ts` AS TIMESTAMP) AS `ts`
  FROM 'abfss://c@acct.dfs.core.windows.net/p'
)
FILEFORMAT = CSV
FILES = ('a.csv')
FORMAT_OPTIONS ('header' = 'true')
