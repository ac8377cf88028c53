SELECT * FROM `main`.`web`.`events` VERSION AS OF 7 LIMIT 0
