#!/usr/bin/env bash
# Lakeport's Delta reader benchmarks, side by side with DuckDB on the same files
# (docs/BENCHMARKS.md explains the tables and how to read the figures).
#
#   scripts/bench.sh                 # everything (about 5 minutes once the tables exist)
#   BENCH_ONLY=scan scripts/bench.sh # scan | changes | snapshot
#
# Environment:
#   LAKEPORT_BENCH_DIR  where the generated tables live (default .tmp/bench; about 0.6 GiB;
#                       generated once, a few minutes, reused while their layout matches)
#   LAKEPORT_DUCKDB     the DuckDB tool (default ../shared/tools/duckdb)
#   BENCH_RUNS          rounds per benchmark (default 3); each round runs Lakeport and DuckDB
#                       one after the other, and the best round of each side is reported
#   BENCH_SCANTIME      -benchtime of the scan benchmarks (default 2x)
#
# Every Go benchmark run is a process of its own (peak RSS, VmHWM, is per
# process), and so is every DuckDB query. The tables are generated first, in a
# process of their own. Results go to stdout and $LAKEPORT_BENCH_DIR/results.md,
# every raw measurement to $LAKEPORT_BENCH_DIR/bench.log.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export LAKEPORT_BENCH_DIR=${LAKEPORT_BENCH_DIR:-$root/.tmp/bench}
duckdb=${LAKEPORT_DUCKDB:-$root/../shared/tools/duckdb}
runs=${BENCH_RUNS:-3}
scantime=${BENCH_SCANTIME:-2x}
only=${BENCH_ONLY:-all}
bench_dir=$LAKEPORT_BENCH_DIR
mkdir -p "$bench_dir"
log=$bench_dir/bench.log
results=$bench_dir/results.md
: >"$log"

say() { echo "bench: $*" >&2; }
want() { [ "$only" = all ] || [ "$only" = "$1" ]; }

# GNU time measures DuckDB's peak RSS (that of the node process hosting it).
gtime=/usr/bin/time
if ! "$gtime" -v true >/dev/null 2>&1; then
  say "GNU time (/usr/bin/time) is missing; it measures DuckDB's peak RSS. Installing the package 'time' with apt-get ..."
  if ! { apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y time >/dev/null 2>&1; }; }; then
    say "could not install GNU time: DuckDB's peak RSS and CPU will show as n/a"
    gtime=""
  fi
fi
[ -x "$duckdb" ] || { say "DuckDB tool not found at $duckdb (set LAKEPORT_DUCKDB)"; exit 2; }

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
say "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version | cut -d' ' -f3), load average $(loadavg)"

bin=$bench_dir/delta.test
say "building the benchmark binary"
go test -c -o "$bin" ./internal/delta
say "generating the tables if needed (in $bench_dir)"
(cd internal/delta && LAKEPORT_BENCH_GENERATE=1 "$bin" -test.run '^TestGenerateBenchFixtures$' -test.v) >>"$log" 2>&1 \
  || { cat "$log" >&2; exit 1; }

minof() { printf '%s\n' "$@" | grep -v '^n/a$' | sort -g | head -1 | grep . || echo n/a; }
maxof() { printf '%s\n' "$@" | grep -v '^n/a$' | sort -g | tail -1 | grep . || echo n/a; }

# go_run PATTERN BENCHTIME CPU: one benchmark in a process of its own; prints
# "rows/s cpu-ms/op peak-RSS-MiB ms/op" (n/a where not reported).
go_run() {
  local out
  out=$(cd internal/delta && "$bin" -test.run '^$' -test.bench "$1" -test.benchtime "$2" -test.cpu "$3" 2>&1) \
    || { echo "$out" >&2; return 1; }
  echo "$out" | grep '^Benchmark' >>"$log"
  echo "$out" | awk '/^Benchmark/ {
      m["rows/s"] = m["cpu-ms/op"] = m["peak-RSS-MiB"] = m["ns/op"] = "n/a"
      for (i = 3; i < NF; i++) m[$(i+1)] = $i
      printf "%s %s %s %s\n", m["rows/s"], m["cpu-ms/op"], m["peak-RSS-MiB"], (m["ns/op"] == "n/a" ? "n/a" : m["ns/op"] / 1e6)
    }' | tail -1
}

