// Package tcli is the Thrift code for the fake SQL warehouse, generated from
// TCLIService.thrift (a trimmed HiveServer2 TCLIService with the Databricks
// extensions the SQL Go driver uses) by Debian's thrift-compiler (0.17) and
// compiled against the github.com/apache/thrift version in go.mod.
package tcli

//go:generate sh -c "thrift --gen go:package_prefix=github.com/lakeport/lakeport/internal/lakehouse/databricks/dbxfake/internal/,skip_remote -out .. TCLIService.thrift && rm -f GoUnusedProtection__.go && gofmt -w TCLIService.go TCLIService-consts.go"
