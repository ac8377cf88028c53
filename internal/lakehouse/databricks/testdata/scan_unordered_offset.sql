SELECT `id`, `name`
FROM `main`.`web`.`events` VERSION AS OF 7
ORDER BY _metadata.file_path ASC, _metadata.row_index ASC
OFFSET 137