# duck_run THREADS SQL: one query in a DuckDB process of its own; prints
# "query-ms peak-RSS-MiB process-cpu-ms first-result-row".
duck_run() {
  local err out ms rss=n/a cpu=n/a result
  err=$(mktemp)
  if [ -n "$gtime" ]; then
    out=$("$gtime" -v "$duckdb" --threads "$1" "$2" 2>"$err") || { cat "$err" >&2; rm -f "$err"; return 1; }
    rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$err")
    cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.0f", (u+s)*1000}' "$err")
  else
    out=$("$duckdb" --threads "$1" "$2" 2>"$err") || { cat "$err" >&2; rm -f "$err"; return 1; }
  fi
  ms=$(sed -n 's/^duckdb: \([0-9.]*\) ms$/\1/p' "$err")
  rm -f "$err"
  result=$(echo "$out" | sed -n 2p)
  echo "duckdb --threads $1: $ms ms, peak RSS $rss MiB, process CPU $cpu ms: $result" >>"$log"
  echo "$ms $rss $cpu $result"
}

# sql_list FILE: a DuckDB list literal of the paths in FILE.
sql_list() { awk 'NF { printf "%s'\''%s'\''", (n++ ? ", " : "["), $0 } END { printf "]" }' "$1"; }
# hashes COL...: an aggregate that makes DuckDB decode every value of the columns.
hashes() { local c out=""; for c in "$@"; do out+=", sum(hash($c))"; done; echo "count(*)$out"; }
all_cols="id user_id qty score amount country name active event_ts event_date"
proj_cols="id country score"

fmt_rate() { awk -v r="$1" 'BEGIN { if (r == "n/a") print "n/a"; else printf "%.2fM", r / 1e6 }'; }
fmt_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b == 0) print "n/a"; else printf "%.2fx", a / b }'; }
fmt_num() { awk -v x="$1" -v d="${2:-0}" 'BEGIN { if (x == "n/a") print "n/a"; else printf "%.*f", d, x }'; }
rate_of() { awk -v rows="$1" -v ms="$2" 'BEGIN { if (ms == "n/a" || ms == 0) print "n/a"; else printf "%.0f", rows / (ms / 1000) }'; }

# scan_row LABEL ROWS GO-PATTERN BENCHTIME SQL: $runs rounds of Lakeport (2
# cores), DuckDB (2 threads), Lakeport (1 core), DuckDB (1 thread), after one
# DuckDB warm-up; appends the best of each side to the results table.
scan_row() {
  local label=$1 rows=$2 pat=$3 bt=$4 sql=$5 r res
  local g_rate=() g_cpu=() g_rss=() g1_rate=() d_ms=() d_rss=() d_cpu=() d1_ms=() d_res a b c
  say "$label ($runs rounds)"
  duck_run 2 "$sql" >/dev/null # warm-up (the Go runs warm up within their process)
  for ((r = 1; r <= runs; r++)); do
    res=$(go_run "$pat" "$bt" 2)
    read -r a b c _ <<<"$res"
    g_rate+=("$a") g_cpu+=("$b") g_rss+=("$c")
    res=$(duck_run 2 "$sql")
    read -r a b c d_res <<<"$res"
    d_ms+=("$a") d_rss+=("$b") d_cpu+=("$c")
    res=$(go_run "$pat" "$bt" 1)
    read -r a _ _ _ <<<"$res"
    g1_rate+=("$a")
    res=$(duck_run 1 "$sql")
    read -r a _ _ _ <<<"$res"
    d1_ms+=("$a")
  done
  [ "${d_res%%,*}" = "$rows" ] || { say "$label: DuckDB counted ${d_res%%,*} rows, want $rows"; exit 1; }
  local gr dr
  gr=$(maxof "${g_rate[@]}")
  dr=$(rate_of "$rows" "$(minof "${d_ms[@]}")")
  echo "| $label | $rows | $(fmt_rate "$gr") | $(fmt_rate "$dr") | **$(fmt_ratio "$gr" "$dr")** | $(fmt_rate "$(maxof "${g1_rate[@]}")") | $(fmt_rate "$(rate_of "$rows" "$(minof "${d1_ms[@]}")")") | $(fmt_num "$(maxof "${g_rss[@]}")") | $(fmt_num "$(maxof "${d_rss[@]}")") | $(fmt_num "$(minof "${g_cpu[@]}")") | $(fmt_num "$(minof "${d_cpu[@]}")") |" >>"$results"
}

