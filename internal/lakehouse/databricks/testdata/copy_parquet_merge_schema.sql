COPY INTO `main`.`exports`.`lakeport_user_vip`
FROM '/Volumes/main/exports/staging/job1/run-7'
FILEFORMAT = PARQUET
FILES = ('part-00000.parquet', 'part-00001.parquet')
FORMAT_OPTIONS ('mergeSchema' = 'true')
COPY_OPTIONS ('mergeSchema' = 'true')
