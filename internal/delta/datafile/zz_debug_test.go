package datafile

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestZZDebug(t *testing.T) {
	duck := duckdbTool(t)
	b, dir := newBucket(t)
	sc := allTypesSchema()
	var recs []arrow.RecordBatch
	for i := range 3 {
		rs := genRows(uint64(100+i), int64(i*3000), 3000, 0.15)
		for k := range rs {
			if rs[k].i8 != nil {
				rs[k].i8 = ptr(*rs[k].i8 % 4)
			}
		}
		recs = append(recs, buildRecord(sc, rs))
	}
	files := writeAll(t, b, sc, Options{PartitionColumns: []string{"i8"}, TargetFileSize: 64 << 10}, recs...)
	var n int64
	for _, f := range files {
		n += f.NumRecords
		fmt.Println(f.Key, f.NumRecords, f.Size)
	}
	fmt.Println("total", n)
	fmt.Println(duckdbRows(t, duck, fmt.Sprintf(`SELECT count(*), count(distinct id), min(id), max(id) FROM read_parquet('%s/**/*.parquet', hive_partitioning=false)`, dir)))
	fmt.Println(duckdbRows(t, duck, fmt.Sprintf(`SELECT filename, count(*), count(distinct id), min(id), max(id) FROM read_parquet('%s/**/*.parquet', hive_partitioning=false, filename=true) group by 1 order by 1`, dir)))
	total := 0
	for _, f := range files {
		_, r, _ := readParquet(t, b, f.Key)
		c := 0
		for _, x := range r { c += int(x.NumRows()) }
		total += c
	}
	fmt.Println("pqarrow total", total)
}
