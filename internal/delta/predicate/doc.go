// Package predicate implements Lakeport's filter expressions for Delta scans:
// the --where of `lakeport table show` and ScanOptions.Where.
//
// An expression is parsed once (Parse), bound to a table's Arrow schema
// (Bind), and then used two ways by the Delta reader:
//
//   - file skipping: Bound.MayMatch looks at a file's partition values and
//     min/max/nullCount statistics;
//   - row filtering: Bound.Filter keeps the rows of a record batch for which
//     the predicate is TRUE.
//
// Invariants:
//
//   - Skipping is conservative. MayMatch returns false only when NO row of
//     the file can satisfy the predicate; anything it cannot decide (missing
//     statistics, comparisons between two columns, NaN bounds, a string max
//     that may be a truncated prefix, unexpected statistic kinds) counts as
//     "may match". Skipping never changes a result, it only saves reads:
//     every row of a file that is read still goes through Filter.
//   - Statistics are read as Delta writes them: timestamp bounds truncated to
//     milliseconds (the max is widened by 999µs), string bounds cut to a
//     32-character prefix (a max that long is not trusted), float bounds that
//     may leave NaN out (NaN sorts above +Inf and a max is not trusted when
//     NaN would satisfy the comparison).
//   - Filtering uses SQL three-valued logic: a comparison involving NULL is
//     NULL, NOT NULL is NULL, FALSE AND NULL is FALSE, TRUE OR NULL is TRUE,
//     x IN (..., NULL) is NULL rather than FALSE when nothing matches, and a
//     row is kept only when the predicate is TRUE (NULL drops it).
//   - Comparisons are exact: integers, decimals and floats compare
//     numerically across kinds without rounding (decimals are big.Rat), NaN
//     equals NaN and sorts above +Inf as in Spark, strings and binaries
//     compare bytewise, dates compare with timestamps as midnight UTC.
//     Timestamps are microseconds since the epoch in UTC; a literal without a
//     zone is UTC.
//   - MayMatch and Filter agree: NOT is pushed down for skipping (De Morgan,
//     operator inversion, IN <-> NOT IN, IS NULL <-> IS NOT NULL), which is
//     exact under three-valued logic, so a file is skipped only if Filter
//     would drop all of its rows.
//   - A Bound is immutable and safe for concurrent use.
package predicate
