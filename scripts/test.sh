#!/usr/bin/env bash
# Runs Lakeport's whole test suite: vet, unit and acceptance tests (the Delta corpus
# in ../shared), the blob conformance suite on the local filesystem and on a real
# S3-compatible server (versitygw, installed and started here on 127.0.0.1), and a
# short pass of every fuzz target's seed corpus.
#
#   scripts/test.sh            # what CI runs (.ci/run)
#   FUZZTIME=60s scripts/test.sh fuzz   # additionally fuzz each target for FUZZTIME
set -euo pipefail
cd "$(dirname "$0")/.."

export LAKEPORT_DELTA_CORPUS=${LAKEPORT_DELTA_CORPUS:-$(cd .. && pwd)/shared/testdata/delta-corpus}
if [ ! -d "$LAKEPORT_DELTA_CORPUS" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "test.sh: the Delta corpus is missing at $LAKEPORT_DELTA_CORPUS (required in CI)" >&2
    exit 1
  fi
  echo "test.sh: WARNING: no Delta corpus at $LAKEPORT_DELTA_CORPUS; corpus tests will SKIP" >&2
fi

echo "== go vet"
go vet ./...

echo "== S3-compatible server (versitygw on 127.0.0.1)"
eval "$(scripts/s3-server.sh start)"
trap 'scripts/s3-server.sh stop >/dev/null 2>&1 || true' EXIT

mkdir -p .tmp
echo "== go test"
export LAKEPORT_CORPUS_REPORT=$PWD/.tmp/corpus-report.txt
rm -f "$LAKEPORT_CORPUS_REPORT"
go test -race -count=1 -timeout 30m ./... 2>&1 | tee .tmp/test.log | grep -vE '^(=== RUN|=== PAUSE|=== CONT)'
if [ -f "$LAKEPORT_CORPUS_REPORT" ]; then
  echo "== Delta corpus acceptance (per category)"
  sed 's/^/   /' "$LAKEPORT_CORPUS_REPORT"
fi
echo "== go test summary"
grep -E '^(ok|FAIL|---|panic)' .tmp/test.log || true

if [ "${1:-}" = "fuzz" ]; then
  fuzztime=${FUZZTIME:-60s}
  for pkg in $(go list ./...); do
    for f in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
      echo "== fuzz $pkg $f ($fuzztime)"
      go test -run '^$' -fuzz "^$f\$" -fuzztime "$fuzztime" "$pkg"
    done
  done
fi
