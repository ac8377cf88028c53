SELECT COUNT(*) AS n
FROM `main`.`web`.`events` VERSION AS OF 7
