package platformtest

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/platform"
)

var streamTests = []test{
	{"Streams/AppendAndRead", testAppendAndRead},
	{"Streams/Paging", testPaging},
	{"Streams/BlockRead", testBlockRead},
	{"Streams/CursorFromTime", testCursorFromTime},
	{"Streams/List", testStreamList},
	{"Streams/UnknownStream", testUnknownStream},
	{"Streams/InvalidInput", testInvalidEvents},
	{"Streams/BatchIsAtomic", testBatchAtomic},
	{"Streams/NDJSON", testNDJSON},
	{"Streams/ConcurrentAppends", testConcurrentAppends},
	{"Streams/CursorNeverOvertaken", testCursorNeverOvertaken},
	{"Streams/SendsAndCopyVariants", testSends},
	{"Streams/VolumeMetric", testVolumeMetric},
}

func testAppendAndRead(t *testing.T, open Open) {
	s := fresh(t, open)
	evTS := time.Date(2024, 5, 1, 12, 0, 0, 123456000, time.UTC)
	explicit := time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)
	in := []platform.EventInput{
		{Data: json.RawMessage(`{"event":"a","n":1}`)},
		{Data: json.RawMessage(`{"event":"b","event_ts":"2024-05-01T14:00:00.123456+02:00","nested":{"event_ts":"x"}}`)},
		{Data: json.RawMessage(`{"event":"c",  "spacing" : [1, 2]}`), EventTS: explicit},
	}
	before := platform.Now()
	res := write(t, s, appendBatch("web", in...))
	after := platform.Now()
	if len(res.Appended) != 1 || res.Appended[0].FirstID != 1 || res.Appended[0].Count != 3 || res.Appended[0].Stream != "web" {
		t.Fatalf("Appended = %+v, want stream web ids 1..3", res.Appended)
	}
	rts := res.Appended[0].ReceiveTS
	if rts.Before(before) || rts.After(after) {
		t.Errorf("receive time %v not within [%v, %v]", rts, before, after)
	}
	got := readAll(t, s, "web", 0)
	if len(got) != 3 {
		t.Fatalf("read %d events, want 3", len(got))
	}
	for i, e := range got {
		if e.ID != int64(i+1) || e.Stream != "web" {
			t.Errorf("event %d: id %d stream %q", i, e.ID, e.Stream)
		}
		if !e.ReceiveTS.Equal(rts) {
			t.Errorf("event %d: receive time %v, want the batch's %v", i, e.ReceiveTS, rts)
		}
		if !bytes.Equal(e.Data, in[i].Data) {
			t.Errorf("event %d: data %s, want the bytes written %s", i, e.Data, in[i].Data)
		}
	}
	if !got[0].EventTS.Equal(rts) {
		t.Errorf("event without time: EventTS %v, want receive time %v", got[0].EventTS, rts)
	}
	if !got[1].EventTS.Equal(evTS) {
		t.Errorf("event with event_ts: EventTS %v, want %v", got[1].EventTS, evTS)
	}
	if !got[2].EventTS.Equal(explicit) {
		t.Errorf("event with explicit EventTS: %v, want %v", got[2].EventTS, explicit)
	}
	// A second write continues the sequence with a later or equal receive time.
	res2 := write(t, s, appendBatch("web", events(2, func(i int) json.RawMessage { return obj("i", i) })...))
	if res2.Appended[0].FirstID != 4 || res2.Appended[0].ReceiveTS.Before(rts) {
		t.Errorf("second append = %+v, want first id 4 at or after %v", res2.Appended[0], rts)
	}
}

