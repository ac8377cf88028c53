package delta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/lakeport/lakeport/internal/blob"
	"github.com/lakeport/lakeport/internal/delta/predicate"
)

// ConflictError reports a concurrent commit that invalidates this one. The
// operation re-reads the table and retries on its own; callers see it only
// when retries run out.
type ConflictError struct {
	Table   string
	Version int64 // the winning commit
	Reason  string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s: concurrent commit %d conflicts: %s", e.Table, e.Version, e.Reason)
}

// transaction is one optimistic commit: the actions to write on top of the snapshot it read.
type transaction struct {
	t        *Table
	read     *Snapshot // nil when creating the table
	op       string
	params   map[string]any
	metrics  map[string]any
	metadata *Metadata // a new metaData action (create, schema change)
	protocol *Protocol // a new protocol action
	adds     []*Add
	removes  []*Remove
	cdcs     []*CDC
	appTxn   *Txn
	// conflict detection: what the operation read
	blind    bool             // a blind append reads nothing and never conflicts with data changes
	readAll  bool             // read the whole table (overwrite, unfiltered delete)
	readPred *predicate.Bound // else: read the files this predicate may match
	readKeys map[string]bool  // file keys the operation read or rewrote
}

// maxCommitAttempts bounds how many later versions one commit tries after losing races.
const maxCommitAttempts = 1000

// commit writes the next version with put-if-absent. It returns the committed
// version, a *ConflictError when a concurrent commit invalidates this one, or
// another error. A commit whose outcome was lost (a storage error after the
// write) is recognised by its txnId on re-read, so it is never written twice.
func (tx *transaction) commit(ctx context.Context) (int64, error) {
	prevTS := time.Time{}
	if tx.read != nil {
		prevTS = tx.read.ts
	}
	return tx.commitAt(ctx, tx.read.version+1, prevTS)
}

func (tx *transaction) commitAt(ctx context.Context, version int64, prevTS time.Time) (int64, error) {
	txnID := uuid.NewString()
	for attempt := 0; attempt < maxCommitAttempts; attempt++ {
		body, ts, err := tx.encode(version, txnID, prevTS)
		if err != nil {
			return 0, err
		}
		key := logDir + fmt.Sprintf("%020d.json", version)
		err = tx.t.bucket.PutIfAbsent(ctx, key, body)
		if err == nil {
			tx.afterCommit(ctx, version)
			return version, nil
		}
		if !errors.Is(err, blob.ErrExist) {
			// the outcome is unknown: look for our own commit before giving up
			if winner, rerr := tx.t.readCommit(ctx, version); rerr == nil && winner.txnID() == txnID {
				tx.afterCommit(ctx, version)
				return version, nil
			}
			return 0, fmt.Errorf("%s: commit version %d: %w", tx.t.location, version, err)
		}
		winner, err := tx.t.readCommit(ctx, version)
		if err != nil {
			return 0, fmt.Errorf("%s: read concurrent commit %d: %w", tx.t.location, version, err)
		}
		if winner.txnID() == txnID {
			tx.afterCommit(ctx, version)
			return version, nil
		}
		if tx.read == nil {
			return 0, fmt.Errorf("%w: version %d", blob.ErrExist, version)
		}
		if err := tx.checkConflict(winner, version); err != nil {
			return 0, err
		}
		if winner.ts.After(prevTS) {
			prevTS = winner.ts
		} else if ts.After(prevTS) {
			prevTS = ts
		}
		version++
	}
	return 0, fmt.Errorf("%s: gave up after %d concurrent commits", tx.t.location, maxCommitAttempts)
}

// encode renders the commit file: commitInfo first (required for in-commit
// timestamps), then protocol, metaData, txn, removes, adds and cdc actions.
func (tx *transaction) encode(version int64, txnID string, prevTS time.Time) ([]byte, time.Time, error) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	ci := map[string]any{"timestamp": now.UnixMilli(), "operation": tx.op, "operationParameters": tx.params,
		"isBlindAppend": tx.blind, "txnId": txnID, "engineInfo": "Lakeport"}
	if tx.read != nil {
		ci["readVersion"] = tx.read.version
		ci["isolationLevel"] = "WriteSerializable"
	}
	if tx.metrics != nil {
		ci["operationMetrics"] = tx.metrics
	}
	if tx.ictEnabled() {
		ict := now
		if !ict.After(prevTS) {
			ict = prevTS.Add(time.Millisecond)
		}
		ci["inCommitTimestamp"] = ict.UnixMilli()
		now = ict
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	put := func(a Action) error { return enc.Encode(a) }
	if err := enc.Encode(map[string]any{"commitInfo": ci}); err != nil {
		return nil, now, err
	}
	if tx.protocol != nil {
		put(Action{Protocol: tx.protocol})
	}
	if tx.metadata != nil {
		put(Action{Metadata: tx.metadata})
	}
	if tx.appTxn != nil {
		t := *tx.appTxn
		lu := now.UnixMilli()
		t.LastUpdated = &lu
		put(Action{Txn: &t})
	}
	for _, r := range tx.removes {
		rr := *r
		ts := now.UnixMilli()
		rr.DeletionTimestamp = &ts
		put(Action{Remove: &rr})
	}
	for _, a := range tx.adds {
		put(Action{Add: a})
	}
	for _, c := range tx.cdcs {
		if err := put(Action{CDC: c}); err != nil {
			return nil, now, err
		}
	}
	return buf.Bytes(), now, nil
}

