package deltatest

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// ReadParquetDir reads every *.parquet file under dir (recursively, in
// lexical path order), skipping files and directories whose names start with
// "." or "_" (Spark's _SUCCESS, .crc files, macOS ._ files, _delta_log). All
// files must have the same Arrow schema; it is returned with the batches.
// Hive-style partition directories (k=v) are not turned into columns.
//
// Types are whatever pqarrow produces: notably Parquet INT96 (how Spark
// writes TimestampType by default) becomes timestamp[ns, tz=UTC], and
// TIMESTAMP(isAdjustedToUTC=false) becomes a timestamp without time zone.
// The batches use the Go allocator; releasing them is optional.
func ReadParquetDir(dir string) (*arrow.Schema, []arrow.RecordBatch, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := e.Name()
		if p != dir && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !e.IsDir() && strings.HasSuffix(name, ".parquet") {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if len(paths) == 0 {
		return nil, nil, fmt.Errorf("no parquet files under %s", dir)
	}
	sort.Strings(paths)
	var (
		schema *arrow.Schema
		recs   []arrow.RecordBatch
	)
	for _, p := range paths {
		s, rs, err := readParquetFile(p)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p, err)
		}
		if schema == nil {
			schema = s
		} else if !schema.Equal(s) {
			return nil, nil, fmt.Errorf("%s: schema %s differs from %s's %s", p, s, paths[0], schema)
		}
		recs = append(recs, rs...)
	}
	return schema, recs, nil
}

func readParquetFile(path string) (*arrow.Schema, []arrow.RecordBatch, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, nil, err
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 * 1024}, memory.DefaultAllocator)
	if err != nil {
		return nil, nil, err
	}
	schema, err := fr.Schema()
	if err != nil {
		return nil, nil, err
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return nil, nil, err
	}
	defer rr.Release()
	var recs []arrow.RecordBatch
	for rr.Next() {
		rec := rr.RecordBatch()
		rec.Retain()
		recs = append(recs, rec)
	}
	if err := rr.Err(); err != nil {
		return nil, nil, err
	}
	return schema, recs, nil
}