func testPaging(t *testing.T, open Open) {
	s := fresh(t, open)
	total := 0
	for b := 0; b < 5; b++ {
		n := 1 + b*3
		write(t, s, appendBatch("clicks", events(n, func(i int) json.RawMessage { return obj("batch", b, "i", i) })...))
		total += n
	}
	write(t, s, appendBatch("other", events(3, func(i int) json.RawMessage { return obj("i", i) })...))
	for _, size := range []int{1, 2, 7, 100} {
		got := readAll(t, s, "clicks", size)
		if len(got) != total {
			t.Fatalf("page size %d: read %d events, want %d", size, len(got), total)
		}
		for i, e := range got {
			if e.ID != int64(i+1) {
				t.Fatalf("page size %d: event %d has id %d: not in order or not exactly once", size, i, e.ID)
			}
			if i > 0 && e.ReceiveTS.Before(got[i-1].ReceiveTS) {
				t.Fatalf("receive time goes back at id %d", e.ID)
			}
		}
	}
	// The newest events, oldest first.
	last, err := s.LastEvents(ctx, "clicks", 5)
	if err != nil || len(last) != 5 || last[0].ID != int64(total-4) || last[4].ID != int64(total) {
		t.Fatalf("LastEvents(5) = %d events from id %d, %v; want ids %d..%d", len(last), firstID(last), err, total-4, total)
	}
	if _, err := s.LastEvents(ctx, "nope", 5); !errorsIs(err, platform.ErrNotFound) {
		t.Fatalf("LastEvents of a missing stream: %v", err)
	}
	// A page never holds more than asked.
	page, err := s.ReadStream(ctx, "clicks", platform.Cursor{}, 4)
	if err != nil || len(page) != 4 {
		t.Fatalf("ReadStream limit 4 = %d events, %v", len(page), err)
	}
	// Reading after the last event returns nothing.
	all := readAll(t, s, "clicks", 0)
	rest, err := s.ReadStream(ctx, "clicks", all[len(all)-1].Cursor(), 10)
	if err != nil || len(rest) != 0 {
		t.Fatalf("read past the end = %d events, %v", len(rest), err)
	}
}

