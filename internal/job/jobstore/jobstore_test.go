package jobstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/job/jobstore"
	"github.com/lakeport/lakeport/internal/job/jobtest"
	"github.com/lakeport/lakeport/internal/platform/pgstore/pgtest"
)

func TestSQLite(t *testing.T) {
	jobtest.RunStore(t, func(t *testing.T) func(t *testing.T) job.Store {
		path := filepath.Join(t.TempDir(), "sub", "state.db")
		return func(t *testing.T) job.Store {
			s, err := jobstore.Open(context.Background(), "sqlite://"+path)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	})
}

func TestPostgres(t *testing.T) {
	base := pgtest.URL(t)
	jobtest.RunStore(t, func(t *testing.T) func(t *testing.T) job.Store {
		url := pgtest.FreshSchema(t, base)
		return func(t *testing.T) job.Store {
			s, err := jobstore.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	})
}
