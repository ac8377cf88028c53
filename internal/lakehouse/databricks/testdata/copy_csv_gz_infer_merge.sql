COPY INTO `main`.`exports`.`lakeport_user_vip`
FROM 's3://bucket/metrics'
FILEFORMAT = CSV
FILES = ('m-1.csv.gz', 'it\'s.csv.gz')
FORMAT_OPTIONS ('header' = 'true', 'compression' = 'gzip', 'inferSchema' = 'true', 'mergeSchema' = 'true')
COPY_OPTIONS ('mergeSchema' = 'true')