func (tx *transaction) ictEnabled() bool {
	md := tx.metadata
	if md == nil && tx.read != nil {
		md = tx.read.metadata
	}
	return md != nil && md.Configuration["delta.enableInCommitTimestamps"] == "true"
}

// committed is a commit read back from the log.
type committed struct {
	actions []Action
	ts      time.Time
}

func (c *committed) txnID() string {
	for _, a := range c.actions {
		if a.CommitInfo != nil {
			return a.CommitInfo.TxnID
		}
	}
	return ""
}

func (t *Table) readCommit(ctx context.Context, version int64) (*committed, error) {
	key := logDir + fmt.Sprintf("%020d.json", version)
	b, err := t.bucket.ReadAll(ctx, key)
	if err != nil {
		return nil, err
	}
	actions, err := ParseActions(bytes.NewReader(b))
	if err != nil {
		return nil, &CorruptLogError{Table: t.location, Reason: fmt.Sprintf("commit %d: %v", version, err)}
	}
	c := &committed{actions: actions}
	for _, a := range actions {
		if a.CommitInfo != nil {
			c.ts = commitTime(a.CommitInfo, time.Time{}, true)
		}
	}
	return c, nil
}

// checkConflict applies the Delta conflict rules (WriteSerializable) to a
// commit that won the version this transaction wanted.
func (tx *transaction) checkConflict(w *committed, version int64) error {
	conflict := func(reason string) error {
		return &ConflictError{Table: tx.t.location, Version: version, Reason: reason}
	}
	for _, a := range w.actions {
		switch {
		case a.Metadata != nil:
			return conflict("it changed the table metadata")
		case a.Protocol != nil:
			return conflict("it changed the protocol")
		case a.Txn != nil && tx.appTxn != nil && a.Txn.AppID == tx.appTxn.AppID:
			return conflict(fmt.Sprintf("it committed for the same application %q", a.Txn.AppID))
		}
	}
	ours := map[string]bool{}
	for _, r := range tx.removes {
		ours[tx.t.fileKey(r.Path, dvID(r.DeletionVector))] = true
	}
	for _, a := range w.actions {
		if a.Remove != nil {
			k := tx.t.fileKey(a.Remove.Path, dvID(a.Remove.DeletionVector))
			if ours[k] {
				return conflict(fmt.Sprintf("it also removed %s", a.Remove.Path))
			}
			if tx.readKeys[k] {
				return conflict(fmt.Sprintf("it removed %s, which this operation read", a.Remove.Path))
			}
		}
	}
	if tx.blind {
		return nil
	}
	for _, a := range w.actions {
		if a.Add == nil || !a.Add.DataChange {
			continue
		}
		if tx.readAll {
			return conflict(fmt.Sprintf("it added %s to data this operation read", a.Add.Path))
		}
		if tx.readPred != nil && tx.read != nil && tx.readPred.MayMatch(newFileStats(tx.read, a.Add)) {
			return conflict(fmt.Sprintf("it added %s, which may hold rows this operation's condition matches", a.Add.Path))
		}
	}
	return nil
}

// afterCommit writes a checkpoint every delta.checkpointInterval commits. A
// failed checkpoint does not fail the commit: readers replay the log instead.
func (tx *transaction) afterCommit(ctx context.Context, version int64) {
	md := tx.metadata
	if md == nil && tx.read != nil {
		md = tx.read.metadata
	}
	interval := int64(10)
	if md != nil {
		if v, err := strconv.ParseInt(md.Configuration["delta.checkpointInterval"], 10, 64); err == nil && v > 0 {
			interval = v
		}
	}
	if version > 0 && version%interval == 0 {
		if snap, err := tx.t.snapshot(ctx, AtVersion(version)); err == nil {
			_ = tx.t.writeCheckpoint(ctx, snap)
		}
	}
}

// retry runs an operation until it commits, re-reading the table after each
// conflict with a jittered backoff.
func (t *Table) retry(ctx context.Context, attempts int, run func(snap *Snapshot) (*CommitResult, error)) (*CommitResult, error) {
	var last error
	for i := 0; i < attempts; i++ {
		snap, err := t.snapshot(ctx, Latest())
		if err != nil {
			return nil, err
		}
		if err := checkWritable(snap.protocol, snap.schema); err != nil {
			return nil, fmt.Errorf("%s: %w", t.location, err)
		}
		res, err := run(snap)
		var ce *ConflictError
		if !errors.As(err, &ce) {
			if res != nil {
				res.Attempts = i + 1
			}
			return res, err
		}
		last = err
		backoff := time.Duration(1<<min(i, 6)) * 5 * time.Millisecond
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(backoff/2 + rand.N(backoff)):
		}
	}
	return nil, fmt.Errorf("%w (after %d attempts)", last, attempts)
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
