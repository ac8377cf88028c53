#!/usr/bin/env bash
# Lakeport quickstart on the embedded default: builds the binary, writes a sample
# Delta table (customers with change data feed on) into a local lakehouse
# directory, and reads it back: table info, rows, a filter, time travel and the
# change data feed. Needs only Go.
set -euo pipefail
cd "$(dirname "$0")/.."
lake=${LAKEPORT_QUICKSTART_DIR:-.tmp/quickstart/lakehouse}
table=$lake/main/crm/customers

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

echo "Building bin/lakeport ..."
go build -o bin/lakeport ./cmd/lakeport
rm -rf "$table"
echo "Writing a sample Delta table to $table ..."
go run ./scripts/sampledata "$table"

step bin/lakeport table info "$table"
step bin/lakeport table show "$table" --limit 5
step bin/lakeport table show "$table" --where "country = 'NL' AND lifetime_value > 1000" --columns customer_id,email,lifetime_value --limit 5
step bin/lakeport table show "$table" --version 1 --where "customer_id >= 995" --format csv
step bin/lakeport table changes "$table" --from 2 --where "_change_type = 'delete'" --columns customer_id,_change_type,_commit_version,_commit_timestamp
echo
echo "Done. Try: bin/lakeport table show $table --format json --limit 3"
