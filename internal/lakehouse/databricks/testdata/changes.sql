SELECT `id`, `name`, `_change_type`, `_commit_version`, `_commit_timestamp`
FROM table_changes('`main`.`web`.`events`', :start_version, :end_version)
ORDER BY `_commit_version` ASC, `_change_type` ASC, `id` ASC NULLS FIRST, `name` ASC NULLS FIRST, `tags` ASC NULLS FIRST
-- :start_version BIGINT = 3
-- :end_version BIGINT = 9
