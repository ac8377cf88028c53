package workspace

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/databricks/databricks-sdk-go/service/catalog"

	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/lakehouse"
)

// Catalogs lists the catalogs the caller can see, sorted by name. Browsing
// uses Unity Catalog's REST API only: it never wakes the warehouse.
func (c *Client) Catalogs(ctx context.Context) ([]string, error) {
	var out []string
	err := c.call(ctx, "list catalogs", func(ctx context.Context) error {
		all, err := c.catalogs.ListAll(ctx, catalog.ListCatalogsRequest{})
		out = out[:0]
		for _, ci := range all {
			out = append(out, ci.Name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}

// Schemas lists the schemas of a catalog, sorted by name. A missing (or
// invisible) catalog is a *lakehouse.NotFoundError.
func (c *Client) Schemas(ctx context.Context, catalogName string) ([]string, error) {
	if err := lakehouse.ValidateName("catalog", catalogName); err != nil {
		return nil, err
	}
	var out []string
	err := c.call(ctx, "list schemas of "+catalogName, func(ctx context.Context) error {
		all, err := c.schemas.ListAll(ctx, catalog.ListSchemasRequest{CatalogName: catalogName})
		out = out[:0]
		for _, si := range all {
			out = append(out, si.Name)
		}
		return err
	})
	if err != nil {
		return nil, notFound(err, "catalog", catalogName)
	}
	sort.Strings(out)
	return out, nil
}

// Tables lists the tables and views of a schema, sorted by name. A missing
// schema (or catalog) is a *lakehouse.NotFoundError.
func (c *Client) Tables(ctx context.Context, catalogName, schema string) ([]lakehouse.TableInfo, error) {
	if err := lakehouse.ValidateName("catalog", catalogName); err != nil {
		return nil, err
	}
	if err := lakehouse.ValidateName("schema", schema); err != nil {
		return nil, err
	}
	var out []lakehouse.TableInfo
	err := c.call(ctx, "list tables of "+catalogName+"."+schema, func(ctx context.Context) error {
		all, err := c.tables.ListAll(ctx, catalog.ListTablesRequest{
			CatalogName: catalogName, SchemaName: schema, OmitColumns: true, OmitProperties: true, OmitUsername: true,
		})
		out = out[:0]
		for _, ti := range all {
			out = append(out, lakehouse.TableInfo{
				Name: lakehouse.TableName{Catalog: catalogName, Schema: schema, Table: ti.Name},
				Kind: tableKind(ti.TableType),
			})
		}
		return err
	})
	if err != nil {
		return nil, notFound(err, "schema", catalogName+"."+schema)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name.Table < out[j].Name.Table })
	return out, nil
}

// Table describes a table or view from Unity Catalog: kind (views,
// materialized and metric views are KindView), format (DELTA, ...),
// columns in order with canonical types (see ColumnType), partition
// columns, properties and ChangeDataFeed (delta.enableChangeDataFeed).
//
// Version and VersionTime are what Unity Catalog last recorded
// (delta.lastUpdateVersion, delta.lastCommitTimestamp): they may lag the
// table's newest commit, and are -1 and zero when Unity Catalog has none.
// Never pin a scan to them: the SQL driver reads the current version with
// DESCRIBE HISTORY. A missing table is a *lakehouse.NotFoundError.
func (c *Client) Table(ctx context.Context, name lakehouse.TableName) (*lakehouse.Description, error) {
	if err := name.Validate(); err != nil {
		return nil, err
	}
	var ti *catalog.TableInfo
	err := c.call(ctx, "get table "+name.Plain(), func(ctx context.Context) error {
		var err error
		ti, err = c.tables.Get(ctx, catalog.GetTableRequest{FullName: name.Plain()})
		return err
	})
	if err != nil {
		return nil, notFound(err, "table", name.Plain())
	}
	return describe(name, ti)
}

func describe(name lakehouse.TableName, ti *catalog.TableInfo) (*lakehouse.Description, error) {
	d := &lakehouse.Description{
		Name:       name,
		Kind:       tableKind(ti.TableType),
		Format:     lakehouse.Format(strings.ToUpper(string(ti.DataSourceFormat))),
		Properties: map[string]string{},
		Version:    -1,
	}
	for k, v := range ti.Properties {
		d.Properties[k] = v
	}
	d.ChangeDataFeed = strings.EqualFold(strings.TrimSpace(ti.Properties["delta.enableChangeDataFeed"]), "true")
	if v, err := strconv.ParseInt(ti.Properties["delta.lastUpdateVersion"], 10, 64); err == nil && v >= 0 {
		d.Version = v
	}
	if ms, err := strconv.ParseInt(ti.Properties["delta.lastCommitTimestamp"], 10, 64); err == nil && ms > 0 {
		d.VersionTime = time.UnixMilli(ms).UTC()
	}
	cols := slices.Clone(ti.Columns)
	sort.SliceStable(cols, func(i, j int) bool { return cols[i].Position < cols[j].Position })
	type part struct {
		idx  int
		name string
	}
	var parts []part
	for _, ci := range cols {
		t, err := ColumnType(ci)
		if err != nil {
			return nil, &lakehouse.UnsupportedError{What: name.Plain(), Err: err}
		}
		d.Columns = append(d.Columns, lakehouse.Column{Name: ci.Name, Type: t, Nullable: ci.Nullable})
		if ci.PartitionIndex > 0 || slices.Contains(ci.ForceSendFields, "PartitionIndex") {
			parts = append(parts, part{ci.PartitionIndex, ci.Name})
		}
	}
	sort.SliceStable(parts, func(i, j int) bool { return parts[i].idx < parts[j].idx })
	for _, p := range parts {
		d.PartitionColumns = append(d.PartitionColumns, p.name)
	}
	return d, nil
}

func tableKind(t catalog.TableType) lakehouse.Kind {
	switch t {
	case catalog.TableTypeView, catalog.TableTypeMaterializedView, catalog.TableTypeMetricView:
		return lakehouse.KindView
	}
	return lakehouse.KindTable
}

// notFound turns a 404 into a *lakehouse.NotFoundError (keeping the message
// chain for errors.Is on errs kinds), leaving other errors as they are.
func notFound(err error, what, name string) error {
	if errs.Classify(err) == errs.Invalid && isStatus(err, 404) {
		return &notFoundError{NotFoundError: lakehouse.NotFoundError{What: what, Name: name}, err: err}
	}
	return err
}

// notFoundError is a lakehouse.NotFoundError that keeps the REST error.
type notFoundError struct {
	lakehouse.NotFoundError
	err error
}

func (e *notFoundError) Error() string {
	return e.NotFoundError.Error() + " (" + rootMessage(e.err) + ")"
}
func (e *notFoundError) Unwrap() error { return e.err }
func (e *notFoundError) Is(target error) bool {
	return e.NotFoundError.Is(target)
}

// As lets errors.As find the embedded *lakehouse.NotFoundError.
func (e *notFoundError) As(target any) bool {
	if t, ok := target.(**lakehouse.NotFoundError); ok {
		*t = &e.NotFoundError
		return true
	}
	return false
}

func rootMessage(err error) string {
	for {
		var oe *opError
		if errors.As(err, &oe) {
			err = oe.err
			continue
		}
		return err.Error()
	}
}
