// Package deltatest holds helpers for Delta acceptance tests against the
// corpus of real Delta tables (../shared/testdata/delta-corpus from the
// repository root, or $LAKEPORT_DELTA_CORPUS). It is imported by tests only.
//
//   - CorpusDir / LocateCorpus find the corpus (tests fail when it is missing
//     and CI=true, and are skipped loudly otherwise).
//   - ReadParquetDir reads Spark-written expected results (kernel-rs golden
//     tables' expected/ directories).
//   - CanonicalSchema / CanonicalRows / Diff compare results as sorted
//     multisets of exactly rendered, typed rows.
//   - ParseCDFExpectations / PrettyTable / PrettyRows compare change data
//     feed results with the pretty-printed (untyped) Arrow tables of the
//     corpus' expected-cdf/*.md files, rendering Arrow values the way
//     arrow-rs prints them.
package deltatest