// testBlockRead: ReadStreamBlock reads what ReadStream reads, byte for
// byte and in the same order, appending to a block, from any cursor and
// with any limit (also past MaxPage).
func testBlockRead(t *testing.T, open Open) {
	s := fresh(t, open)
	want := 0
	for b := 0; b < 4; b++ {
		n := []int{1, 6, platform.MaxPage + 17, 2}[b]
		in := events(n, func(i int) json.RawMessage { return obj("batch", b, "i", i, "pad", strings.Repeat("é", i%7)) })
		if b == 1 {
			in[2].EventTS = time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC) // before the epoch
		}
		write(t, s, appendBatch("blocks", in...))
		want += n
	}
	write(t, s, appendBatch("other", events(3, func(i int) json.RawMessage { return obj("i", i) })...))
	all := readAll(t, s, "blocks", 0)
	if len(all) != want {
		t.Fatalf("ReadStream read %d events, want %d", len(all), want)
	}
	for _, limit := range []int{1, 5, platform.MaxPage, platform.MaxPage + 100, 3 * want} {
		var b platform.EventBlock
		var cur platform.Cursor
		from := 0 // small limits read the last events only (a call each)
		if limit < 10 {
			from = want - 40
			cur = all[from-1].Cursor()
		}
		calls := 0
		for {
			before := b.Len()
			n, err := s.ReadStreamBlock(ctx, "blocks", cur, limit, &b)
			if err != nil {
				t.Fatalf("limit %d: ReadStreamBlock: %v", limit, err)
			}
			if n != b.Len()-before || n > limit {
				t.Fatalf("limit %d: returned %d, block grew by %d", limit, n, b.Len()-before)
			}
			calls++
			if n < limit {
				break
			}
			if calls > want-from+1 {
				t.Fatalf("limit %d: %d calls and still reading (%d events): the cursor does not advance", limit, calls, b.Len())
			}
			cur = b.Cursor(b.Len() - 1)
		}
		if b.Len() != want-from {
			t.Fatalf("limit %d: read %d events in %d calls, want %d", limit, b.Len(), calls, want-from)
		}
		if len(b.DataOffsets) != b.Len()+1 || b.DataOffsets[0] != 0 || int(b.DataOffsets[b.Len()]) != len(b.Data) {
			t.Fatalf("limit %d: %d offsets from %d to %d over %d bytes", limit, len(b.DataOffsets), b.DataOffsets[0], b.DataOffsets[len(b.DataOffsets)-1], len(b.Data))
		}
		for i, e := range all[from:] {
			got := b.Event(i, "blocks")
			if got.ID != e.ID || !got.EventTS.Equal(e.EventTS) || !got.ReceiveTS.Equal(e.ReceiveTS) || !bytes.Equal(got.Data, e.Data) {
				t.Fatalf("limit %d: event %d = %+v, ReadStream has %+v", limit, i, got, e)
			}
			if b.Cursor(i) != e.Cursor() {
				t.Fatalf("limit %d: cursor of event %d = %v, want %v", limit, i, b.Cursor(i), e.Cursor())
			}
		}
	}
	// a byte budget: a read stops after the event that takes the block to
	// MaxData bytes of JSON, and the next read goes on from there
	tail := all[want-40:]
	small := platform.EventBlock{MaxData: 200}
	var got []platform.Event
	cur := all[want-41].Cursor()
	for calls := 0; len(got) < len(tail); calls++ {
		if calls > len(tail) {
			t.Fatalf("MaxData 200: %d calls for %d events", calls, len(got))
		}
		small.Reset()
		n, err := s.ReadStreamBlock(ctx, "blocks", cur, 1000, &small)
		if err != nil || n == 0 {
			t.Fatalf("MaxData 200: read %d events, %v", n, err)
		}
		if before := int(small.DataOffsets[n-1]); before >= 200 || n < 1000 && !small.Full() && len(got)+n < len(tail) {
			t.Fatalf("MaxData 200: %d events, %d bytes before the last: the budget was not kept", n, before)
		}
		for i := range n {
			got = append(got, small.Event(i, "blocks"))
		}
		cur = small.Cursor(n - 1)
	}
	for i, e := range tail {
		if got[i].ID != e.ID || !bytes.Equal(got[i].Data, e.Data) {
			t.Fatalf("MaxData 200: event %d = id %d, want id %d", i, got[i].ID, e.ID)
		}
	}

	// from the middle, and a block that already holds events keeps them
	b := platform.EventBlock{}
	b.Append(all[0])
	n, err := s.ReadStreamBlock(ctx, "blocks", all[9].Cursor(), 3, &b)
	if err != nil || n != 3 || b.Len() != 4 || b.ID[1] != all[10].ID || !bytes.Equal(b.EventData(0), all[0].Data) {
		t.Fatalf("read 3 after event 10 into a block of 1: n=%d len=%d ids %v, %v", n, b.Len(), b.ID, err)
	}
	b.Reset()
	if n, err := s.ReadStreamBlock(ctx, "blocks", all[len(all)-1].Cursor(), 10, &b); err != nil || n != 0 || b.Len() != 0 {
		t.Fatalf("read past the end = %d events, %v", n, err)
	}
	if _, err := s.ReadStreamBlock(ctx, "nope", platform.Cursor{}, 10, &b); !errorsIs(err, platform.ErrNotFound) {
		t.Fatalf("ReadStreamBlock of a missing stream: %v", err)
	}
	if _, err := s.ReadStreamBlock(ctx, "blocks", platform.Cursor{}, 0, &b); !errorsIs(err, platform.ErrInvalid) {
		t.Fatalf("ReadStreamBlock with limit 0: %v, want an invalid-argument error", err)
	}
}

