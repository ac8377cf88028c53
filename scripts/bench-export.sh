#!/usr/bin/env bash
# export.events end to end, side by side with DuckDB (docs/BENCHMARKS.md, section Exports).
#
#   scripts/bench-export.sh              # 10M events, Parquet, CSV and gzip CSV staging
#   LAKEPORT_BENCH_ROWS=1 scripts/bench-export.sh   # 1M events (quick)
#
# Lakeport: 10M events read from the embedded SQLite platform store, staged as files,
# loaded into a local Delta table (one go test process per format, so peak RSS is its own).
# DuckDB: COPY of the same 10M rows (read from the exported table's Parquet files) to one
# Parquet file, the nearest peer that runs here (DuckDB's sqlite extension cannot be
# downloaded offline). The platform store is generated once under $LAKEPORT_BENCH_DIR/exports.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export LAKEPORT_BENCH_DIR=${LAKEPORT_BENCH_DIR:-$root/.tmp}
dir=$LAKEPORT_BENCH_DIR/exports
duckdb=${LAKEPORT_DUCKDB:-$root/../shared/tools/duckdb}
millions=${LAKEPORT_BENCH_ROWS:-10}
mkdir -p "$dir"
log=$dir/bench.log
: >"$log"
say() { echo "bench-export: $*" >&2; }
gtime=/usr/bin/time
if ! "$gtime" -v true >/dev/null 2>&1; then
  say "installing GNU time (peak RSS of DuckDB) with apt-get"
  apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y time >/dev/null 2>&1; } || gtime=""
fi
bin=$dir/exportevents.test
say "building the benchmark binary"
go test -c -o "$bin" ./internal/flow/exportevents
export LAKEPORT_BENCH_LARGE=1
say "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| staging | rows | rows/s | CPU s | peak RSS |"
echo "|---|---:|---:|---:|---:|"
for f in parquet csv csv.gz; do
  say "Lakeport, $f staging"
  keep=""
  [ "$f" = parquet ] && keep=$dir/last-lake
  out=$(cd internal/flow/exportevents && LAKEPORT_BENCH_KEEP=$keep "$bin" -test.run '^$' \
    -test.bench "^BenchmarkExportEvents\$/^store=sqlite\$/^format=$f\$/^rows=${millions}M\$" -test.benchtime 1x -test.timeout 120m 2>&1) \
    || { echo "$out" >&2; exit 1; }
  echo "$out" >>"$log"
  echo "$out" | awk -v f="$f" -v m="$millions" '/^BenchmarkExportEvents/ {
      for (i = 3; i < NF; i++) v[$(i+1)] = $i
      printf "| Lakeport export.events, %s | %dM | %.0fk | %.1f | %.0f MiB |\n", f, m, v["rows/s"] / 1000, v["cpu-ms/op"] / 1000, v["peak-RSS-MiB"] }'
done
say "DuckDB, the same rows to Parquet"
files=$(find "$dir/last-lake" -path '*lakeport_events_web*' -name '*.parquet' | head -1)
[ -n "$files" ] || { say "no exported table to read"; exit 1; }
tdir=$(dirname "$files")
err=$(mktemp)
sql="COPY (SELECT id, event_ts, receive_ts, stream, data FROM read_parquet('$tdir/*.parquet')) TO '$dir/duck.parquet' (FORMAT parquet, COMPRESSION snappy)"
if [ -n "$gtime" ]; then "$gtime" -v "$duckdb" "$sql" >/dev/null 2>"$err"; else "$duckdb" "$sql" >/dev/null 2>"$err"; fi
cat "$err" >>"$log"
ms=$(sed -n 's/^duckdb: \([0-9.]*\) ms$/\1/p' "$err")
rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$err")
awk -v ms="$ms" -v rss="${rss:-n/a}" -v m="$millions" 'BEGIN { printf "| DuckDB COPY of the same rows to Parquet | %dM | %.0fk | | %s MiB |\n", m, m * 1e6 / (ms / 1000) / 1000, rss }'
rm -f "$err" "$dir/duck.parquet"
say "load average at end $(cut -d' ' -f1-3 /proc/loadavg); raw output in $log"
