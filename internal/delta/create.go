package delta

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/google/uuid"

	"github.com/lakeport/lakeport/internal/blob"
)

// TableSpec describes a table to create.
type TableSpec struct {
	Schema           *arrow.Schema // the logical columns
	PartitionColumns []string
	// Properties become metaData.configuration. Lakeport acts on
	// delta.enableChangeDataFeed, delta.appendOnly, delta.checkpointInterval,
	// delta.columnMapping.mode (none or name), delta.enableInCommitTimestamps,
	// delta.logRetentionDuration and delta.deletedFileRetentionDuration.
	Properties  map[string]string
	Name        string
	Description string
}

// knownProperties lists the table properties Create validates; others pass through.
var knownProperties = map[string]func(string) error{
	"delta.enableChangeDataFeed":         boolProp,
	"delta.appendOnly":                   boolProp,
	"delta.enableInCommitTimestamps":     boolProp,
	"delta.checkpointInterval":           positiveIntProp,
	"delta.dataSkippingNumIndexedCols":   intProp,
	"delta.logRetentionDuration":         intervalProp,
	"delta.deletedFileRetentionDuration": intervalProp,
	"delta.columnMapping.mode": func(v string) error {
		if v != "none" && v != "name" {
			return fmt.Errorf("want none or name")
		}
		return nil
	},
}

func boolProp(v string) error {
	if v != "true" && v != "false" {
		return fmt.Errorf("want true or false")
	}
	return nil
}

func intProp(v string) error {
	_, err := strconv.Atoi(v)
	return err
}

func positiveIntProp(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return fmt.Errorf("want a positive integer")
	}
	return nil
}

func intervalProp(v string) error {
	_, err := ParseInterval(v)
	return err
}

// Create creates a new Delta table at location (version 0: protocol and
// metadata). It fails if a table already exists there.
func Create(ctx context.Context, location string, spec TableSpec) (*Table, error) {
	t, err := open(ctx, location)
	if err != nil {
		return nil, err
	}
	md, proto, err := newTableMetadata(spec)
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("create %s: %w", location, err)
	}
	if files, err := t.listLog(ctx); err == nil && len(files) > 0 {
		t.Close()
		return nil, fmt.Errorf("create %s: a Delta table already exists there (version %d)", location, files[len(files)-1].Version)
	}
	tx := &transaction{t: t, op: "CREATE TABLE", metadata: md, protocol: proto, params: map[string]any{
		"isManaged": "false", "description": spec.Description, "partitionBy": jsonString(spec.PartitionColumns), "properties": jsonString(md.Configuration)}}
	if _, err := tx.commitAt(ctx, 0, time.Time{}); err != nil {
		t.Close()
		if errors.Is(err, blob.ErrExist) {
			return nil, fmt.Errorf("create %s: a Delta table already exists there", location)
		}
		return nil, fmt.Errorf("create %s: %w", location, err)
	}
	return t, nil
}

func newTableMetadata(spec TableSpec) (*Metadata, *Protocol, error) {
	if spec.Schema == nil || spec.Schema.NumFields() == 0 {
		return nil, nil, errors.New("the schema has no columns")
	}
	schema, err := FromArrow(spec.Schema)
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]bool{}
	for _, f := range schema.Fields {
		if f.Name == "" {
			return nil, nil, errors.New("a column has an empty name")
		}
		if seen[strings.ToLower(f.Name)] {
			return nil, nil, fmt.Errorf("column %q appears twice (names are case-insensitive)", f.Name)
		}
		seen[strings.ToLower(f.Name)] = true
	}
	var parts []string
	for _, p := range spec.PartitionColumns {
		f := schema.Field(p)
		if f == nil {
			return nil, nil, fmt.Errorf("partition column %q is not in the schema", p)
		}
		switch f.Type.(type) {
		case *StructType, *ArrayType, *MapType:
			return nil, nil, fmt.Errorf("partition column %q has type %s; partition columns must be primitive", p, f.Type)
		}
		parts = append(parts, f.Name)
	}
	if len(parts) > 0 && len(parts) == len(schema.Fields) {
		return nil, nil, errors.New("every column is a partition column; at least one must hold data")
	}
	config := map[string]string{}
	for k, v := range spec.Properties {
		if check, ok := knownProperties[k]; ok {
			if err := check(v); err != nil {
				return nil, nil, fmt.Errorf("table property %s = %q: %v", k, v, err)
			}
		}
		config[k] = v
	}
	if config["delta.columnMapping.mode"] == "name" {
		maxID := assignPhysicalNames(schema, 0)
		config["delta.columnMapping.maxColumnId"] = strconv.Itoa(maxID)
	}
	created := time.Now().UnixMilli()
	md := &Metadata{ID: uuid.NewString(), Name: spec.Name, Description: spec.Description, Format: Format{Provider: "parquet", Options: map[string]string{}},
		SchemaString: schema.SchemaString(), PartitionColumns: parts, Configuration: config, CreatedTime: &created}
	if md.PartitionColumns == nil {
		md.PartitionColumns = []string{}
	}
	return md, minimalProtocol(config), nil
}

