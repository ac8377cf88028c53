CREATE TABLE IF NOT EXISTS `main`.`exports`.`lakeport_user_vip` USING DELTA
