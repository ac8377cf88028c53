DROP TABLE IF EXISTS `main`.`exports`.`lakeport_user_vip`
