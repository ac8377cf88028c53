COPY INTO `main`.`exports`.`lakeport_user_vip`
FROM 'gs://bucket/p'
FILEFORMAT = PARQUET
FILES = ('part-00000.parquet')
COPY_OPTIONS ('force' = 'true')
