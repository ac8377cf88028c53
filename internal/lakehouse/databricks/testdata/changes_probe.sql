SELECT * FROM table_changes('`main`.`web`.`events`', :start_version, :end_version) LIMIT 0
-- :start_version BIGINT = 3
-- :end_version BIGINT = 9
