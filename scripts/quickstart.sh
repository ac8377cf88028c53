#!/usr/bin/env bash
# Lakeport quickstart on the embedded default (needs only Go). It builds the
# binary and runs `lakeport quickstart`: a local lakehouse with two sample Delta
# tables (main.crm.users with change data feed on, main.web.events), a platform
# store and two jobs (import.table, import.changes) that run, see some users
# change, run again and show what arrived. Then it reads the users table
# directly: info, rows, a filter, time travel and the change data feed, and
# looks at the run history and the platform.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${LAKEPORT_QUICKSTART_DIR:-}
if [ -z "$dir" ]; then
  dir=.tmp/quickstart
  rm -rf "$dir" # the script's own scratch directory
fi
users=$dir/lakehouse/main/crm/users

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

echo "Building bin/lakeport ..."
go build -o bin/lakeport ./cmd/lakeport

step bin/lakeport quickstart --dir "$dir"

echo
echo "---- The users table, read directly ----"
step bin/lakeport table info "$users"
step bin/lakeport table show "$users" --limit 5
step bin/lakeport table show "$users" --where "country = 'NL' AND lifetime_value > 1000" --columns customer_id,email,lifetime_value --limit 5
step bin/lakeport table show "$users" --version 1 --where "customer_id IN ('C0003', 'C0007', 'C0010')" --columns customer_id,country,lifetime_value,vip --format csv
step bin/lakeport table changes "$users" --from 2 --columns customer_id,country,lifetime_value,_change_type,_commit_version

echo
echo "---- Jobs, runs and the platform ----"
step bin/lakeport jobs --config "$dir/lakeport.yaml"
step bin/lakeport runs crm_users --config "$dir/lakeport.yaml"
step bin/lakeport platform streams --platform "sqlite://$dir/platform.db"
echo
echo "Done. Try: bin/lakeport run web_events --config $dir/lakeport.yaml"
