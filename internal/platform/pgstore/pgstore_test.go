package pgstore_test

import (
	"context"
	"testing"

	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/pgstore"
	"github.com/lakeport/lakeport/internal/platform/pgstore/pgtest"
	"github.com/lakeport/lakeport/internal/platform/platformtest"
)

// opener returns a store in a fresh schema of the test server.
func opener(t testing.TB) platformtest.Open {
	base := pgtest.URL(t)
	return func(t testing.TB, opts platform.Options) platform.Store {
		s, err := pgstore.Open(context.Background(), pgtest.FreshSchema(t, base), opts)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

func TestConformance(t *testing.T) { platformtest.Run(t, opener(t)) }

// go test -run '^$' -bench '^BenchmarkUpsertProfiles$' -benchtime 1000000x
func BenchmarkUpsertProfiles(b *testing.B) { platformtest.BenchUpsertProfiles(b, opener(b)) }

// go test -run '^$' -bench '^BenchmarkAudienceRefresh$' -benchtime 1x
func BenchmarkAudienceRefresh(b *testing.B) { platformtest.BenchAudienceRefresh(b, opener(b)) }

// go test -run '^$' -bench '^BenchmarkReadStream$' -benchtime 3x
func BenchmarkReadStream(b *testing.B) { platformtest.BenchReadStream(b, opener(b)) }
