DESCRIBE HISTORY `main`.`web`.`events` LIMIT 1
