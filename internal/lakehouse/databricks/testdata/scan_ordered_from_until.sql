SELECT `kind`, `ts`, `event_id`
FROM `main`.`web`.`events` VERSION AS OF 7
WHERE `ts` IS NOT NULL
  AND (`ts` > CAST(:after_key AS TIMESTAMP) OR (`ts` = CAST(:after_key_eq AS TIMESTAMP) AND `event_id` > :after_tie))
  AND `ts` >= CAST(:from_key AS TIMESTAMP)
  AND `ts` <= CAST(:until_key AS TIMESTAMP)
ORDER BY `ts` ASC, `event_id` ASC NULLS FIRST
-- :after_key STRING = 2024-03-01T10:30:00.123456Z
-- :after_tie BIGINT = 42
-- :after_key_eq STRING = 2024-03-01T10:30:00.123456Z
-- :from_key STRING = 2024-03-01T09:30:00.123456Z
-- :until_key STRING = 2024-03-01T11:30:00.123456Z
