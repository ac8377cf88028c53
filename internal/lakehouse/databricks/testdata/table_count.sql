SELECT COUNT(*) AS n
FROM `main`.`web`.`events`
