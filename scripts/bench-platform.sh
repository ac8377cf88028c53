#!/usr/bin/env bash
# Platform core benchmarks, the figures of docs/BENCHMARKS.md "Platform core".
# Each benchmark runs alone in its own process, so the peak RSS it reports
# (VmHWM of /proc/self/status) is its own.
#
#   scripts/bench-platform.sh                          # 1M events, 1M profiles, both stores
#   EVENTS=200000 PROFILES=100000 scripts/bench-platform.sh   # a quicker pass
#   STORES=sqlite scripts/bench-platform.sh            # SQLite only
#
# PostgreSQL: $LAKEPORT_TEST_POSTGRES_URL (default
# postgres://postgres@127.0.0.1:5432/test?sslmode=disable); each benchmark
# works in a fresh schema that is dropped afterwards. If the server is
# unreachable the PostgreSQL benchmarks are skipped (loudly).
set -euo pipefail
cd "$(dirname "$0")/.."

EVENTS=${EVENTS:-1000000}
PROFILES=${PROFILES:-1000000}
CHANGES=${CHANGES:-10000}
STORES=${STORES:-"sqlite postgres"}
out=.tmp/bench-platform
mkdir -p "$out"
results="$out/results.txt"
: > "$results"

echo "== building test binaries"
go test -c -o "$out/server.test" ./internal/server
go test -c -o "$out/sqlitestore.test" ./internal/platform/sqlitestore
go test -c -o "$out/pgstore.test" ./internal/platform/pgstore

# run BINARY BENCHMARK BENCHTIME [VAR=VALUE...]: one benchmark, one process.
run() {
  local bin=$1 name=$2 benchtime=$3
  shift 3
  echo "== $bin $name ($benchtime${*:+, $*})" | tee -a "$results"
  env "$@" "$out/$bin" -test.run '^$' -test.bench "^$name\$" -test.benchtime "$benchtime" -test.timeout 2h 2>&1 |
    grep -E '^(Benchmark|--- SKIP|--- FAIL|FAIL)|SKIPPING|\*\*\*' | tee -a "$results" || true
}

for store in $STORES; do
  case $store in
    sqlite)   Store=SQLite;   bin=sqlitestore.test ;;
    postgres) Store=Postgres; bin=pgstore.test ;;
    *) echo "bench-platform.sh: unknown store $store" >&2; exit 2 ;;
  esac
  run server.test "BenchmarkCollect$Store" "${EVENTS}x"
  run "$bin" BenchmarkUpsertProfiles "${PROFILES}x"
  run "$bin" BenchmarkAudienceRefresh 1x LAKEPORT_BENCH_PROFILES="$PROFILES" LAKEPORT_BENCH_CHANGES="$CHANGES"
  # The same changes against a store ten times smaller: refresh time
  # follows the number of changes, not the number of profiles.
  run "$bin" BenchmarkAudienceRefresh 1x LAKEPORT_BENCH_PROFILES=$((PROFILES / 10)) LAKEPORT_BENCH_CHANGES="$CHANGES"
done

echo "== done: the benchmark lines above are also in $results"
