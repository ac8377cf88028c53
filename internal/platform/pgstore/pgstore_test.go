package pgstore_test

import (
	"context"
	"testing"

	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/pgstore"
	"github.com/lakeport/lakeport/internal/platform/pgstore/pgtest"
	"github.com/lakeport/lakeport/internal/platform/platformtest"
)

func TestConformance(t *testing.T) {
	base := pgtest.URL(t)
	platformtest.Run(t, func(t *testing.T, opts platform.Options) platform.Store {
		s, err := pgstore.Open(context.Background(), pgtest.FreshSchema(t, base), opts)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
