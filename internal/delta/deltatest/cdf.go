package deltatest

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// CDFQuery is one change-data-feed query from an expected-cdf/*.md file of
// the corpus, with its expected answer.
type CDFQuery struct {
	// Name is the block's "## name" heading; blocks holding several queries
	// name them "<heading>#1", "<heading>#2", ... in order.
	Name string
	// Block is the heading the query came from.
	Block string
	// Table is the table path relative to the corpus directory.
	Table string
	// Range (both ends inclusive). A nil end means the latest version.
	StartVersion, EndVersion     *int64
	StartTimestamp, EndTimestamp *time.Time
	// Columns is the projection, nil for all columns.
	Columns []string
	// Filter is a predicate in SQL syntax ("birthday = DATE '2023-12-25'"),
	// empty for none.
	Filter string
	// Expected is the expected table; nil when ExpectError is set.
	Expected *PrettyTable
	// ExpectError is the expected error text for blocks that expect the
	// query to fail (none of the current files do).
	ExpectError string
	// Line is the 1-based line of the query in the file.
	Line int
}

// PrettyTable is a pretty-printed Arrow table (arrow-rs pretty format):
// header cells and value rows, every cell trimmed. Null values print as
// empty cells.
type PrettyTable struct {
	Columns []string
	Rows    [][]string
}

// CanonicalRows returns the rows with cells joined by " | ", sorted. The
// tables are untyped, so this compares equal with PrettyRows' rendering of
// the same data.
func (p *PrettyTable) CanonicalRows() []string {
	out := make([]string, len(p.Rows))
	for i, r := range p.Rows {
		out[i] = strings.Join(r, " | ")
	}
	sort.Strings(out)
	return out
}

// PrettyRows renders the named columns of recs, in that order, as arrow-rs's
// pretty printer would (so they compare equal with PrettyTable.CanonicalRows
// of an expected table): cells joined by " | ", trimmed, rows sorted.
//
// Rendering follows arrow-rs's display module: integers in decimal; floats
// as the ryu crate prints them ("1.0", "3.14", "1e21", "NaN", "inf");
// decimals with their scale; strings verbatim; binary as lowercase hex;
// booleans true/false; dates YYYY-MM-DD; null as an empty cell (also inside
// nested values); structs {a: 1, b: x}; lists [1, 2]; maps {k: v}.
// Timestamps print like chrono's NaiveDateTime Debug output,
// 2023-12-22T17:10:18.828, with no fraction for whole seconds and 3, 6 or 9
// fraction digits otherwise. Unlike arrow-rs, a timestamp with a time zone
// is printed in UTC without a zone suffix (arrow-rs would append "Z" or an
// offset): the expected files were produced from zone-less columns (delta-rs'
// _commit_timestamp prints as 2023-12-22T17:10:18.828), while a Delta
// "timestamp" column is naturally read as a UTC-zoned Arrow timestamp; both
// denote the same UTC wall-clock value.
func PrettyRows(s *arrow.Schema, recs []arrow.RecordBatch, columns []string) ([]string, error) {
	cols := make([]int, len(columns))
	for i, name := range columns {
		idx := s.FieldIndices(name)
		if len(idx) != 1 {
			return nil, fmt.Errorf("column %q: %d matches in schema %v", name, len(idx), CanonicalSchema(s))
		}
		cols[i] = idx[0]
	}
	return renderRows(s, recs, cols, prettyStyle)
}

// ParseCDFExpectations parses an expected-CDF markdown file of the corpus
// (expected-cdf/kernel-rs_cdf_expected.md, delta-rs_load_cdf_expected.md).
//
// Format: text before the first "## " heading is ignored. Each block is a
// "## name" heading, a fenced code block of one or more query lines, then
// one fenced code block per query, in order, holding either a pretty-printed
// table or an error line ("error: ..." or "expected error: ..."). A query
// line is
//
//	query: table <path>; changes from <start> (to|up to) <end>[; columns a, b][; filter <expr>]
//
// where <start> is "version N" or "commit timestamp T", <end> is "latest",
// "version N" or "commit timestamp T" (T in RFC 3339), and the filter runs
// to the end of the line. Tables may lack their border lines (one in
// delta-rs_load_cdf_expected.md does); the first row is the header. Any
// other content is an error, so new variants are noticed rather than
// silently dropped.
func ParseCDFExpectations(path string) ([]CDFQuery, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		lines = append(lines, strings.TrimRight(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	p := &mdParser{path: path, lines: lines}
	return p.parse()
}

type mdParser struct {
	path  string
	lines []string
	i     int // next line (0-based)
}

func (p *mdParser) errorf(line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", p.path, line, fmt.Sprintf(format, args...))
}

func (p *mdParser) parse() ([]CDFQuery, error) {
	var out []CDFQuery
	for p.i < len(p.lines) && !strings.HasPrefix(p.lines[p.i], "## ") {
		p.i++
	}
	for p.i < len(p.lines) {
		headLine := p.i + 1
		name := strings.TrimSpace(strings.TrimPrefix(p.lines[p.i], "## "))
		p.i++
		var fences []fence
		for p.i < len(p.lines) && !strings.HasPrefix(p.lines[p.i], "## ") {
			line := strings.TrimSpace(p.lines[p.i])
			switch {
			case line == "":
				p.i++
			case strings.HasPrefix(line, "```"):
				fc, err := p.readFence()
				if err != nil {
					return nil, err
				}
				fences = append(fences, fc)
			default:
				return nil, p.errorf(p.i+1, "block %q: unexpected text outside a fenced block: %q", name, line)
			}
		}
		if name == "" {
			return nil, p.errorf(headLine, "empty block name")
		}
		if len(fences) == 0 {
			return nil, p.errorf(headLine, "block %q has no query", name)
		}
		var queries []CDFQuery
		for k, l := range fences[0].lines {
			q, err := parseQueryLine(l)
			if err != nil {
				return nil, p.errorf(fences[0].start+1+k, "block %q: %v", name, err)
			}
			q.Block, q.Line = name, fences[0].start+1+k
			queries = append(queries, q)
		}
		results := fences[1:]
		if len(results) != len(queries) {
			return nil, p.errorf(headLine, "block %q has %d queries but %d result blocks", name, len(queries), len(results))
		}
		for k := range queries {
			q := &queries[k]
			q.Name = name
			if len(queries) > 1 {
				q.Name = fmt.Sprintf("%s#%d", name, k+1)
			}
			if msg, ok := errorResult(results[k].lines); ok {
				q.ExpectError = msg
				continue
			}
			t, err := parsePrettyTable(results[k].lines)
			if err != nil {
				return nil, p.errorf(results[k].start, "block %q, result %d: %v", name, k+1, err)
			}
			q.Expected = t
		}
		out = append(out, queries...)
	}
	return out, nil
}

type fence struct {
	start int // 1-based line of the opening ```
	lines []string
}

func (p *mdParser) readFence() (fence, error) {
	fc := fence{start: p.i + 1}
	p.i++
	for ; p.i < len(p.lines); p.i++ {
		line := strings.TrimSpace(p.lines[p.i])
		if line == "```" {
			p.i++
			return fc, nil
		}
		if line != "" {
			fc.lines = append(fc.lines, line)
		}
	}
	return fc, p.errorf(fc.start, "unterminated fenced block")
}

func errorResult(lines []string) (string, bool) {
	if len(lines) == 0 {
		return "", false
	}
	for _, prefix := range []string{"error:", "expected error:", "expect error:"} {
		if rest, ok := strings.CutPrefix(lines[0], prefix); ok {
			return strings.TrimSpace(strings.Join(append([]string{rest}, lines[1:]...), "\n")), true
		}
	}
	return "", false
}

func parseQueryLine(line string) (CDFQuery, error) {
	var q CDFQuery
	rest, ok := strings.CutPrefix(line, "query:")
	if !ok {
		return q, fmt.Errorf("query line must start with \"query:\": %q", line)
	}
	parts := strings.Split(strings.TrimSpace(rest), ";")
	var sawRange bool
	for k := 0; k < len(parts); k++ {
		part := strings.TrimSpace(parts[k])
		switch {
		case strings.HasPrefix(part, "table "):
			q.Table = strings.TrimSpace(strings.TrimPrefix(part, "table "))
		case strings.HasPrefix(part, "changes from "):
			if err := parseRange(&q, strings.TrimPrefix(part, "changes from ")); err != nil {
				return q, err
			}
			sawRange = true
		case strings.HasPrefix(part, "columns "):
			for _, c := range strings.Split(strings.TrimPrefix(part, "columns "), ",") {
				if c = strings.TrimSpace(c); c == "" {
					return q, fmt.Errorf("empty column name in %q", part)
				}
				q.Columns = append(q.Columns, strings.TrimSpace(c))
			}
		case strings.HasPrefix(part, "filter "):
			// The filter runs to the end of the line (it may contain ';').
			q.Filter = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(strings.Join(parts[k:], ";")), "filter "))
			k = len(parts)
		default:
			return q, fmt.Errorf("unknown query part %q", part)
		}
	}
	if q.Table == "" {
		return q, fmt.Errorf("query has no table: %q", line)
	}
	if !sawRange {
		return q, fmt.Errorf("query has no \"changes from\" range: %q", line)
	}
	return q, nil
}

