package databricks

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/lakehouse/databricks/workspace"
	"github.com/lakeport/lakeport/internal/lakehouse/staging"
)

// stagingSource is a workspace that knows the connection's staging
// location (*workspace.Client: the connection's `staging` setting).
type stagingSource interface {
	Staging(ctx context.Context) (staging.Area, error)
}

// configured is a workspace client with its connection settings.
type configured interface {
	Config() workspace.Config
}

var urlScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

// DefaultStaging is the staging area of the connection's `staging` setting
// (export.StagingProvider): a Unity Catalog volume (/Volumes/c/s/v/prefix,
// through the Files API) or a bucket URL the warehouse can read (s3://,
// gs://, azblob://, through internal/blob). A local directory is refused:
// COPY INTO runs on the warehouse, which cannot read Lakeport's disk. An
// unset setting is errs.Invalid naming it.
func (l *Lakehouse) DefaultStaging(ctx context.Context) (staging.Area, error) {
	src, ok := l.ws.(stagingSource)
	if !ok {
		return nil, errs.Invalidf("databricks: this connection has no staging setting; set the connection's staging (/Volumes/... or a bucket URL) or the export's settings.staging")
	}
	if c, ok := l.ws.(configured); ok {
		loc := strings.TrimSpace(c.Config().Staging)
		if loc != "" && !strings.HasPrefix(loc, "/Volumes/") && (!urlScheme.MatchString(loc) || strings.HasPrefix(strings.ToLower(loc), "file://")) {
			return nil, errs.Invalidf("databricks: connection staging %q is a local directory, which the SQL warehouse cannot read; use a /Volumes/CATALOG/SCHEMA/VOLUME path or a bucket URL (s3://, gs://, azblob://)", loc)
		}
	}
	a, err := src.Staging(ctx)
	if err != nil {
		return nil, fmt.Errorf("databricks: default staging: %w", err)
	}
	return a, nil
}
