SHOW TBLPROPERTIES `main`.`exports`.`lakeport_user_vip`
