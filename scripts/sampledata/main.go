// Command sampledata writes the quickstart's sample Delta table: customers of a
// small shop, with change data feed on and three commits (insert, update, delete).
//
//	go run ./scripts/sampledata DIR
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeport/lakeport/internal/delta/deltatest"
)

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "lifetime_value", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "updated_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
}, nil)

var countries = []string{"NL", "DE", "FR", "US", "GB"}

type customer struct {
	id      int64
	country string
	value   float64
	at      time.Time
}

func batch(rows []customer, changeType string) arrow.RecordBatch {
	s := schema
	if changeType != "" {
		s = arrow.NewSchema(append(schema.Fields(), arrow.Field{Name: "_change_type", Type: arrow.BinaryTypes.String}), nil)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, s)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.Int64Builder).Append(r.id)
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("customer%04d@example.com", r.id))
		b.Field(2).(*array.StringBuilder).Append(r.country)
		b.Field(3).(*array.Float64Builder).Append(r.value)
		b.Field(4).(*array.TimestampBuilder).Append(arrow.Timestamp(r.at.UnixMicro()))
		if changeType != "" {
			b.Field(5).(*array.StringBuilder).Append(changeType)
		}
	}
	return b.NewRecordBatch()
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: sampledata DIR")
		os.Exit(2)
	}
	if err := write(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "sampledata:", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("%s already exists", dir)
	}
	clock := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	f, err := deltatest.NewFixture(dir, schema, nil, map[string]string{"delta.enableChangeDataFeed": "true"})
	if err != nil {
		return err
	}
	f.Now = func() time.Time { return clock }
	// version 1: 1,000 customers in two files
	var all []customer
	for i := int64(1); i <= 1000; i++ {
		all = append(all, customer{i, countries[i%5], float64(i*37%1000) + 0.5, clock})
	}
	clock = clock.Add(24 * time.Hour)
	if _, err := f.Append(batch(all[:500], ""), batch(all[500:], "")); err != nil {
		return err
	}
	// version 2: the first file's NL customers spend more (copy-on-write update with change data)
	first := f.Files()[0]
	clock = clock.Add(24 * time.Hour)
	var rewritten, pre, post []customer
	for _, c := range all[:500] {
		if c.country == "NL" {
			pre = append(pre, c)
			c.value += 100
			c.at = clock
			post = append(post, c)
		}
		rewritten = append(rewritten, c)
	}
	if _, err := f.Commit(deltatest.Commit{Remove: []string{first}, Add: []arrow.RecordBatch{batch(rewritten, "")},
		CDC: []arrow.RecordBatch{batch(pre, "update_preimage"), batch(post, "update_postimage")}, Operation: "UPDATE"}); err != nil {
		return err
	}
	// version 3: customers 990-1000 are deleted
	second := f.Files()[0]
	clock = clock.Add(24 * time.Hour)
	var kept, gone []customer
	for _, c := range all[500:] {
		if c.id >= 990 {
			gone = append(gone, c)
		} else {
			kept = append(kept, c)
		}
	}
	_, err = f.Commit(deltatest.Commit{Remove: []string{second}, Add: []arrow.RecordBatch{batch(kept, "")},
		CDC: []arrow.RecordBatch{batch(gone, "delete")}, Operation: "DELETE"})
	return err
}
