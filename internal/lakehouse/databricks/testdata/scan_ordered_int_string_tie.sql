SELECT *
FROM `main`.`web`.`events` VERSION AS OF 7
WHERE `seq` IS NOT NULL
  AND (`seq` > :after_key OR (`seq` = :after_key_eq AND `code` > :after_tie))
ORDER BY `seq` ASC, `code` ASC NULLS FIRST
-- :after_key BIGINT = -5
-- :after_tie STRING = it's
-- :after_key_eq BIGINT = -5
