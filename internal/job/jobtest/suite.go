package jobtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/job"
)

// NewDB makes a fresh, empty database for one test and returns a function
// opening a handle to it; the suite closes the handles it opens. Two
// handles of one database must behave like two processes sharing it.
type NewDB func(t *testing.T) (open func(t *testing.T) job.Store)

// RunStore is the conformance suite of job.Store.
func RunStore(t *testing.T, newDB NewDB) {
	handle := func(t *testing.T, open func(t *testing.T) job.Store) job.Store {
		s := open(t)
		t.Cleanup(func() { s.Close() })
		return s
	}
	one := func(t *testing.T) job.Store { return handle(t, newDB(t)) }
	two := func(t *testing.T) (job.Store, job.Store) {
		open := newDB(t)
		return handle(t, open), handle(t, open)
	}
	t.Run("Definitions", func(t *testing.T) { testDefinitions(t, one(t)) })
	t.Run("Runs", func(t *testing.T) { testRuns(t, one(t)) })
	t.Run("RunsPaging", func(t *testing.T) { testRunsPaging(t, one(t)) })
	t.Run("LastScheduled", func(t *testing.T) { testLastScheduled(t, one(t)) })
	t.Run("Checkpoints", func(t *testing.T) { testCheckpoints(t, one(t)) })
	t.Run("Leases", func(t *testing.T) { testLeases(t, one(t)) })
	t.Run("Reopen", func(t *testing.T) {
		open := newDB(t)
		a := open(t)
		ctx := context.Background()
		if _, err := a.StartRun(ctx, job.RunRecord{Job: "j", Kind: "k", Start: t0}); err != nil {
			t.Fatal(err)
		}
		if err := a.SetCheckpoint(ctx, "j", "w", "", "1"); err != nil {
			t.Fatal(err)
		}
		a.Close()
		b := handle(t, open)
		runs, err := b.Runs(ctx, "j", 0, 10)
		if err != nil || len(runs) != 1 {
			t.Fatalf("after reopen: runs = %v, %v", runs, err)
		}
		if v, _ := b.Checkpoint(ctx, "j", "w"); v != "1" {
			t.Fatalf("after reopen: checkpoint = %q", v)
		}
	})
	t.Run("LeaseRace", func(t *testing.T) { a, b := two(t); testLeaseRace(t, a, b) })
	t.Run("MutualExclusion", func(t *testing.T) { a, b := two(t); testMutualExclusion(t, a, b) })
	t.Run("SeqRace", func(t *testing.T) { a, b := two(t); testSeqRace(t, a, b) })
	t.Run("CheckpointRace", func(t *testing.T) { a, b := two(t); testCheckpointRace(t, a, b) })
}

// t0 is a fixed time with microseconds (what stores keep).
var t0 = time.Date(2025, 3, 30, 0, 59, 58, 123456000, time.UTC)