base=$(duck_run 2 "SELECT 1")
read -r _ base_rss base_cpu _ <<<"$base"
{
  echo "# Lakeport vs DuckDB ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(go version | cut -d' ' -f3), DuckDB $(duck_run 2 "SELECT version()" | cut -d' ' -f4) (node $(node --version)); load average at the start $(loadavg). Best of $runs rounds per side."
  echo
} >"$results"

if want scan || want changes; then
  {
    echo "DuckDB's peak RSS and CPU are those of its whole node process: \`SELECT 1\` alone takes ${base_rss} MiB and ${base_cpu} ms of CPU there."
    echo
    echo "## Scans and change data feed (rows/s: higher is better)"
    echo
    echo "| benchmark | rows | Lakeport rows/s (2 cores) | DuckDB rows/s (2 threads) | Lakeport / DuckDB | Lakeport rows/s (1 core) | DuckDB rows/s (1 thread) | Lakeport peak RSS MiB | DuckDB peak RSS MiB | Lakeport CPU ms | DuckDB CPU ms (process) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  } >>"$results"
fi
if want scan; then
  scan_files=$(sql_list "$bench_dir/scan-files.txt")
  scan_row "scan, all 10 columns" 10000000 '^BenchmarkScanAll$' "$scantime" \
    "SELECT $(hashes $all_cols) FROM read_parquet($scan_files)"
  scan_row "scan, 3 columns" 10000000 '^BenchmarkScanProject3$' "$scantime" \
    "SELECT $(hashes $proj_cols) FROM read_parquet($scan_files)"
fi
if want changes; then
  upd_rows=$(awk -F': ' '/"updateRows"/ {gsub(/,/, "", $2); print $2}' "$bench_dir/manifest.json")
  scan_row "CDF, UPDATE of 1% (cdc file)" "$upd_rows" '^BenchmarkChanges1pct$/^op=update$' 10x \
    "SELECT $(hashes $all_cols _change_type) FROM read_parquet($(sql_list "$bench_dir/update-cdc-files.txt"))"
  scan_row "CDF, INSERT of 1% (add file)" 100000 '^BenchmarkChanges1pct$/^op=insert$' 10x \
    "SELECT $(hashes $all_cols) FROM read_parquet($(sql_list "$bench_dir/insert-files.txt"))"
fi

if want snapshot; then
  {
    echo
    echo "## Snapshot load: open + latest snapshot (lower is better; no DuckDB peer: read_parquet does not replay a Delta log)"
    echo
    echo "| commits | checkpoint | ms per load | CPU ms per load | peak RSS MiB |"
    echo "|---:|---|---:|---:|---:|"
  } >>"$results"
  for n in 200 2000 20000; do
    for cp in false true; do
      bt=10x
      [ "$n" = 20000 ] && [ "$cp" = false ] && bt=3x
      say "snapshot load: $n commits, checkpoint=$cp ($runs runs)"
      ms=() cpu=() rss=()
      for ((r = 1; r <= runs; r++)); do
        res=$(go_run "^BenchmarkSnapshotLoad\$/^commits=$n\$/^checkpoint=$cp\$" "$bt" 2)
        read -r _ b c a <<<"$res"
        ms+=("$a") cpu+=("$b") rss+=("$c")
      done
      echo "| $n | $cp | $(fmt_num "$(minof "${ms[@]}")" 1) | $(fmt_num "$(minof "${cpu[@]}")" 1) | $(fmt_num "$(maxof "${rss[@]}")") |" >>"$results"
    done
  done
fi

echo >>"$results"
echo "Load average at the end $(loadavg). Raw measurements: $log" >>"$results"
cat "$results"