// assignPhysicalNames gives every field (nested too) a column-mapping id and
// physical name, numbering after maxID. It returns the new maximum id.
func assignPhysicalNames(s *StructType, maxID int) int {
	for _, f := range s.Fields {
		if f.Metadata == nil {
			f.Metadata = map[string]any{}
		}
		if _, ok := f.Metadata[metaFieldID]; !ok {
			maxID++
			f.Metadata[metaFieldID] = maxID
			f.Metadata[metaPhysicalName] = "col-" + uuid.NewString()
		}
		maxID = assignNested(f.Type, maxID)
	}
	return maxID
}

func assignNested(t DataType, maxID int) int {
	switch v := t.(type) {
	case *StructType:
		return assignPhysicalNames(v, maxID)
	case *ArrayType:
		return assignNested(v.Element, maxID)
	case *MapType:
		return assignNested(v.Value, assignNested(v.Key, maxID))
	}
	return maxID
}

// minimalProtocol is the smallest protocol supporting the table's properties:
// legacy versions where they suffice, table features when in-commit
// timestamps are on.
func minimalProtocol(config map[string]string) *Protocol {
	cdf := config["delta.enableChangeDataFeed"] == "true"
	cm := config["delta.columnMapping.mode"] == "name"
	ict := config["delta.enableInCommitTimestamps"] == "true"
	if !ict {
		p := &Protocol{MinReaderVersion: 1, MinWriterVersion: 2}
		if cdf {
			p.MinWriterVersion = 4
		}
		if cm {
			p.MinReaderVersion, p.MinWriterVersion = 2, 5
		}
		return p
	}
	w := []string{"appendOnly", "invariants", "inCommitTimestamp"}
	if cdf {
		w = append(w, "changeDataFeed")
	}
	p := &Protocol{MinReaderVersion: 1, MinWriterVersion: 7}
	if cm {
		w = append(w, "columnMapping")
		p.MinReaderVersion = 3
		p.ReaderFeatures = []string{"columnMapping"}
	}
	sort.Strings(w)
	p.WriterFeatures = w
	return p
}

// SupportedWriterFeatures are the writer features Lakeport's writer honours.
var SupportedWriterFeatures = map[string]bool{
	"appendOnly": true, "invariants": true, "changeDataFeed": true, "columnMapping": true, "inCommitTimestamp": true,
}

// checkWritable refuses to write a table whose protocol or schema needs
// something the writer does not enforce (check constraints, generated or
// identity columns, column invariants, deletion vectors...).
func checkWritable(p *Protocol, s *StructType) error {
	if err := checkReadable(p); err != nil {
		return err
	}
	switch {
	case p.MinWriterVersion == 7:
		for _, f := range p.WriterFeatures {
			if !SupportedWriterFeatures[f] {
				return &UnsupportedError{What: "writer feature", Name: f}
			}
		}
	case p.MinWriterVersion == 3:
		return &UnsupportedError{What: "writer version", Name: "3 (check constraints)"}
	case p.MinWriterVersion == 6:
		return &UnsupportedError{What: "writer version", Name: "6 (identity columns)"}
	case p.MinWriterVersion > 7:
		return &UnsupportedError{What: "writer version", Name: strconv.Itoa(p.MinWriterVersion)}
	}
	return checkColumnRules(s)
}

func checkColumnRules(s *StructType) error {
	for _, f := range s.Fields {
		for _, k := range []string{"delta.generationExpression", "delta.identity.start", "delta.invariants"} {
			if _, ok := f.Metadata[k]; ok {
				return &UnsupportedError{What: "column rule", Name: f.Name + ": " + k}
			}
		}
		if st, ok := f.Type.(*StructType); ok {
			if err := checkColumnRules(st); err != nil {
				return err
			}
		}
	}
	return nil
}
