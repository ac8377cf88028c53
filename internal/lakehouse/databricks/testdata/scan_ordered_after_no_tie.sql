SELECT `event_id`, `ts`, `kind`
FROM `main`.`web`.`events` VERSION AS OF 7
WHERE `ts` IS NOT NULL
  AND `ts` > CAST(:after_key AS TIMESTAMP)
ORDER BY `ts` ASC
-- :after_key STRING = 2024-03-01T10:30:00.123456Z
