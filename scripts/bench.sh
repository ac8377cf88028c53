#!/usr/bin/env bash
# Lakeport's Delta reader benchmarks, side by side with DuckDB on the same files
# (docs/BENCHMARKS.md explains the tables and how to read the figures).
#
#   scripts/bench.sh                 # everything
#   BENCH_ONLY=scan scripts/bench.sh # scan | snapshot | changes
#
# Environment:
#   LAKEPORT_BENCH_DIR  where the generated tables live (default .tmp/bench; about 1 GiB;
#                       generated once, about 3 minutes, reused while their layout matches)
#   LAKEPORT_DUCKDB     the DuckDB tool (default ../shared/tools/duckdb)
#   BENCH_RUNS          measured runs of each side (go test -count; DuckDB processes after one
#                       warm-up); the best is reported (default 3)
#   BENCH_SCANTIME      -benchtime of the scan benchmarks (default 2x)
#
# Each Go benchmark runs in its own process (peak RSS, VmHWM, is per process);
# the generation of the tables runs first, in a process of its own.
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

# GNU time measures DuckDB's peak RSS (the node process that hosts it).
gtime=/usr/bin/time
if ! "$gtime" -v true >/dev/null 2>&1; then
  say "GNU time (/usr/bin/time) is missing; it measures DuckDB's peak RSS. Installing package 'time' with apt-get..."
  if ! { apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y time >/dev/null 2>&1; }; }; then
    say "could not install GNU time: DuckDB's peak RSS will show as n/a"
    gtime=""
  fi
fi
[ -x "$duckdb" ] || { say "DuckDB tool not found at $duckdb (set LAKEPORT_DUCKDB)"; exit 2; }

say "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version | cut -d' ' -f3), load average $(cut -d' ' -f1-3 /proc/loadavg)"

bin=$bench_dir/delta.test
say "building the benchmark binary"
go test -c -o "$bin" ./internal/delta
say "generating the tables if needed (in $bench_dir)"
(cd internal/delta && LAKEPORT_BENCH_GENERATE=1 "$bin" -test.run '^TestGenerateBenchFixtures$' -test.v) >>"$log" 2>&1 \
  || { cat "$log" >&2; exit 1; }

# The machine may be shared: both sides report the best of several runs
# (highest rows/s, lowest time) and the highest peak RSS.

# go_bench PATTERN BENCHTIME CPU: runs one benchmark $runs times (-count) in
# its own process and prints "rows/s cpu-ms/op peak-RSS-MiB ms/op", best of the
# runs (n/a where not reported).
go_bench() {
  local out
  out=$(cd internal/delta && "$bin" -test.run '^$' -test.bench "$1" -test.benchtime "$2" -test.cpu "$3" -test.count "$runs" 2>&1) \
    || { echo "$out" >&2; exit 1; }
  echo "$out" >>"$log"
  echo "$out" | awk '
    function best(k, v, hi) { if (!(k in m) || (hi ? v > m[k] : v < m[k])) m[k] = v }
    /^Benchmark/ {
      for (i = 3; i < NF; i++) {
        u = $(i+1)
        if (u == "rows/s" || u == "peak-RSS-MiB") best(u, $i + 0, 1)
        else if (u == "cpu-ms/op" || u == "ns/op") best(u, $i + 0, 0)
      }
    }
    END {
      printf "%s %s %s %s\n", ("rows/s" in m ? m["rows/s"] : "n/a"), ("cpu-ms/op" in m ? m["cpu-ms/op"] : "n/a"),
        ("peak-RSS-MiB" in m ? m["peak-RSS-MiB"] : "n/a"), ("ns/op" in m ? m["ns/op"] / 1e6 : "n/a")
    }'
}

# duck_bench THREADS SQL: one warm-up run, then $runs measured runs of SQL in
# fresh DuckDB processes; prints "best-ms max-peak-RSS-MiB best-process-cpu-ms first-result-line".
duck_bench() {
  local threads=$1 sql=$2 i err out ms=() rss=() cpu=() result=""
  err=$(mktemp)
  for ((i = 0; i <= runs; i++)); do
    if [ -n "$gtime" ]; then
      out=$("$gtime" -v "$duckdb" --threads "$threads" "$sql" 2>"$err") || { cat "$err" >&2; exit 1; }
    else
      out=$("$duckdb" --threads "$threads" "$sql" 2>"$err") || { cat "$err" >&2; exit 1; }
    fi
    [ "$i" -eq 0 ] && continue # warm-up
    result=$(echo "$out" | sed -n 2p)
    ms+=("$(sed -n 's/^duckdb: \([0-9.]*\) ms$/\1/p' "$err")")
    if [ -n "$gtime" ]; then
      rss+=("$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$err")")
      cpu+=("$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.0f", (u+s)*1000}' "$err")")
    fi
    echo "duckdb --threads $threads: ${ms[-1]} ms, rss ${rss[-1]:-n/a} MiB, process cpu ${cpu[-1]:-n/a} ms: $result" >>"$log"
  done
  rm -f "$err"
  minof() { printf '%s\n' "$@" | sort -g | head -1; }
  maxof() { printf '%s\n' "$@" | sort -g | tail -1; }
  echo "$(minof "${ms[@]}") $([ -n "$gtime" ] && maxof "${rss[@]}" || echo n/a) $([ -n "$gtime" ] && minof "${cpu[@]}" || echo n/a) $result"
}

