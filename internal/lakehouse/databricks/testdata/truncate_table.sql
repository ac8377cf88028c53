TRUNCATE TABLE `main`.`exports`.`lakeport_user_vip`
