package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/lakeport/lakeport/internal/platform"
)

// Write implements platform.Store.Write.
func (s *Store) Write(ctx context.Context, b platform.Batch) (platform.WriteResult, error) {
	appends, err := validateAppends(b.Appends)
	if err != nil {
		return platform.WriteResult{}, err
	}
	if c := b.Checkpoint; c != nil && c.Key == "" {
		return platform.WriteResult{}, platform.Invalidf("checkpoint key is empty")
	}
	var res platform.WriteResult
	err = s.inTx(ctx, func(tx Tx) error {
		res = platform.WriteResult{}
		now := platform.Now()
		var metrics []platform.Metric
		// Streams are locked in name order, so batches naming the same
		// streams in another order cannot deadlock.
		order := make([]int, len(appends))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(i, j int) bool { return appends[order[i]].Stream < appends[order[j]].Stream })
		res.Appended = make([]platform.AppendResult, len(appends))
		for _, i := range order {
			a := appends[i]
			if len(a.Events) == 0 {
				res.Appended[i] = platform.AppendResult{Stream: a.Stream}
				continue
			}
			r, err := tx.Append(ctx, a.Stream, a.Events, now)
			if err != nil {
				return fmt.Errorf("append to stream %q: %w", a.Stream, err)
			}
			res.Appended[i] = r
			metrics = append(metrics, platform.Metric{Dimension: platform.DimensionStream, DimensionID: a.Stream,
				Type: platform.MetricEvents, Timestamp: r.ReceiveTS, Value: float64(r.Count)})
		}
		var changed known
		if len(b.Upserts) > 0 || len(b.Deletes) > 0 {
			var err error
			res.Upserted, res.Deleted, changed, err = s.writeProfiles(ctx, tx, b.Upserts, b.Deletes, now)
			if err != nil {
				return err
			}
		}
		if c := b.Checkpoint; c != nil {
			ok, cur, err := tx.SetCheckpoint(ctx, c.Key, c.Prev, c.Next)
			if err != nil {
				return err
			}
			if !ok {
				return &platform.ConflictError{What: "checkpoint", Key: c.Key,
					Reason: fmt.Sprintf("stored value is %q, expected %q", cur, c.Prev)}
			}
		}
		if len(changed) > 0 && !s.opts.DeferAudienceRefresh {
			stats, m, err := s.refresh(ctx, tx, now, changed)
			if err != nil {
				return err
			}
			res.Audiences = stats
			metrics = append(metrics, m...)
		}
		if len(metrics) > 0 {
			return tx.InsertMetrics(ctx, metrics)
		}
		return nil
	})
	if err != nil {
		return platform.WriteResult{}, err
	}
	return res, nil
}

// validateAppends checks stream names and every event, and returns the
// appends with each event's time settled: a zero EventTS takes the data's
// event_ts (or stays zero: the receive time), others are UTC microseconds.
// The caller's slices are not modified.
func validateAppends(appends []platform.Append) ([]platform.Append, error) {
	appends = slices.Clone(appends)
	for ai := range appends {
		a := &appends[ai]
		if err := platform.ValidateStreamName(a.Stream); err != nil {
			return nil, err
		}
		schema := platform.HasSchema(a.Stream)
		copied := false
		for i, e := range a.Events {
			var ts time.Time
			var err error
			if !e.Checked() {
				ts, err = platform.ValidateEvent(e.Data)
			}
			if err == nil && schema {
				ts, err = platform.ValidateSchemaEvent(a.Stream, e.Data)
			}
			if err != nil {
				return nil, fmt.Errorf("stream %q event %d: %w", a.Stream, i+1, err)
			}
			if !e.EventTS.IsZero() {
				ts = e.EventTS.UTC().Truncate(time.Microsecond)
			}
			if ts != e.EventTS {
				if !copied {
					a.Events, copied = slices.Clone(a.Events), true
				}
				a.Events[i].EventTS = ts
			}
		}
	}
	return appends, nil
}

// itoa formats an int64 for notes and related subjects.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }
