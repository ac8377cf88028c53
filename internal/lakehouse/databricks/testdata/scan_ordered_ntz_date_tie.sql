SELECT *
FROM `main`.`web`.`events` VERSION AS OF 7
WHERE `local_ts` IS NOT NULL
  AND (`local_ts` > CAST(:after_key AS TIMESTAMP_NTZ) OR (`local_ts` = CAST(:after_key_eq AS TIMESTAMP_NTZ) AND `day` > :after_tie))
ORDER BY `local_ts` ASC, `day` ASC NULLS FIRST
-- :after_key STRING = 2024-03-01 10:30:00.123456
-- :after_tie DATE = 2024-03-01
-- :after_key_eq STRING = 2024-03-01 10:30:00.123456