// parseRange parses "<start> to <end>" / "<start> up to <end>".
func parseRange(q *CDFQuery, s string) error {
	start, end, ok := strings.Cut(s, " up to ")
	if !ok {
		start, end, ok = strings.Cut(s, " to ")
	}
	if !ok {
		return fmt.Errorf("range %q: want \"<start> to <end>\"", s)
	}
	v, ts, err := parseBound(strings.TrimSpace(start), false)
	if err != nil {
		return fmt.Errorf("range start: %v", err)
	}
	q.StartVersion, q.StartTimestamp = v, ts
	v, ts, err = parseBound(strings.TrimSpace(end), true)
	if err != nil {
		return fmt.Errorf("range end: %v", err)
	}
	q.EndVersion, q.EndTimestamp = v, ts
	return nil
}

func parseBound(s string, isEnd bool) (*int64, *time.Time, error) {
	switch {
	case s == "latest" && isEnd:
		return nil, nil, nil
	case strings.HasPrefix(s, "version "):
		n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(s, "version ")), 10, 64)
		if err != nil || n < 0 {
			return nil, nil, fmt.Errorf("bad version in %q", s)
		}
		return &n, nil, nil
	case strings.HasPrefix(s, "commit timestamp "):
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(strings.TrimPrefix(s, "commit timestamp ")))
		if err != nil {
			return nil, nil, fmt.Errorf("bad timestamp in %q: %v", s, err)
		}
		return nil, &t, nil
	}
	return nil, nil, fmt.Errorf("unknown bound %q", s)
}

// parsePrettyTable parses the lines of an arrow-rs pretty table. Border lines
// ("+---+") are optional; the first "|" line is the header.
func parsePrettyTable(lines []string) (*PrettyTable, error) {
	var t *PrettyTable
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "+"):
			if strings.Trim(l, "+-") != "" {
				return nil, fmt.Errorf("malformed border line %q", l)
			}
		case strings.HasPrefix(l, "|"):
			if !strings.HasSuffix(l, "|") || len(l) < 2 {
				return nil, fmt.Errorf("row %q does not end with |", l)
			}
			cells := strings.Split(l[1:len(l)-1], "|")
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			if t == nil {
				t = &PrettyTable{Columns: cells}
				continue
			}
			if len(cells) != len(t.Columns) {
				return nil, fmt.Errorf("row %q has %d cells, header has %d", l, len(cells), len(t.Columns))
			}
			t.Rows = append(t.Rows, cells)
		default:
			return nil, fmt.Errorf("unexpected line %q in table", l)
		}
	}
	if t == nil {
		return nil, fmt.Errorf("table has no header row")
	}
	return t, nil
}
