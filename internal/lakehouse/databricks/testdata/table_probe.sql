SELECT * FROM `main`.`web`.`events` LIMIT 0
