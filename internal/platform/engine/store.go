package engine

import (
	"context"
	"fmt"
	"sync"

	"github.com/lakeport/lakeport/internal/platform"
)

// Store implements platform.Store over a Driver.
type Store struct {
	d    Driver
	opts platform.Options

	mu   sync.Mutex
	defs map[defKey]*platform.Definition // compiled audience definitions
}

type defKey struct{ id, version int64 }

var _ platform.Store = (*Store)(nil)

// New returns a Store over d. The Store owns d: Close closes it.
func New(d Driver, opts platform.Options) *Store {
	return &Store{d: d, opts: opts, defs: map[defKey]*platform.Definition{}}
}

// Close closes the driver.
func (s *Store) Close() error { return s.d.Close() }

// page clamps a page size: 0 or less (and anything over platform.MaxPage)
// means platform.MaxPage.
func page(limit int) int {
	if limit <= 0 || limit > platform.MaxPage {
		return platform.MaxPage
	}
	return limit
}

// inTx runs fn in a write transaction and commits if it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx Tx) error) error {
	tx, err := s.d.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *Store) Checkpoint(ctx context.Context, key string) (string, error) {
	if key == "" {
		return "", platform.Invalidf("checkpoint key is empty")
	}
	return s.d.Checkpoint(ctx, key)
}

func (s *Store) Streams(ctx context.Context) ([]platform.StreamInfo, error) {
	return s.d.Streams(ctx)
}

func (s *Store) ReadStream(ctx context.Context, stream string, after platform.Cursor, limit int) ([]platform.Event, error) {
	if err := platform.ValidateStreamName(stream); err != nil {
		return nil, err
	}
	return s.d.ReadStream(ctx, stream, after, page(limit))
}

// ReadStreamBlock implements platform.Store.ReadStreamBlock: natively
// when the driver is a BlockReader, else by paging through ReadStream.
func (s *Store) ReadStreamBlock(ctx context.Context, stream string, after platform.Cursor, limit int, b *platform.EventBlock) (int, error) {
	if err := platform.ValidateStreamName(stream); err != nil {
		return 0, err
	}
	if limit <= 0 {
		return 0, platform.Invalidf("read stream %s: limit %d, want at least 1", stream, limit)
	}
	if br, ok := s.d.(BlockReader); ok {
		return br.ReadStreamBlock(ctx, stream, after, limit, b)
	}
	n := 0
	for n < limit {
		want := min(limit-n, platform.MaxPage)
		page, err := s.d.ReadStream(ctx, stream, after, want)
		if err != nil {
			return n, err
		}
		for _, e := range page {
			b.Append(e)
			n++
			if b.Full() {
				return n, nil
			}
		}
		if len(page) < want {
			break
		}
		after = page[len(page)-1].Cursor()
	}
	return n, nil
}

func (s *Store) LastEvents(ctx context.Context, stream string, n int) ([]platform.Event, error) {
	if err := platform.ValidateStreamName(stream); err != nil {
		return nil, err
	}
	return s.d.LastEvents(ctx, stream, page(n))
}

func (s *Store) Fields(ctx context.Context) ([]platform.Field, error) {
	return s.d.Fields(ctx)
}

func (s *Store) DefineField(ctx context.Context, f platform.Field) error {
	if err := f.Validate(); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx Tx) error {
		fields, err := tx.Fields(ctx)
		if err != nil {
			return err
		}
		if old, ok := platform.NewRegistry(fields)[f.Name]; ok {
			if old == f {
				return nil
			}
			return &platform.ConflictError{What: "field", Key: f.Name,
				Reason: fmt.Sprintf("already defined as %s (identifier: %v)", old.Type, old.Identifier)}
		}
		return tx.InsertField(ctx, f)
	})
}

func (s *Store) Profile(ctx context.Context, id platform.Identifier) (platform.Profile, error) {
	fields, err := s.d.Fields(ctx)
	if err != nil {
		return platform.Profile{}, err
	}
	n, err := platform.NewRegistry(fields).NormalizeIdentifier(id)
	if err != nil {
		return platform.Profile{}, err
	}
	p, err := s.d.ProfileByIdentifier(ctx, n)
	if err != nil {
		return platform.Profile{}, err
	}
	if p == nil {
		return platform.Profile{}, &platform.NotFoundError{What: "profile", Key: n.String()}
	}
	return *p, nil
}

func (s *Store) Profiles(ctx context.Context, afterID int64, limit int) ([]platform.Profile, error) {
	return s.d.Profiles(ctx, afterID, page(limit))
}

func (s *Store) Audiences(ctx context.Context) ([]platform.Audience, error) {
	return s.d.Audiences(ctx)
}

func (s *Store) Audience(ctx context.Context, slug string) (platform.Audience, error) {
	if err := platform.ValidateSlug(slug); err != nil {
		return platform.Audience{}, err
	}
	all, err := s.d.Audiences(ctx)
	if err != nil {
		return platform.Audience{}, err
	}
	for _, a := range all {
		if a.Slug == slug {
			return a, nil
		}
	}
	return platform.Audience{}, &platform.NotFoundError{What: "audience", Key: slug}
}

func (s *Store) Members(ctx context.Context, slug string, afterProfileID int64, limit int) ([]platform.Member, error) {
	a, err := s.Audience(ctx, slug)
	if err != nil {
		return nil, err
	}
	return s.d.Members(ctx, a.ID, afterProfileID, page(limit))
}

func (s *Store) AudienceChanges(ctx context.Context, after platform.Cursor, limit int) ([]platform.AudienceChange, error) {
	return s.d.AudienceChanges(ctx, after, page(limit))
}

func (s *Store) RecordSystemEvent(ctx context.Context, e platform.SystemEvent) (platform.SystemEvent, error) {
	if err := e.Validate(); err != nil {
		return platform.SystemEvent{}, err
	}
	if e.AccountID == "" && e.UserID == "" {
		a := platform.ActorFrom(ctx)
		e.AccountID, e.UserID = a.AccountID, a.UserID
	}
	var out []platform.SystemEvent
	err := s.inTx(ctx, func(tx Tx) error {
		var err error
		out, err = tx.AppendSystemEvents(ctx, []platform.SystemEvent{e}, platform.Now())
		return err
	})
	if err != nil {
		return platform.SystemEvent{}, err
	}
	return out[0], nil
}

func (s *Store) SystemEvents(ctx context.Context, after platform.Cursor, limit int) ([]platform.SystemEvent, error) {
	return s.d.SystemEvents(ctx, after, page(limit))
}

func (s *Store) RecordMetrics(ctx context.Context, points []platform.Metric) error {
	for i, m := range points {
		if err := m.Validate(); err != nil {
			return fmt.Errorf("metric %d: %w", i, err)
		}
	}
	if len(points) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx Tx) error { return tx.InsertMetrics(ctx, points) })
}

func (s *Store) Metrics(ctx context.Context, q platform.MetricQuery) ([]platform.Metric, error) {
	q.Limit = page(q.Limit)
	return s.d.Metrics(ctx, q)
}

// systemEvent fills in the actor of ctx.
func systemEvent(ctx context.Context, subjectType, subjectID, verb, notes string, related map[string]string) platform.SystemEvent {
	a := platform.ActorFrom(ctx)
	return platform.SystemEvent{AccountID: a.AccountID, UserID: a.UserID, SubjectType: subjectType,
		SubjectID: subjectID, Verb: verb, Notes: notes, Related: related}
}
