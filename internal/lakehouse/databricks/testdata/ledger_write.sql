ALTER TABLE `main`.`exports`.`lakeport_user_vip` SET TBLPROPERTIES ('lakeport.load.export.audience-vip' = '42')
