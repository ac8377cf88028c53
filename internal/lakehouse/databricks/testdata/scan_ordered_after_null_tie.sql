SELECT `event_id`, `ts`, `kind`
FROM `main`.`web`.`events` VERSION AS OF 7
WHERE `ts` IS NOT NULL
  AND (`ts` > CAST(:after_key AS TIMESTAMP) OR (`ts` = CAST(:after_key_eq AS TIMESTAMP) AND `event_id` IS NOT NULL))
ORDER BY `ts` ASC, `event_id` ASC NULLS FIRST
-- :after_key STRING = 2024-03-01T10:30:00.123456Z
-- :after_key_eq STRING = 2024-03-01T10:30:00.123456Z
