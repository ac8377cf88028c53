package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/platformtest"
	"github.com/lakeport/lakeport/internal/platform/sqlitestore"
)

func TestConformance(t *testing.T) {
	platformtest.Run(t, func(t *testing.T, opts platform.Options) platform.Store {
		s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "platform.db"), opts)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