# sql_list FILE: a DuckDB list literal of the paths in FILE.
sql_list() { awk 'NF { printf "%s'\''%s'\''", (n++ ? ", " : "["), $0 } END { printf "]" }' "$1"; }

hashes() { local c out=""; for c in "$@"; do out+=", sum(hash($c))"; done; echo "count(*)$out"; }
all_cols="id user_id qty score amount country name active event_ts event_date"
proj_cols="id country score"

fmt_rate() { awk -v r="$1" 'BEGIN { if (r == "n/a") print "n/a"; else printf "%.2fM", r / 1e6 }'; }
fmt_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b == 0) print "n/a"; else printf "%.2fx", a / b }'; }
rate_of() { awk -v rows="$1" -v ms="$2" 'BEGIN { if (ms == "n/a" || ms == 0) print "n/a"; else printf "%.0f", rows / (ms / 1000) }'; }

base=$(duck_bench 2 "SELECT 1")
read -r _ base_rss base_cpu _ <<<"$base"
{
  echo "# Lakeport vs DuckDB ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(go version | cut -d' ' -f3), DuckDB $("$duckdb" "SELECT version()" 2>/dev/null | sed -n 2p) (node $(node --version)); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "DuckDB's RSS and CPU are those of its whole node process; \`SELECT 1\` alone takes ${base_rss} MiB and ${base_cpu} ms of CPU there."
  echo
} >"$results"

if [ "$only" = all ] || [ "$only" = scan ] || [ "$only" = changes ]; then
  {
    echo "## Scans and change data feed (rows/s: higher is better)"
    echo
    echo "| benchmark | rows | Lakeport rows/s (2 cores) | DuckDB rows/s (2 threads) | Lakeport / DuckDB | Lakeport rows/s (1 core) | DuckDB rows/s (1 thread) | Lakeport peak RSS | DuckDB peak RSS (2 thr) | Lakeport CPU ms/op | DuckDB CPU ms (process) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  } >>"$results"
fi

scan_row() { # LABEL ROWS GO-PATTERN BENCHTIME SQL
  local label=$1 rows=$2 pat=$3 bt=$4 sql=$5
  local res g_rate g_cpu g_rss g1_rate d_ms d_rss d_cpu d_res d1_ms _
  say "$label: Lakeport (2 cores)"
  res=$(go_bench "$pat" "$bt" 2)
  read -r g_rate g_cpu g_rss _ <<<"$res"
  say "$label: Lakeport (1 core)"
  res=$(go_bench "$pat" "$bt" 1)
  read -r g1_rate _ _ _ <<<"$res"
  say "$label: DuckDB (2 threads)"
  res=$(duck_bench 2 "$sql")
  read -r d_ms d_rss d_cpu d_res <<<"$res"
  say "$label: DuckDB (1 thread)"
  res=$(duck_bench 1 "$sql")
  read -r d1_ms _ _ _ <<<"$res"
  local d_count=${d_res%%,*}
  [ "$d_count" = "$rows" ] || { say "$label: DuckDB counted $d_count rows, want $rows"; exit 1; }
  local d_rate d1_rate
  d_rate=$(rate_of "$rows" "$d_ms")
  d1_rate=$(rate_of "$rows" "$d1_ms")
  echo "| $label | $rows | $(fmt_rate "$g_rate") | $(fmt_rate "$d_rate") | $(fmt_ratio "$g_rate" "$d_rate") | $(fmt_rate "$g1_rate") | $(fmt_rate "$d1_rate") | ${g_rss} MiB | ${d_rss} MiB | ${g_cpu} | ${d_cpu} |" >>"$results"
}

if [ "$only" = all ] || [ "$only" = scan ]; then
  scan_files=$(sql_list "$bench_dir/scan-files.txt")
  scan_row "scan, all 10 columns" 10000000 '^BenchmarkScanAll$' "$scantime" \
    "SELECT $(hashes $all_cols) FROM read_parquet($scan_files)"
  scan_row "scan, 3 columns" 10000000 '^BenchmarkScanProject3$' "$scantime" \
    "SELECT $(hashes $proj_cols) FROM read_parquet($scan_files)"
fi
if [ "$only" = all ] || [ "$only" = changes ]; then
  upd_rows=$(awk -F': ' '/"updateRows"/ {gsub(/,/, "", $2); print $2}' "$bench_dir/manifest.json")
  scan_row "CDF, UPDATE of 1% (cdc file)" "$upd_rows" '^BenchmarkChanges1pct$/^op=update$' 10x \
    "SELECT $(hashes $all_cols _change_type) FROM read_parquet($(sql_list "$bench_dir/update-cdc-files.txt"))"
  scan_row "CDF, INSERT of 1% (add file)" 100000 '^BenchmarkChanges1pct$/^op=insert$' 10x \
    "SELECT $(hashes $all_cols) FROM read_parquet($(sql_list "$bench_dir/insert-files.txt"))"
fi

if [ "$only" = all ] || [ "$only" = snapshot ]; then
  {
    echo
    echo "## Snapshot load (open + latest snapshot; lower is better; no DuckDB peer: read_parquet does not replay a Delta log)"
    echo
    echo "| commits | checkpoint | Lakeport ms/load | CPU ms/load | peak RSS |"
    echo "|---:|---|---:|---:|---:|"
  } >>"$results"
  for n in 200 2000 20000; do
    for cp in false true; do
      bt=10x
      [ "$n" = 20000 ] && [ "$cp" = false ] && bt=3x
      say "snapshot load: $n commits, checkpoint=$cp"
      res=$(go_bench "^BenchmarkSnapshotLoad\$/^commits=$n\$/^checkpoint=$cp\$" "$bt" 2)
      read -r _ g_cpu g_rss g_ms <<<"$res"
      echo "| $n | $cp | $(awk -v x="$g_ms" 'BEGIN { printf "%.1f", x }') | $g_cpu | $g_rss MiB |" >>"$results"
    done
  done
fi

echo >>"$results"
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg). Raw output: $log" >>"$results"
cat "$results"