func testCursorFromTime(t *testing.T, open Open) {
	s := fresh(t, open)
	var rts []time.Time
	for b := 0; b < 3; b++ {
		r := write(t, s, appendBatch("s", events(2, func(i int) json.RawMessage { return obj("b", b) })...))
		rts = append(rts, r.Appended[0].ReceiveTS)
		time.Sleep(2 * time.Millisecond)
	}
	// A cursor holding only a time starts at the first event received then.
	got, err := s.ReadStream(ctx, "s", platform.Cursor{Time: rts[1]}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[0].ID != 3 {
		t.Fatalf("from time of batch 2: got %d events starting at id %d, want 4 from id 3", len(got), firstID(got))
	}
	// Within a receive time, the ID decides.
	got, _ = s.ReadStream(ctx, "s", platform.Cursor{Time: rts[1], ID: 3}, 100)
	if len(got) != 3 || got[0].ID != 4 {
		t.Fatalf("after (batch 2, id 3): got %d events from id %d, want 3 from id 4", len(got), firstID(got))
	}
	got, _ = s.ReadStream(ctx, "s", platform.Cursor{Time: rts[2].Add(time.Second)}, 100)
	if len(got) != 0 {
		t.Fatalf("after the last receive time: got %d events", len(got))
	}
}

func firstID(es []platform.Event) int64 {
	if len(es) == 0 {
		return 0
	}
	return es[0].ID
}

func testStreamList(t *testing.T, open Open) {
	s := fresh(t, open)
	if st, err := s.Streams(ctx); err != nil || len(st) != 0 {
		t.Fatalf("empty store: Streams = %v, %v", st, err)
	}
	write(t, s, platform.Batch{Appends: []platform.Append{
		{Stream: "b.stream", Events: events(3, func(i int) json.RawMessage { return obj("i", i) })},
		{Stream: "a_stream", Events: events(1, func(i int) json.RawMessage { return obj("i", i) })},
	}})
	r := write(t, s, appendBatch("b.stream", events(2, func(i int) json.RawMessage { return obj("i", i) })...))
	st, err := s.Streams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || st[0].Name != "a_stream" || st[0].Events != 1 || st[1].Name != "b.stream" || st[1].Events != 5 {
		t.Fatalf("Streams = %+v, want a_stream:1, b.stream:5", st)
	}
	if !st[1].LastTS.Equal(r.Appended[0].ReceiveTS) {
		t.Errorf("LastTS = %v, want %v", st[1].LastTS, r.Appended[0].ReceiveTS)
	}
}

func testUnknownStream(t *testing.T, open Open) {
	s := fresh(t, open)
	_, err := s.ReadStream(ctx, "nope", platform.Cursor{}, 10)
	wantErr(t, err, platform.ErrNotFound, "nope")
}

func testInvalidEvents(t *testing.T, open Open) {
	s := fresh(t, open)
	for _, name := range []string{"", "has space", "-lead", "semi;colon", string(make([]byte, 300))} {
		_, err := s.Write(ctx, appendBatch(name, platform.EventInput{Data: obj("a", 1)}))
		wantErr(t, err, platform.ErrInvalid)
	}
	_, err := s.ReadStream(ctx, "bad name", platform.Cursor{}, 1)
	wantErr(t, err, platform.ErrInvalid)
	cases := []struct {
		data  string
		field string
	}{
		{`[1,2]`, ""},
		{`"str"`, ""},
		{`{"a":`, ""},
		{`{"a":1}{"b":2}`, ""},
		{`{"event_ts":"yesterday"}`, "event_ts"},
		{`{"event_ts":12}`, "event_ts"},
	}
	for _, c := range cases {
		good := platform.EventInput{Data: obj("ok", true)}
		_, err := s.Write(ctx, appendBatch("s", good, platform.EventInput{Data: json.RawMessage(c.data)}))
		wantErr(t, err, platform.ErrInvalid, "event 2")
		if c.field != "" {
			wantFieldError(t, err, c.field)
		}
	}
	if st, _ := s.Streams(ctx); len(st) != 0 {
		t.Fatalf("rejected writes created streams: %+v", st)
	}
}

func testBatchAtomic(t *testing.T, open Open) {
	s := fresh(t, open)
	defineFields(t, s, standardFields...)
	write(t, s, appendBatch("s", platform.EventInput{Data: obj("n", 0)}))
	b := platform.Batch{
		Appends: []platform.Append{
			{Stream: "s", Events: events(3, func(i int) json.RawMessage { return obj("n", i+1) })},
			{Stream: "t", Events: events(1, func(i int) json.RawMessage { return obj("n", i) })},
		},
		Upserts: []platform.ProfileInput{
			upsert(ids(email("ok@example.com")), map[string]any{"age": 30}),
			upsert(ids(email("bad@example.com")), map[string]any{"shoe_size": 44}),
		},
		Checkpoint: &platform.Checkpoint{Key: "job-1", Next: "v1"},
	}
	_, err := s.Write(ctx, b)
	wantFieldError(t, err, "shoe_size")
	wantErr(t, err, platform.ErrInvalid, "profile 2")
	if got := readAll(t, s, "s", 0); len(got) != 1 {
		t.Errorf("stream s has %d events after a failed batch, want 1", len(got))
	}
	if _, err := s.ReadStream(ctx, "t", platform.Cursor{}, 1); !errorsIs(err, platform.ErrNotFound) {
		t.Errorf("stream t exists after a failed batch: %v", err)
	}
	if _, err := s.Profile(ctx, email("ok@example.com")); !errorsIs(err, platform.ErrNotFound) {
		t.Errorf("profile of a failed batch exists: %v", err)
	}
	if v, _ := s.Checkpoint(ctx, "job-1"); v != "" {
		t.Errorf("checkpoint of a failed batch = %q", v)
	}
	// The same batch without the bad profile goes through whole, and the
	// next append continues the sequence without a gap.
	b.Upserts = b.Upserts[:1]
	res := write(t, s, b)
	if res.Appended[0].FirstID != 2 {
		t.Errorf("first id after a failed batch = %d, want 2 (gap-free)", res.Appended[0].FirstID)
	}
}

func testNDJSON(t *testing.T, open Open) {
	s := fresh(t, open)
	body := []byte("{\"a\":1}\r\n\n  {\"b\":2,\"event_ts\":\"2024-01-01T00:00:00Z\"}  \n{\"c\":3}")
	evs, err := platform.DecodeNDJSON(body)
	if err != nil {
		t.Fatal(err)
	}
	write(t, s, appendBatch("nd", evs...))
	got := readAll(t, s, "nd", 0)
	want := []string{`{"a":1}`, `{"b":2,"event_ts":"2024-01-01T00:00:00Z"}`, `{"c":3}`}
	if len(got) != len(want) {
		t.Fatalf("read %d events, want %d", len(got), len(want))
	}
	for i := range want {
		if string(got[i].Data) != want[i] {
			t.Errorf("event %d = %s, want %s", i, got[i].Data, want[i])
		}
	}
	_, err = platform.DecodeNDJSON([]byte("{\"a\":1}\n\n{\"b\":\n{\"c\":3}\n"))
	var le *platform.LineError
	if !errorsAs(err, &le) || le.Line != 3 || !errorsIs(err, platform.ErrInvalid) {
		t.Fatalf("malformed line 3: error %v, want an invalid *LineError on line 3", err)
	}
	_, err = platform.DecodeNDJSON([]byte("\n \n"))
	wantErr(t, err, platform.ErrInvalid)
}

func testConcurrentAppends(t *testing.T, open Open) {
	s := fresh(t, open)
	const writers, writes, per = 4, 10, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*writes)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < writes; i++ {
				_, err := s.Write(ctx, appendBatch("busy", events(per, func(j int) json.RawMessage { return obj("w", w, "i", i, "j", j) })...))
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := readAll(t, s, "busy", 333)
	if len(got) != writers*writes*per {
		t.Fatalf("read %d events, want %d", len(got), writers*writes*per)
	}
	seen := map[string]bool{}
	for i, e := range got {
		if e.ID != int64(i+1) {
			t.Fatalf("event %d has id %d: ids are not gap-free in (receive_ts, id) order", i, e.ID)
		}
		seen[string(e.Data)] = true
	}
	if len(seen) != writers*writes*per {
		t.Fatalf("%d distinct events, want %d", len(seen), writers*writes*per)
	}
}

// testCursorNeverOvertaken reads a stream incrementally while it is being
// written: every event must be read exactly once (what incremental exports
// rely on).
func testCursorNeverOvertaken(t *testing.T, open Open) {
	s := fresh(t, open)
	const writers, writes = 3, 20
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < writes; i++ {
				if _, err := s.Write(ctx, appendBatch("live", events(1+i%5, func(j int) json.RawMessage { return obj("w", w, "i", i, "j", j) })...)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	var cur platform.Cursor
	var got []platform.Event
	finished := false
	for !finished {
		select {
		case <-done:
			finished = true
		default:
		}
		page, err := s.ReadStream(ctx, "live", cur, 7)
		if err != nil && !errorsIs(err, platform.ErrNotFound) {
			t.Fatal(err)
		}
		for len(page) > 0 {
			got = append(got, page...)
			cur = page[len(page)-1].Cursor()
			page, _ = s.ReadStream(ctx, "live", cur, 7)
		}
	}
	want := 0
	for i := 0; i < writes; i++ {
		want += writers * (1 + i%5)
	}
	if len(got) != want {
		t.Fatalf("incremental reader saw %d events, want %d", len(got), want)
	}
	for i, e := range got {
		if e.ID != int64(i+1) {
			t.Fatalf("reader's event %d has id %d: an event was skipped or read twice", i, e.ID)
		}
	}
}

func testSends(t *testing.T, open Open) {
	s := fresh(t, open)
	at := time.Date(2024, 6, 1, 8, 30, 0, 0, time.UTC)
	send, err := platform.Send{EventTimestamp: at, UserID: "u1", MessageID: "m1", CopyID: "c1",
		TemplateID: "t1", CampaignID: "k1", CampaignTemplateID: "kt1"}.Event()
	if err != nil {
		t.Fatal(err)
	}
	variant, err := platform.CopyVariant{CopyID: "c1", TemplateID: "t1", Vars: map[string]string{"name": "first_name"},
		Attrs: map[string]string{"tone": "warm"}}.Event()
	if err != nil {
		t.Fatal(err)
	}
	write(t, s, platform.Batch{Appends: []platform.Append{
		{Stream: platform.StreamSends, Events: []platform.EventInput{send}},
		{Stream: platform.StreamCopyVariants, Events: []platform.EventInput{variant}},
	}})
	got := readAll(t, s, platform.StreamSends, 0)
	if len(got) != 1 || !got[0].EventTS.Equal(at) {
		t.Fatalf("sends = %+v, want one at %v", got, at)
	}
	var back platform.Send
	if err := json.Unmarshal(got[0].Data, &back); err != nil || back.MessageID != "m1" || back.CampaignTemplateID != "kt1" {
		t.Fatalf("send read back = %+v, %v", back, err)
	}
	cv := readAll(t, s, platform.StreamCopyVariants, 0)
	var v platform.CopyVariant
	if len(cv) != 1 || json.Unmarshal(cv[0].Data, &v) != nil || v.Vars["name"] != "first_name" || v.Attrs["tone"] != "warm" {
		t.Fatalf("copy variants = %+v", cv)
	}
	bad := []struct {
		stream, data, field string
	}{
		{platform.StreamSends, `{"event_timestamp":"2024-06-01T08:30:00Z","message_id":"m"}`, "user_id"},
		{platform.StreamSends, `{"event_timestamp":"2024-06-01T08:30:00Z","user_id":"u","message_id":"m","colour":"red"}`, "colour"},
		{platform.StreamSends, `{"event_timestamp":"soon","user_id":"u","message_id":"m"}`, "event_timestamp"},
		{platform.StreamSends, `{"event_timestamp":"2024-06-01T08:30:00Z","user_id":7,"message_id":"m"}`, "user_id"},
		{platform.StreamCopyVariants, `{"template_id":"t"}`, "copy_id"},
		{platform.StreamCopyVariants, `{"copy_id":"c","vars":{"a":1}}`, "vars"},
	}
	for _, c := range bad {
		_, err := s.Write(ctx, appendBatch(c.stream, platform.EventInput{Data: json.RawMessage(c.data)}))
		wantFieldError(t, err, c.field)
	}
	if n := len(readAll(t, s, platform.StreamSends, 0)); n != 1 {
		t.Fatalf("rejected sends were written: %d sends", n)
	}
}

func testVolumeMetric(t *testing.T, open Open) {
	s := fresh(t, open)
	r := write(t, s, appendBatch("vol", events(7, func(i int) json.RawMessage { return obj("i", i) })...))
	ms, err := s.Metrics(ctx, platform.MetricQuery{Dimension: platform.DimensionStream, DimensionID: "vol"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Type != platform.MetricEvents || ms[0].Value != 7 || !ms[0].Timestamp.Equal(r.Appended[0].ReceiveTS) {
		t.Fatalf("stream metrics = %+v, want one point of 7 events at the receive time", ms)
	}
}
