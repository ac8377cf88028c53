package predicate

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// FuzzParse checks that Parse never panics, that its errors carry a position
// within the input, and that a parsed expression's String parses back to the
// same String. Expressions that bind to the test schema are also evaluated
// for skipping and filtering, which must not panic either.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"a > 3 AND b IN ('x','y')",
		"NOT (a = 1 OR b <> 2.50) AND c IS NOT NULL",
		"`my col`.`x``y` >= -12e-3",
		"d = DATE '2021-01-01' OR ts < TIMESTAMP '2023-12-22T17:10:21.675+01:00'",
		"ntz = TIMESTAMP_NTZ '2023-12-22 17:10:21' AND bin = X'00ff'",
		"s = 'it''s' AND flag AND NOT flag = FALSE",
		"i NOT IN (1, NULL, 9223372036854775808) OR f = 'NaN'",
		"((((i = 1))))",
		"st.x IS NULL",
		"i = i2 AND dec > 0.005",
		"a.",
		"'unterminated",
		"1e999",
		"\xff",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q): error %T is not a *SyntaxError", src, err)
			}
			if se.Pos < 1 || se.Pos > utf8.RuneCountInString(src)+1 {
				t.Fatalf("Parse(%q): position %d out of range", src, se.Pos)
			}
			return
		}
		s := e.String()
		e2, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q) = %q, which does not parse: %v", src, s, err)
		}
		if s2 := e2.String(); s2 != s {
			t.Fatalf("Parse(%q): String %q re-parses to %q", src, s, s2)
		}
		b, err := Bind(e, skipSchema)
		if err != nil {
			return
		}
		if b2, err := Bind(e2, skipSchema); err != nil || b2.String() != b.String() {
			t.Fatalf("re-parsed %q binds differently: %v", s, err)
		}
		if bs := b.String(); bs != "" {
			if _, err := Parse(bs); err != nil {
				t.Fatalf("Bound.String %q does not parse: %v", bs, err)
			}
		}
		b.MayMatch(mapStats{})
		b.MayMatch(fuzzStats)
		mem := memory.NewGoAllocator()
		rec := buildRecord(t, mem, skipSchema, fuzzRows)
		defer rec.Release()
		out, err := b.Filter(rec, mem)
		if err != nil {
			t.Fatalf("Filter(%s): %v", b, err)
		}
		out.Release()
	})
}

var fuzzRows = []row{
	{"id": vInt(0), "i": vInt(1), "i2": vInt(2), "f": vFloat(1), "f32": vFloat(0.5), "dec": vDec("1.5"), "s": vStr("a"), "bin": vBin("\x00"), "d": vDate(1), "ts": vTS(1), "ntz": vTS(2), "flag": vBool(true), "p": vInt(3), "st": vBool(true), "st.x": vInt(4)},
	{"id": vInt(1)},
}

var fuzzStats = toStats(2, map[string]cs{
	"i": mmn(vInt(1), vInt(1), 1), "f": mm(vFloat(1), vFloat(1)), "s": mm(vStr("a"), vStr("a")),
	"ts": mm(vTS(1), vTS(1)), "dec": mm(vDec("1.5"), vDec("1.5")), "p": part(vInt(3), 2),
})
