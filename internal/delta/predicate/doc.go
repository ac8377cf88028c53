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
//   - Statistics are read as writers produce them: timestamp bounds truncated
//     to milliseconds (the max is widened by 999µs, the min is a floor
//     already), string bounds cut to a 32-character prefix (a min prefix is
//     still a lower bound; a max of 32 bytes or more is not trusted), float
//     bounds that may leave NaN out as Parquet statistics do (NaN sorts above
//     +Inf, so the max is not trusted for comparisons NaN satisfies: >, >=,
//     !=, = NaN), and NaN bounds disable skipping on the column. Partition
//     values come as exact statistics (min = max = value).
//   - Filtering uses SQL three-valued logic: a comparison involving NULL is
//     NULL, NOT NULL is NULL, FALSE AND NULL is FALSE, TRUE OR NULL is TRUE,
//     x IN (..., NULL) is NULL rather than FALSE when nothing matches, and a
//     row is kept only when the predicate is TRUE (NULL drops it).
//   - Comparisons are exact: integers, decimals and floats compare
//     numerically across kinds without rounding (decimals are big.Rat), NaN
//     equals NaN and sorts above +Inf as in Spark, strings and binaries
//     compare bytewise, dates compare with timestamps as midnight UTC.
//     Timestamps are microseconds since the epoch in UTC; a literal without a
//     zone is UTC. Bind coerces each literal to its column's type first: a
//     number compared with a float column becomes a float of the column's
//     width (0.1 against a float column is float32(0.1)), a float literal
//     compared with a decimal column is the decimal it was written as, and
//     'text' is parsed for numeric, boolean, date and timestamp columns.
//   - MayMatch and Filter agree: NOT is pushed down for skipping (De Morgan,
//     operator inversion, IN <-> NOT IN, IS NULL <-> IS NOT NULL), which is
//     exact under three-valued logic, so a file is skipped only if Filter
//     would drop all of its rows.
//   - A Bound is immutable and safe for concurrent use.
package predicate
