package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/platformtest"
	"github.com/lakeport/lakeport/internal/platform/sqlitestore"
)

func open(t testing.TB, opts platform.Options) platform.Store {
	s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "platform.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) { platformtest.Run(t, open) }

// go test -run '^$' -bench '^BenchmarkUpsertProfiles$' -benchtime 1000000x
func BenchmarkUpsertProfiles(b *testing.B) { platformtest.BenchUpsertProfiles(b, open) }

// go test -run '^$' -bench '^BenchmarkAudienceRefresh$' -benchtime 1x
func BenchmarkAudienceRefresh(b *testing.B) { platformtest.BenchAudienceRefresh(b, open) }

// go test ./internal/platform/sqlitestore -run '^$' -bench BenchmarkReadStream -benchtime 3x
func BenchmarkReadStream(b *testing.B) { platformtest.BenchReadStream(b, open) }
