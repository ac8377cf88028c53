COPY INTO `main`.`exports`.`lakeport_user_vip`
FROM 's3://bucket/lakeport/job1/run-7'
FILEFORMAT = PARQUET
FILES = ('part-00000.parquet', 'part-00001.parquet')
