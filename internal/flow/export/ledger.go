package export

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/lakehouse"
)

// LedgerKey is the job checkpoint holding an export's ledger.
const LedgerKey = "export"

// Ledger is an export job's record of what it loaded.
type Ledger struct {
	// Epoch names this ledger (random, made on the first run). It is part
	// of every load key, so a ledger lost and started again (a reset state
	// store) never has its loads skipped as "already loaded" by keys an
	// earlier ledger committed.
	Epoch string `json:"epoch"`
	// Cursor is the kind's position: every source row up to it is in the
	// tables (kind-specific JSON; empty before the first load).
	Cursor json.RawMessage `json:"cursor,omitempty"`
	// Loads is the number of the last load committed (the key version).
	Loads int64 `json:"loads"`
	// Rows is the total number of rows loaded.
	Rows int64 `json:"rows"`
	// Pending is a load that was staged and may or may not have committed.
	Pending *Pending `json:"pending,omitempty"`
}

// Pending is a staged load: its files per table and the cursor it reaches.
type Pending struct {
	Load   int64           `json:"load"`
	Run    int64           `json:"run"`
	Tables []TableFiles    `json:"tables"`
	Cursor json.RawMessage `json:"cursor,omitempty"`
	Rows   int64           `json:"rows"`
	// Format and Schema (a Delta schema string; "" for an inferred one) are
	// the staged files', so a later run whose settings or data changed
	// still loads them as they were written.
	Format string `json:"format"`
	Schema string `json:"schema,omitempty"`
}

// TableFiles are one table's staged files in a load.
type TableFiles struct {
	Table lakehouse.TableName `json:"table"`
	Files []string            `json:"files"`
	Rows  int64               `json:"rows"`
}

// ledgerStore reads and moves the ledger by compare-and-set.
type ledgerStore struct {
	cp   *job.Checkpoints
	raw  string // the stored value, "" if none
	path string // the job's path, for messages
}

func (s *ledgerStore) load(ctx context.Context) (Ledger, error) {
	raw, err := s.cp.Get(ctx, LedgerKey)
	if err != nil {
		return Ledger{}, err
	}
	s.raw = raw
	var l Ledger
	if raw == "" {
		return l, nil
	}
	if err := json.Unmarshal([]byte(raw), &l); err != nil {
		return l, errs.Invalidf("%s: the export ledger (checkpoint %q) is unreadable: %v", s.path, LedgerKey, err)
	}
	return l, nil
}

func (s *ledgerStore) save(ctx context.Context, l Ledger) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	if err := s.cp.Set(ctx, LedgerKey, s.raw, string(b)); err != nil {
		return fmt.Errorf("%s: saving the export ledger: %w", s.path, err)
	}
	s.raw = string(b)
	return nil
}
