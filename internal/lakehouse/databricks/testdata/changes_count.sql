SELECT COUNT(*) AS n
FROM table_changes('`main`.`web`.`events`', :start_version, :end_version)
-- :start_version BIGINT = 3
-- :end_version BIGINT = 9
