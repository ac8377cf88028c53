package format_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/klauspost/compress/gzip"

	"github.com/lakeport/lakeport/internal/format"
)

func writeFile(t *testing.T, name, content string, gz bool) string {
	p := filepath.Join(t.TempDir(), name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	var w io.Writer = f
	var z *gzip.Writer
	if gz {
		z = gzip.NewWriter(f)
		w = z
	}
	io.WriteString(w, content)
	if z != nil {
		z.Close()
	}
	f.Close()
	return p
}

func rows(t *testing.T, src format.Source) int64 {
	t.Helper()
	defer src.Close()
	var n int64
	for {
		rec, err := src.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		n += rec.NumRows()
		rec.Release()
	}
}

func TestCSVHeaderOnly(t *testing.T) {
	types := arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64}}, nil)
	for _, c := range []struct {
		name, content string
		gz            bool
	}{{"h.csv", "n,s\n", false}, {"h.csv.gz", "n,s\n", true}, {"h.csv", "n,s", false}, {"h.csv", "n,s\n\n", false}} {
		f := "csv"
		if c.gz {
			f = "csv.gz"
		}
		src, err := format.OpenFile(writeFile(t, c.name, c.content, c.gz), f, types)
		if err != nil {
			t.Fatalf("%q: %v", c.content, err)
		}
		s := src.Schema()
		if s.NumFields() != 2 || s.Field(0).Type.ID() != arrow.INT64 || s.Field(1).Type.ID() != arrow.STRING {
			t.Errorf("%q: schema %s, want n int64 (known), s string", c.content, s)
		}
		if n := rows(t, src); n != 0 {
			t.Errorf("%q: %d rows", c.content, n)
		}
	}
	if _, err := format.OpenFile(writeFile(t, "e.csv", "", false), "csv", types); err == nil {
		t.Errorf("an empty file: no error")
	}
	src, err := format.OpenFile(writeFile(t, "d.csv.gz", "n,s\n1,a\n2,b\n", true), "csv.gz", types)
	if err != nil {
		t.Fatal(err)
	}
	if n := rows(t, src); n != 2 {
		t.Errorf("two data rows read as %d", n)
	}
}
