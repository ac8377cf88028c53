SELECT `event_id`, `ts`, `kind`
FROM `main`.`web`.`events` VERSION AS OF 7
WHERE `ts` IS NOT NULL
ORDER BY `ts` ASC, `event_id` ASC NULLS FIRST
