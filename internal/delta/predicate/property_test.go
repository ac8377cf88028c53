package predicate

import (
	"math"
	"math/big"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestSkippingProperty generates random files, derives their statistics the
// way writers do (timestamps truncated to milliseconds, strings cut to 32
// characters, NaN either the max as in Spark or left out as in Parquet,
// bounds sometimes widened or missing, partition values exact), and random
// predicates. For each pair it checks that
//   - the predicate's String parses back to the same String;
//   - Filter keeps exactly the rows a straightforward three-valued
//     evaluation of the AST keeps;
//   - MayMatch is never false when some row matches.
func TestSkippingProperty(t *testing.T) {
	mem := memory.NewGoAllocator()
	rng := rand.New(rand.NewPCG(7, 11))
	files, exprs := 1500, 12
	if testing.Short() {
		files = 200
	}
	var skipped, matched, total int
	for range files {
		rows := randomFile(rng)
		stats := deriveStats(rng, rows)
		rec := buildRecord(t, mem, skipSchema, rows)
		for range exprs {
			e := randomExpr(rng, rows, 3)
			src := e.String()
			parsed, err := Parse(src)
			if err != nil {
				t.Fatalf("Parse(%q): %v", src, err)
			}
			if parsed.String() != src {
				t.Fatalf("round trip: %q -> %q", src, parsed.String())
			}
			b, err := Bind(parsed, skipSchema)
			if err != nil {
				t.Fatalf("Bind(%q): %v", src, err)
			}
			var want []int64
			for i, r := range rows {
				if evalRef(e, r) == triTrue {
					want = append(want, int64(i))
				}
			}
			got := filteredIDs(t, b, rec, mem)
			if len(want) == 0 {
				want = []int64{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Filter(%s) = %v, reference %v; rows:\n%s", src, got, want, dumpRows(rows))
			}
			may := b.MayMatch(stats)
			if !may && len(want) > 0 {
				t.Fatalf("MayMatch(%s) = false but rows %v match; stats %s; rows:\n%s", src, want, dumpStats(stats), dumpRows(rows))
			}
			total++
			if !may {
				skipped++
			}
			if len(want) > 0 {
				matched++
			}
		}
		rec.Release()
	}
	t.Logf("%d predicates: %d skipped, %d with matching rows", total, skipped, matched)
	if skipped < total/20 {
		t.Errorf("only %d of %d predicates skipped: the property is too weak", skipped, total)
	}
}

func dumpStats(s mapStats) string {
	var parts []string
	if n, ok := s.NumRecords(); ok {
		parts = append(parts, "numRecords="+vInt(n).String())
	}
	var keys []string
	for _, k := range leafPaths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := k + ":"
		if v, ok := s.min[k]; ok {
			p += " min=" + v.String()
		}
		if v, ok := s.max[k]; ok {
			p += " max=" + v.String()
		}
		if v, ok := s.nullCount[k]; ok {
			p += " nullCount=" + vInt(v).String()
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

var long40 = strings.Repeat("m", 32) + "mmmmmmm"

// randomValue draws from small domains so that equalities hit.
func randomValue(rng *rand.Rand, path string) Value {
	switch path {
	case "i", "i2":
		if rng.IntN(20) == 0 {
			return vInt([]int64{math.MinInt64, math.MaxInt64}[rng.IntN(2)])
		}
		return vInt(rng.Int64N(11) - 5)
	case "st.x":
		return vInt(rng.Int64N(11) - 5)
	case "f":
		return vFloat([]float64{-1.5, 0, math.Copysign(0, -1), 1, 2.5, math.NaN(), math.Inf(1), math.Inf(-1), 0.1, 3}[rng.IntN(10)])
	case "f32":
		return f32v([]float64{0.1, 0.2, -1, 3.5, math.NaN(), 0}[rng.IntN(6)])
	case "dec":
		return Value{Kind: KindDecimal, Dec: big.NewRat(rng.Int64N(601)-300, 100)}
	case "s":
		return vStr([]string{"", "a", "ab", "b", "é", "z", long40 + "a", long40 + "b", long40, strings.Repeat("m", 32), strings.Repeat("é", 20)}[rng.IntN(11)])
	case "bin":
		return vBin([]string{"", "\x00", "\x00\x01", "\xff", "a", strings.Repeat("\x01", 40)}[rng.IntN(6)])
	case "d":
		return vDate(18628 + rng.Int64N(7) - 3)
	case "ts", "ntz":
		base := int64(1609459200000000)
		if rng.IntN(2) == 0 {
			return vTS(base + (rng.Int64N(7)-3)*1000)
		}
		return vTS(base + rng.Int64N(6001) - 3000)
	case "flag":
		return vBool(rng.IntN(2) == 0)
	case "p":
		return vInt(rng.Int64N(5))
	}
	panic(path)
}

func randomFile(rng *rand.Rand) []row {
	n := rng.IntN(13)
	nullRate := []int{0, 5, 2, 1}[rng.IntN(4)] // 1 in k; 0: none
	isNull := func() bool { return nullRate > 0 && rng.IntN(nullRate+1) == 0 }
	pv := randomValue(rng, "p")
	if rng.IntN(5) == 0 {
		pv = Value{}
	}
	rows := make([]row, n)
	for i := range rows {
		r := row{"id": vInt(int64(i)), "p": pv, "st": vBool(true)}
		for path := range leafTypes {
			if path == "p" || path == "id" {
				continue
			}
			if isNull() {
				r[path] = Value{}
			} else {
				r[path] = randomValue(rng, path)
			}
		}
		if isNull() {
			r["st"] = Value{}
			r["st.x"] = Value{}
		}
		rows[i] = r
	}
	return rows
}

// deriveStats computes statistics as writers would, with random omissions
// and widenings.
func deriveStats(rng *rand.Rand, rows []row) mapStats {
	s := mapStats{min: map[string]Value{}, max: map[string]Value{}, nullCount: map[string]int64{}}
	n := int64(len(rows))
	if rng.IntN(10) != 0 {
		s.numRecords = i64(n)
	}
	nanAsMax := rng.IntN(2) == 0 // Spark; otherwise Parquet-style (NaN left out)
	for path, dt := range leafTypes {
		if path == "id" {
			continue
		}
		if path == "p" {
			// Partition values: exact.
			if len(rows) > 0 && rows[0]["p"].Kind != KindNull {
				s.min["p"], s.max["p"] = rows[0]["p"], rows[0]["p"]
				s.nullCount["p"] = 0
			} else {
				s.nullCount["p"] = n
			}
			continue
		}
		var nc int64
		var lo, hi *Value
		sawNaN := false
		for _, r := range rows {
			v := r[path]
			if v.Kind == KindNull {
				nc++
				continue
			}
			if v.isNaN() {
				sawNaN = true
				continue
			}
			if lo == nil || less(v, *lo) {
				lo = &v
			}
			if hi == nil || less(*hi, v) {
				hi = &v
			}
		}
		if sawNaN && nanAsMax {
			nan := vFloat(math.NaN())
			if lo == nil {
				lo = &nan
			}
			hi = &nan
		}
		if rng.IntN(8) != 0 {
			s.nullCount[path] = nc
		}
		if lo == nil || rng.IntN(10) == 0 {
			continue
		}
		l, h := *lo, *hi
		switch classOf(dt) {
		case clsTimestamp:
			l.Int = floorDiv(l.Int, 1000) * 1000
			h.Int = floorDiv(h.Int, 1000) * 1000
		case clsString, clsBinary:
			l.Str = truncateRunes(l.Str, 32)
			h.Str = truncateRunes(h.Str, 32) // a plain prefix: below the true max
		}
		if rng.IntN(6) == 0 { // wide bounds are allowed
			l, h = widen(l, -1), widen(h, 1)
		}
		if rng.IntN(12) != 0 {
			s.min[path] = l
		}
		if rng.IntN(12) != 0 {
			s.max[path] = h
		}
	}
	return s
}

func less(a, b Value) bool {
	c, ok := Compare(a, b)
	return ok && c < 0
}

func truncateRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// widen moves a bound outwards (dir -1 down, 1 up).
func widen(v Value, dir int64) Value {
	switch v.Kind {
	case KindInt:
		if (dir > 0 && v.Int < math.MaxInt64) || (dir < 0 && v.Int > math.MinInt64) {
			v.Int += dir
		}
	case KindFloat:
		if !math.IsNaN(v.Float) && !math.IsInf(v.Float, 0) {
			v.Float += float64(dir)
		}
	case KindDecimal:
		v.Dec = new(big.Rat).Add(v.Dec, big.NewRat(dir, 1))
	case KindDate, KindTimestamp:
		v.Int += dir * 3
	case KindString, KindBinary:
		if dir > 0 {
			v.Str += "\xff"
		} else if v.Str != "" {
			v.Str = v.Str[:len(v.Str)-1]
		}
	case KindBool:
		v.Bool = dir > 0
	}
	return v
}

// leafPaths are the comparable leaf columns, in a fixed order.
var leafPaths = []string{"i", "i2", "f", "f32", "dec", "s", "bin", "d", "ts", "ntz", "flag", "p", "st.x"}

func colOf(path string) Column { return Column{Path: strings.Split(path, ".")} }

// randomLiteral draws a literal for column path, of a kind that binding
// leaves as it is, mostly near the file's values.
func randomLiteral(rng *rand.Rand, rows []row, path string) Literal {
	if rng.IntN(15) == 0 {
		return Literal{}
	}
	var v Value
	if len(rows) > 0 && rng.IntN(2) == 0 {
		v = rows[rng.IntN(len(rows))][path]
		if v.Kind == KindNull {
			v = randomValue(rng, path)
		}
	} else {
		v = randomValue(rng, path)
	}
	switch v.Kind {
	case KindInt:
		switch rng.IntN(6) {
		case 0:
			v.Int += rng.Int64N(3) - 1
		case 1:
			v = Value{Kind: KindDecimal, Dec: new(big.Rat).Add(big.NewRat(v.Int, 1), big.NewRat(1, 2))}
			if path == "p" || path == "st.x" || path == "i" || path == "i2" {
				break
			}
		}
	case KindFloat:
		if rng.IntN(4) == 0 && !math.IsNaN(v.Float) {
			if path == "f32" {
				v.Float = float64(math.Nextafter32(float32(v.Float), float32(math.Inf(1))))
			} else {
				v.Float = math.Nextafter(v.Float, math.Inf(-1))
			}
		}
	case KindDecimal:
		if rng.IntN(4) == 0 {
			v.Dec = new(big.Rat).Add(v.Dec, big.NewRat(1, 1000))
		}
	case KindString, KindBinary:
		switch rng.IntN(4) {
		case 0:
			v.Str += "a"
		case 1:
			if v.Str != "" {
				v.Str = v.Str[:len(v.Str)-1]
			}
		}
	case KindTimestamp:
		v.Int += []int64{0, 0, 1, -1, 500, 999, 1000, -1000}[rng.IntN(8)]
		if rng.IntN(8) == 0 {
			v = vDate(floorDiv(v.Int, microsPerDay))
		}
	case KindDate:
		if rng.IntN(4) == 0 {
			v = vTS(v.Int*microsPerDay + rng.Int64N(3) - 1)
		}
	}
	return Literal{Value: v, NTZ: path == "ntz" && v.Kind == KindTimestamp && rng.IntN(2) == 0}
}

var ops = []Op{OpEq, OpNe, OpLt, OpLe, OpGt, OpGe}

func randomExpr(rng *rand.Rand, rows []row, depth int) Expr {
	if depth > 0 && rng.IntN(5) < 2 {
		switch rng.IntN(3) {
		case 0:
			return And{Left: randomExpr(rng, rows, depth-1), Right: randomExpr(rng, rows, depth-1)}
		case 1:
			return Or{Left: randomExpr(rng, rows, depth-1), Right: randomExpr(rng, rows, depth-1)}
		default:
			return Not{X: randomExpr(rng, rows, depth-1)}
		}
	}
	path := leafPaths[rng.IntN(len(leafPaths))]
	col := colOf(path)
	switch k := rng.IntN(20); {
	case k < 10:
		lit := randomLiteral(rng, rows, path)
		if rng.IntN(4) == 0 {
			return Comparison{Op: ops[rng.IntN(6)], Left: lit, Right: col}
		}
		return Comparison{Op: ops[rng.IntN(6)], Left: col, Right: lit}
	case k < 14:
		in := In{Column: col, Not: rng.IntN(2) == 0}
		for range 1 + rng.IntN(3) {
			in.List = append(in.List, randomLiteral(rng, rows, path))
		}
		return in
	case k < 17:
		return IsNull{Column: col, Not: rng.IntN(2) == 0}
	case k < 18:
		// Two columns of one family.
		pairs := [][2]string{{"i", "i2"}, {"i", "st.x"}, {"f", "i"}, {"dec", "i2"}, {"d", "ts"}, {"s", "s"}, {"f32", "f"}, {"ts", "ntz"}}
		pr := pairs[rng.IntN(len(pairs))]
		return Comparison{Op: ops[rng.IntN(6)], Left: colOf(pr[0]), Right: colOf(pr[1])}
	case k < 19:
		return Column{Path: []string{"flag"}}
	default:
		return Literal{Value: []Value{vBool(true), vBool(false), {}}[rng.IntN(3)]}
	}
}

// evalRef evaluates e on one row with SQL three-valued logic, directly on the
// AST.
func evalRef(e Expr, r row) tri {
	operand := func(o Operand) Value {
		if c, ok := o.(Column); ok {
			return r[strings.Join(c.Path, ".")]
		}
		return o.(Literal).Value
	}
	switch e := e.(type) {
	case And:
		return and3(evalRef(e.Left, r), evalRef(e.Right, r))
	case Or:
		return or3(evalRef(e.Left, r), evalRef(e.Right, r))
	case Not:
		return notTri(evalRef(e.X, r))
	case Column:
		v := r[strings.Join(e.Path, ".")]
		if v.Kind == KindNull {
			return triNull
		}
		return boolTri(v.Bool)
	case Literal:
		if e.Value.Kind == KindNull {
			return triNull
		}
		return boolTri(e.Value.Bool)
	case Comparison:
		l, rv := operand(e.Left), operand(e.Right)
		if l.Kind == KindNull || rv.Kind == KindNull {
			return triNull
		}
		c, ok := Compare(l, rv)
		if !ok {
			panic("incomparable " + e.String())
		}
		return boolTri(e.Op.holds(c))
	case In:
		v := r[strings.Join(e.Column.Path, ".")]
		if v.Kind == KindNull {
			return triNull
		}
		res := triFalse
		for _, l := range e.List {
			if l.Value.Kind == KindNull {
				res = triNull
				continue
			}
			if c, _ := Compare(v, l.Value); c == 0 {
				res = triTrue
				break
			}
		}
		if e.Not {
			return notTri(res)
		}
		return res
	case IsNull:
		return boolTri((r[strings.Join(e.Column.Path, ".")].Kind == KindNull) != e.Not)
	}
	panic("unknown expression")
}