func testDefinitions(t *testing.T, s job.Store) {
	ctx := context.Background()
	body := func(v string) json.RawMessage { return json.RawMessage(`{"v":"` + v + `"}`) }
	ch, err := s.SyncDefinitions(ctx, job.DefJob, []job.Definition{{Name: "b", Body: body("1")}, {Name: "a", Body: body("1")}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	want := []job.DefinitionChange{{Name: "a", Change: "created"}, {Name: "b", Change: "created"}}
	if fmt.Sprint(ch) != fmt.Sprint(want) {
		t.Fatalf("first sync: %v, want %v", ch, want)
	}
	if _, err := s.SyncDefinitions(ctx, job.DefConnection, []job.Definition{{Name: "a", Body: body("c")}}, t0); err != nil {
		t.Fatal(err)
	}
	t1 := t0.Add(time.Hour)
	ch, err = s.SyncDefinitions(ctx, job.DefJob, []job.Definition{{Name: "a", Body: body("1")}, {Name: "b", Body: body("2")}, {Name: "c", Body: body("1")}}, t1)
	if err != nil {
		t.Fatal(err)
	}
	want = []job.DefinitionChange{{Name: "b", Change: "changed"}, {Name: "c", Change: "created"}}
	if fmt.Sprint(ch) != fmt.Sprint(want) {
		t.Fatalf("second sync: %v, want %v", ch, want)
	}
	defs, err := s.Definitions(ctx, job.DefJob)
	if err != nil {
		t.Fatal(err)
	}
	if len(defs) != 3 || defs[0].Name != "a" || defs[1].Name != "b" || defs[2].Name != "c" {
		t.Fatalf("definitions = %v", defs)
	}
	b := defs[1]
	if !b.Created.Equal(t0) || !b.Updated.Equal(t1) || string(b.Body) != `{"v":"2"}` {
		t.Errorf("changed definition: created %v updated %v body %s; want created %v updated %v", b.Created, b.Updated, b.Body, t0, t1)
	}
	ch, err = s.SyncDefinitions(ctx, job.DefJob, []job.Definition{{Name: "c", Body: body("1")}}, t1)
	if err != nil {
		t.Fatal(err)
	}
	want = []job.DefinitionChange{{Name: "a", Change: "deleted"}, {Name: "b", Change: "deleted"}}
	if fmt.Sprint(ch) != fmt.Sprint(want) {
		t.Fatalf("third sync: %v, want %v", ch, want)
	}
	conns, err := s.Definitions(ctx, job.DefConnection)
	if err != nil || len(conns) != 1 || conns[0].Name != "a" {
		t.Fatalf("connections untouched by job sync: %v, %v", conns, err)
	}
	if ch, err := s.SyncDefinitions(ctx, job.DefJob, []job.Definition{{Name: "c", Body: body("1")}}, t1); err != nil || len(ch) != 0 {
		t.Fatalf("unchanged sync: %v, %v", ch, err)
	}
	if _, err := s.SyncDefinitions(ctx, job.DefJob, []job.Definition{{Name: "x", Body: body("1")}, {Name: "x", Body: body("2")}}, t1); !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("duplicate names: %v, want invalid", err)
	}
}

func testRuns(t *testing.T, s job.Store) {
	ctx := context.Background()
	r1, err := s.StartRun(ctx, job.RunRecord{Job: "j", Kind: "import.table", Start: t0, Owner: "me"})
	if err != nil {
		t.Fatal(err)
	}
	if r1.Seq != 1 || r1.Status != job.StatusRunning {
		t.Fatalf("first run: seq %d status %s", r1.Seq, r1.Status)
	}
	if other, err := s.StartRun(ctx, job.RunRecord{Job: "other", Kind: "k", Start: t0}); err != nil || other.Seq != 1 {
		t.Fatalf("sequences are per job: %v, %v", other.Seq, err)
	}
	r1.End, r1.Status, r1.Rows, r1.Bytes, r1.Attempts = t0.Add(90*time.Second), job.StatusFailed, 10, 2000, 3
	r1.Error, r1.ErrorKind = "boom: table gone", errs.Invalid
	r1.Notes = map[string]any{"null_timestamps": 4.0, "version": "17"}
	if err := s.FinishRun(ctx, r1); err != nil {
		t.Fatal(err)
	}
	r2, err := s.StartRun(ctx, job.RunRecord{Job: "j", Kind: "import.table", Start: t0.Add(time.Hour), Scheduled: t0.Add(time.Hour)})
	if err != nil || r2.Seq != 2 {
		t.Fatalf("second run: %d, %v", r2.Seq, err)
	}
	runs, err := s.Runs(ctx, "j", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].Seq != 2 || runs[1].Seq != 1 {
		t.Fatalf("runs = %+v", runs)
	}
	got := runs[1]
	if !got.Start.Equal(t0) || !got.End.Equal(t0.Add(90*time.Second)) || got.Status != job.StatusFailed ||
		got.Rows != 10 || got.Bytes != 2000 || got.Attempts != 3 || got.Error != "boom: table gone" ||
		got.ErrorKind != errs.Invalid || got.Kind != "import.table" || got.Owner != "me" ||
		got.Notes["null_timestamps"] != 4.0 || got.Notes["version"] != "17" || !got.Scheduled.IsZero() {
		t.Errorf("stored run = %+v", got)
	}
	if got.Duration() != 90*time.Second {
		t.Errorf("duration = %v", got.Duration())
	}
	if !runs[0].Scheduled.Equal(t0.Add(time.Hour)) || !runs[0].End.IsZero() || runs[0].Status != job.StatusRunning {
		t.Errorf("running run = %+v", runs[0])
	}
	// A new run finds the old one still running: its process died.
	r3, err := s.StartRun(ctx, job.RunRecord{Job: "j", Kind: "import.table", Start: t0.Add(2 * time.Hour)})
	if err != nil || r3.Seq != 3 {
		t.Fatalf("third run: %d, %v", r3.Seq, err)
	}
	runs, _ = s.Runs(ctx, "j", 0, 10)
	if runs[1].Status != job.StatusAbandoned || !runs[1].End.Equal(t0.Add(2*time.Hour)) || runs[1].Error == "" {
		t.Errorf("abandoned run = %+v", runs[1])
	}
	if runs[2].Status != job.StatusFailed {
		t.Errorf("finished runs stay as they are: %+v", runs[2])
	}
	if err := s.FinishRun(ctx, job.RunRecord{Job: "j", Seq: 99, Status: job.StatusSucceeded}); err == nil {
		t.Error("FinishRun of an unknown run: no error")
	}
	if runs, err := s.Runs(ctx, "nobody", 0, 10); err != nil || len(runs) != 0 {
		t.Errorf("runs of an unknown job: %v, %v", runs, err)
	}
}

func testRunsPaging(t *testing.T, s job.Store) {
	ctx := context.Background()
	for i := 0; i < 25; i++ {
		if _, err := s.StartRun(ctx, job.RunRecord{Job: "j", Kind: "k", Start: t0.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	var seqs []int64
	var before int64
	for {
		page, err := s.Runs(ctx, "j", before, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			seqs = append(seqs, r.Seq)
		}
		before = page[len(page)-1].Seq
	}
	if len(seqs) != 25 || seqs[0] != 25 || seqs[24] != 1 {
		t.Fatalf("paged seqs = %v", seqs)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]-1 {
			t.Fatalf("paged seqs not descending by one: %v", seqs)
		}
	}
}

func testLastScheduled(t *testing.T, s job.Store) {
	ctx := context.Background()
	if last, err := s.LastScheduled(ctx, "j"); err != nil || !last.IsZero() {
		t.Fatalf("no runs: %v, %v", last, err)
	}
	finish := func(slot time.Time, st job.Status) {
		r, err := s.StartRun(ctx, job.RunRecord{Job: "j", Kind: "k", Start: slot, Scheduled: slot})
		if err != nil {
			t.Fatal(err)
		}
		if st == job.StatusRunning {
			return
		}
		r.Status, r.End = st, slot.Add(time.Second)
		if err := s.FinishRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	finish(t0, job.StatusSucceeded)
	finish(t0.Add(time.Hour), job.StatusFailed)
	finish(t0.Add(2*time.Hour), job.StatusCanceled)
	finish(t0.Add(3*time.Hour), job.StatusRunning)
	if _, err := s.StartRun(ctx, job.RunRecord{Job: "j", Kind: "k", Start: t0.Add(4 * time.Hour)}); err != nil { // on demand
		t.Fatal(err)
	}
	last, err := s.LastScheduled(ctx, "j")
	if err != nil || !last.Equal(t0.Add(time.Hour)) {
		t.Errorf("last scheduled = %v, %v; want %v (canceled, abandoned and on-demand runs do not count)", last, err, t0.Add(time.Hour))
	}
}

func testCheckpoints(t *testing.T, s job.Store) {
	ctx := context.Background()
	get := func(job, key string) string {
		t.Helper()
		v, err := s.Checkpoint(ctx, job, key)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := get("j", "watermark"); v != "" {
		t.Fatalf("empty store: %q", v)
	}
	if err := s.SetCheckpoint(ctx, "j", "watermark", "", "10"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCheckpoint(ctx, "j", "watermark", "", "11"); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("create over an existing value: %v, want conflict", err)
	}
	if err := s.SetCheckpoint(ctx, "j", "watermark", "9", "11"); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("wrong prev: %v, want conflict", err)
	}
	if errs.Classify(s.SetCheckpoint(ctx, "j", "watermark", "9", "11")) != errs.Conflict {
		t.Fatal("checkpoint conflicts classify as errs.Conflict")
	}
	if v := get("j", "watermark"); v != "10" {
		t.Fatalf("after conflicts: %q", v)
	}
	if err := s.SetCheckpoint(ctx, "j", "watermark", "10", "11"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCheckpoint(ctx, "j", "version", "", "3"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCheckpoint(ctx, "other", "watermark", "", "x"); err != nil {
		t.Fatal(err)
	}
	all, err := s.Checkpoints(ctx, "j")
	if err != nil || len(all) != 2 || all["watermark"] != "11" || all["version"] != "3" {
		t.Fatalf("all = %v, %v", all, err)
	}
	if err := s.SetCheckpoint(ctx, "j", "version", "3", ""); err != nil {
		t.Fatal(err)
	}
	if v := get("j", "version"); v != "" {
		t.Fatalf("deleted: %q", v)
	}
	if err := s.SetCheckpoint(ctx, "j", "version", "", ""); err != nil {
		t.Fatalf("none to none: %v", err)
	}
	if err := s.SetCheckpoint(ctx, "j", "watermark", "", ""); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("none to none over a value: %v", err)
	}
	big := make([]byte, 100_000)
	for i := range big {
		big[i] = 'a' + byte(i%26)
	}
	if err := s.SetCheckpoint(ctx, "j", "big", "", string(big)); err != nil {
		t.Fatal(err)
	}
	if v := get("j", "big"); v != string(big) {
		t.Fatal("large checkpoint value did not round-trip")
	}
}

func testLeases(t *testing.T, s job.Store) {
	ctx := context.Background()
	ttl := time.Minute
	l, err := s.AcquireLease(ctx, "j", "a", t0, ttl)
	if err != nil {
		t.Fatal(err)
	}
	if l.Owner != "a" || !l.Expires.Equal(t0.Add(ttl)) {
		t.Fatalf("lease = %+v", l)
	}
	_, err = s.AcquireLease(ctx, "j", "b", t0.Add(30*time.Second), ttl)
	var held *job.LeaseHeldError
	if !errors.As(err, &held) || held.Owner != "a" || !held.Expires.Equal(t0.Add(ttl)) || !errors.Is(err, job.ErrLeaseHeld) {
		t.Fatalf("second owner: %v, want held by a", err)
	}
	if _, err := s.AcquireLease(ctx, "other", "b", t0, ttl); err != nil {
		t.Fatalf("leases are per job: %v", err)
	}
	if _, err := s.AcquireLease(ctx, "j", "a", t0.Add(10*time.Second), ttl); err != nil {
		t.Fatalf("owner re-acquires: %v", err)
	}
	if l, err := s.RenewLease(ctx, "j", "a", t0.Add(50*time.Second), ttl); err != nil || !l.Expires.Equal(t0.Add(110*time.Second)) {
		t.Fatalf("renew: %+v, %v", l, err)
	}
	if _, err := s.AcquireLease(ctx, "j", "b", t0.Add(100*time.Second), ttl); err == nil {
		t.Fatal("renewed lease taken before expiry")
	}
	// Expired: b takes it; a's renewal fails.
	if _, err := s.AcquireLease(ctx, "j", "b", t0.Add(110*time.Second), ttl); err != nil {
		t.Fatalf("expired lease not taken: %v", err)
	}
	if _, err := s.RenewLease(ctx, "j", "a", t0.Add(111*time.Second), ttl); !errors.Is(err, job.ErrLeaseLost) {
		t.Fatalf("renew after takeover: %v, want lease lost", err)
	}
	if err := s.ReleaseLease(ctx, "j", "a"); err != nil {
		t.Fatalf("release by a non-owner: %v", err)
	}
	leases, err := s.Leases(ctx)
	if err != nil || len(leases) != 2 || leases[0].Job != "j" || leases[0].Owner != "b" || leases[1].Job != "other" {
		t.Fatalf("leases = %+v, %v", leases, err)
	}
	if err := s.ReleaseLease(ctx, "j", "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RenewLease(ctx, "j", "b", t0.Add(112*time.Second), ttl); !errors.Is(err, job.ErrLeaseLost) {
		t.Fatalf("renew after release: %v", err)
	}
	if _, err := s.AcquireLease(ctx, "j", "c", t0.Add(112*time.Second), ttl); err != nil {
		t.Fatalf("after release: %v", err)
	}
	// An expired lease nobody took can still be renewed by its owner.
	if _, err := s.RenewLease(ctx, "j", "c", t0.Add(time.Hour), ttl); err != nil {
		t.Fatalf("renew of an expired, untaken lease: %v", err)
	}
	if _, err := s.AcquireLease(ctx, "j", "", t0, ttl); err == nil {
		t.Error("empty owner accepted")
	}
}

// testLeaseRace: many contenders on two handles at the same instant;
// exactly one wins.
func testLeaseRace(t *testing.T, a, b job.Store) {
	ctx := context.Background()
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []string
	var others []error
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func(owner string) {
			defer wg.Done()
			_, err := s.AcquireLease(ctx, "j", owner, t0, time.Minute)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				winners = append(winners, owner)
			} else {
				others = append(others, err)
			}
		}(fmt.Sprintf("owner-%d", i))
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("winners = %v (errors %v)", winners, others)
	}
	for _, err := range others {
		var held *job.LeaseHeldError
		if !errors.As(err, &held) || held.Owner != winners[0] {
			t.Errorf("loser error = %v, want held by %s", err, winners[0])
		}
	}
}

// testMutualExclusion: contenders loop acquire / critical section /
// release; the critical section is entered by compare-and-set of a
// checkpoint from "" to the owner, which fails if someone else is inside.
func testMutualExclusion(t *testing.T, a, b job.Store) {
	ctx := context.Background()
	const workers, rounds = 6, 15
	var wg sync.WaitGroup
	var mu sync.Mutex
	entered := 0
	var violations []string
	for i := range workers {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func(owner string) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				if _, err := s.AcquireLease(ctx, "j", owner, t0, time.Hour); err != nil {
					if !errors.Is(err, job.ErrLeaseHeld) {
						t.Error(err)
						return
					}
					continue
				}
				if err := s.SetCheckpoint(ctx, "j", "inside", "", owner); err != nil {
					mu.Lock()
					violations = append(violations, fmt.Sprintf("%s entered while another was inside: %v", owner, err))
					mu.Unlock()
				} else {
					mu.Lock()
					entered++
					mu.Unlock()
					if err := s.SetCheckpoint(ctx, "j", "inside", owner, ""); err != nil {
						t.Error(err)
					}
				}
				if err := s.ReleaseLease(ctx, "j", owner); err != nil {
					t.Error(err)
				}
			}
		}(fmt.Sprintf("w%d", i))
	}
	wg.Wait()
	if len(violations) > 0 {
		t.Fatalf("mutual exclusion violated: %v", violations)
	}
	if entered == 0 {
		t.Fatal("nobody ever got the lease")
	}
}

func testSeqRace(t *testing.T, a, b job.Store) {
	ctx := context.Background()
	const n = 20
	var wg sync.WaitGroup
	seqs := make([]int64, n)
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.StartRun(ctx, job.RunRecord{Job: "j", Kind: "k", Start: t0})
			if err != nil {
				t.Error(err)
				return
			}
			seqs[i] = r.Seq
		}()
	}
	wg.Wait()
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("concurrent StartRun seqs = %v, want 1..%d", seqs, n)
		}
	}
}

func testCheckpointRace(t *testing.T, a, b job.Store) {
	ctx := context.Background()
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.SetCheckpoint(ctx, "j", "w", "", fmt.Sprint(i))
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, errs.ErrConflict) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d compare-and-sets from none won, want 1", wins)
	}
}
