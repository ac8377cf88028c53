package platformtest

import (
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lakeport/lakeport/internal/platform"
)

var profileTests = []test{
	{"Fields/Registry", testFields},
	{"Profiles/CreateAndRead", testProfileCreate},
	{"Profiles/MergeAttributes", testProfileAttributes},
	{"Profiles/FieldErrors", testProfileFieldErrors},
	{"Profiles/Identifiers", testIdentifierNormalisation},
	{"Profiles/MergeOnSharedIdentifier", testProfileMerge},
	{"Profiles/MergeWithinBatch", testMergeWithinBatch},
	{"Profiles/NoOpUpsert", testNoOpUpsert},
	{"Profiles/Delete", testProfileDelete},
	{"Profiles/Paging", testProfilePaging},
	{"Profiles/CustomIdentifier", testCustomIdentifier},
	{"Profiles/Concurrent", testConcurrentUpserts},
	{"Checkpoints", testCheckpoints},
}

func testFields(t *testing.T, open Open) {
	s := fresh(t, open)
	fs, err := s.Fields(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fs, platform.NewRegistry(platform.BuiltinFields).Sorted()) {
		t.Fatalf("fresh registry = %+v, want the built-in identifiers", fs)
	}
	defineFields(t, s, standardFields...)
	defineFields(t, s, standardFields[0]) // same again: no-op
	err = s.DefineField(ctx, platform.Field{Name: "age", Type: platform.TypeString})
	wantErr(t, err, platform.ErrConflict, "age")
	err = s.DefineField(ctx, platform.Field{Name: "email", Type: platform.TypeString})
	wantErr(t, err, platform.ErrConflict, "email")
	for _, f := range []platform.Field{
		{Name: "Bad", Type: platform.TypeString},
		{Name: "in", Type: platform.TypeString},
		{Name: "x", Type: "money"},
		{Name: "crm_id", Type: platform.TypeNumber, Identifier: true},
		{Name: "", Type: platform.TypeString},
	} {
		wantErr(t, s.DefineField(ctx, f), platform.ErrInvalid)
	}
	fs, _ = s.Fields(ctx)
	if len(fs) != len(platform.BuiltinFields)+len(standardFields) {
		t.Fatalf("registry has %d fields, want %d", len(fs), len(platform.BuiltinFields)+len(standardFields))
	}
	for i := 1; i < len(fs); i++ {
		if fs[i-1].Name >= fs[i].Name {
			t.Fatalf("Fields not sorted by name: %v", fs)
		}
	}
}

func testProfileCreate(t *testing.T, open Open) {
	s := fresh(t, open)
	defineFields(t, s, standardFields...)
	before := platform.Now()
	res := write(t, s, platform.Batch{Upserts: []platform.ProfileInput{upsert(ids(email("Ada@Example.com"), phone("+31 6 1234 5678")),
		map[string]any{"name": "Ada", "age": 36, "vip": true, "signed_up": "2024-02-03T04:05:06.789+01:00", "tags": []string{"a", "b"}})}})
	if len(res.Upserted) != 1 || !res.Upserted[0].Created || !res.Upserted[0].Changed || res.Upserted[0].ID == 0 {
		t.Fatalf("Upserted = %+v, want one created profile", res.Upserted)
	}
	p := mustProfile(t, s, email("ADA@example.COM "))
	if p.ID != res.Upserted[0].ID {
		t.Fatalf("profile id %d, want %d", p.ID, res.Upserted[0].ID)
	}
	wantIDs := []platform.Identifier{email("ada@example.com"), phone("+31612345678")}
	if !reflect.DeepEqual(p.Identifiers, wantIDs) {
		t.Errorf("identifiers = %v, want %v", fmtIDs(p.Identifiers), fmtIDs(wantIDs))
	}
	wantAttrs := map[string]any{"name": "Ada", "age": 36.0, "vip": true, "signed_up": "2024-02-03T03:05:06.789Z", "tags": []any{"a", "b"}}
	if !reflect.DeepEqual(p.Attributes, wantAttrs) {
		t.Errorf("attributes = %#v, want %#v", p.Attributes, wantAttrs)
	}
	if p.CreatedAt.Before(before) || !p.UpdatedAt.Equal(p.CreatedAt) {
		t.Errorf("created %v updated %v (before %v)", p.CreatedAt, p.UpdatedAt, before)
	}
	if p2 := mustProfile(t, s, phone("0031612345678")); p2.ID != p.ID {
		t.Errorf("lookup by phone found %d, want %d", p2.ID, p.ID)
	}
	_, err := s.Profile(ctx, email("nobody@example.com"))
	wantErr(t, err, platform.ErrNotFound, "nobody@example.com")
	_, err = s.Profile(ctx, platform.Identifier{Field: "age", Value: "3"})
	wantFieldError(t, err, "age")
}

func testProfileAttributes(t *testing.T, open Open) {
	s := fresh(t, open)
	defineFields(t, s, standardFields...)
	write(t, s, platform.Batch{Upserts: []platform.ProfileInput{upsert(ids(email("a@x.io")), map[string]any{"name": "A", "age": 1, "country": "NL"})}})
	first := mustProfile(t, s, email("a@x.io"))
	time.Sleep(2 * time.Millisecond)
	write(t, s, platform.Batch{Upserts: []platform.ProfileInput{upsert(ids(email("a@x.io")), map[string]any{"age": 2, "country": nil, "vip": false})}})
	p := mustProfile(t, s, email("a@x.io"))
	want := map[string]any{"name": "A", "age": 2.0, "vip": false}
	if !reflect.DeepEqual(p.Attributes, want) {
		t.Errorf("attributes = %v, want %v (merge; nil removes)", p.Attributes, want)
	}
	if !p.CreatedAt.Equal(first.CreatedAt) || !p.UpdatedAt.After(first.UpdatedAt) {
		t.Errorf("created %v→%v, updated %v→%v: want created kept, updated later", first.CreatedAt, p.CreatedAt, first.UpdatedAt, p.UpdatedAt)
	}
}

func testProfileFieldErrors(t *testing.T, open Open) {
	s := fresh(t, open)
	defineFields(t, s, standardFields...)
	cases := []struct {
		in    platform.ProfileInput
		field string
	}{
		{upsert(ids(email("a@x.io")), map[string]any{"height": 1.8}), "height"},
		{upsert(ids(email("a@x.io")), map[string]any{"age": "old"}), "age"},
		{upsert(ids(email("a@x.io")), map[string]any{"vip": "yes"}), "vip"},
		{upsert(ids(email("a@x.io")), map[string]any{"signed_up": "last week"}), "signed_up"},
		{upsert(ids(email("a@x.io")), map[string]any{"tags": []any{"a", 1}}), "tags"},
		{upsert(ids(email("a@x.io")), map[string]any{"name": 3}), "name"},
		{upsert(ids(email("a@x.io")), map[string]any{"email": "b@x.io"}), "email"},
		{upsert(ids(email("not-an-email")), nil), "email"},
		{upsert(ids(platform.Identifier{Field: "crm", Value: "1"}), nil), "crm"},
		{upsert(ids(platform.Identifier{Field: "name", Value: "x"}), nil), "name"},
	}
	for _, c := range cases {
		_, err := s.Write(ctx, platform.Batch{Upserts: []platform.ProfileInput{c.in}})
		wantFieldError(t, err, c.field)
	}
	_, err := s.Write(ctx, platform.Batch{Upserts: []platform.ProfileInput{{Attributes: map[string]any{"age": 1}}}})
	wantErr(t, err, platform.ErrInvalid, "identifier")
	if ps, _ := s.Profiles(ctx, 0, 10); len(ps) != 0 {
		t.Fatalf("rejected upserts created %d profiles", len(ps))
	}
}

func testIdentifierNormalisation(t *testing.T, open Open) {
	s := fresh(t, open)
	cases := []struct {
		in   platform.Identifier
		want string
	}{
		{email("  Mixed.Case@Example.ORG "), "mixed.case@example.org"},
		{phone("+44 (0)20 7946 0958"), "+442079460958"},
		{phone("0044-20-7946-0958"), "+442079460958"},
		{phone("+1 (415) 555.2671"), "+14155552671"},
		{platform.Identifier{Field: platform.FieldUUID, Value: "{6BA7B810-9DAD-11D1-80B4-00C04FD430C8}"}, "6ba7b810-9dad-11d1-80b4-00c04fd430c8"},
		{platform.Identifier{Field: platform.FieldUUID, Value: "6ba7b8109dad11d180b400c04fd430c8"}, "6ba7b810-9dad-11d1-80b4-00c04fd430c8"},
	}
	for _, c := range cases {
		write(t, s, platform.Batch{Upserts: []platform.ProfileInput{upsert(ids(c.in), nil)}})
		p := mustProfile(t, s, platform.Identifier{Field: c.in.Field, Value: c.want})
		if !slices.Contains(p.Values(c.in.Field), c.want) {
			t.Errorf("%v: stored %v, want %q", c.in, p.Identifiers, c.want)
		}
	}
	for _, bad := range []platform.Identifier{
		phone("020 7946 0958"), phone("+12"), phone("+44 20 7946 0958 ext 3"), phone("+0123456789"),
		email("a@b"), email("a b@c.io"), email("@c.io"),
		{Field: platform.FieldUUID, Value: "6ba7b810-9dad-11d1-80b4"},
		{Field: platform.FieldUUID, Value: "zba7b810-9dad-11d1-80b4-00c04fd430c8"},
	} {
		_, err := s.Write(ctx, platform.Batch{Upserts: []platform.ProfileInput{upsert(ids(bad), nil)}})
		wantFieldError(t, err, bad.Field)
	}
}

func testProfileMerge(t *testing.T, open Open) {
	s := fresh(t, open)
	defineFields(t, s, standardFields...)
	r1 := write(t, s, platform.Batch{Upserts: []platform.ProfileInput{upsert(ids(email("a@x.io")), map[string]any{"name": "A", "age": 10})}})
	time.Sleep(2 * time.Millisecond)
	r2 := write(t, s, platform.Batch{Upserts: []platform.ProfileInput{upsert(ids(phone("+31600000001")), map[string]any{"name": "B", "country": "NL"})}})
	p1, p2 := r1.Upserted[0].ID, r2.Upserted[0].ID
	if p1 >= p2 {
		t.Fatalf("ids %d, %d: want increasing", p1, p2)
	}
	a := mustProfile(t, s, email("a@x.io"))
	res := write(t, s, platform.Batch{Upserts: []platform.ProfileInput{upsert(ids(phone("+31 6 00000001"), email("A@X.IO")), map[string]any{"vip": true})}})
	u := res.Upserted[0]
	if u.ID != p1 || u.Created || !u.Changed || !reflect.DeepEqual(u.Merged, []int64{p2}) {
		t.Fatalf("merge result %+v, want profile %d with %d merged into it", u, p1, p2)
	}
	m := mustProfile(t, s, phone("+31600000001"))
	if m.ID != p1 {
		t.Fatalf("phone now belongs to %d, want the survivor %d", m.ID, p1)
	}
	want := map[string]any{"name": "B", "age": 10.0, "country": "NL", "vip": true}
	if !reflect.DeepEqual(m.Attributes, want) {
		t.Errorf("merged attributes = %v, want %v (newest profile wins, then the input)", m.Attributes, want)
	}
	if !m.CreatedAt.Equal(a.CreatedAt) {
		t.Errorf("merged created_at %v, want the oldest %v", m.CreatedAt, a.CreatedAt)
	}
	wantIDs := []platform.Identifier{email("a@x.io"), phone("+31600000001")}
	if !reflect.DeepEqual(m.Identifiers, wantIDs) {
		t.Errorf("identifiers = %v, want %v", fmtIDs(m.Identifiers), fmtIDs(wantIDs))
	}
	ps, _ := s.Profiles(ctx, 0, 10)
	if len(ps) != 1 {
		t.Fatalf("%d profiles after merge, want 1", len(ps))
	}
}

func testMergeWithinBatch(t *testing.T, open Open) {
	s := fresh(t, open)
	defineFields(t, s, standardFields...)
	res := write(t, s, platform.Batch{Upserts: []platform.ProfileInput{
		upsert(ids(email("x@x.io")), map[string]any{"age": 1}),
		upsert(ids(phone("+31600000002")), map[string]any{"name": "P"}),
		upsert(ids(email("x@x.io"), phone("+31600000002")), map[string]any{"vip": true}),
		upsert(ids(email("y@x.io")), nil),
	}})
	if len(res.Upserted) != 4 {
		t.Fatalf("Upserted = %+v", res.Upserted)
	}
	survivor := res.Upserted[2].ID
	for i := 0; i < 3; i++ {
		if res.Upserted[i].ID != survivor {
			t.Errorf("upsert %d landed on %d, want the final profile %d", i, res.Upserted[i].ID, survivor)
		}
	}
	p := mustProfile(t, s, phone("+31600000002"))
	want := map[string]any{"age": 1.0, "name": "P", "vip": true}
	if p.ID != survivor || !reflect.DeepEqual(p.Attributes, want) {
		t.Errorf("profile %d %v, want %d %v", p.ID, p.Attributes, survivor, want)
	}
	ps, _ := s.Profiles(ctx, 0, 10)
	if len(ps) != 2 {
		t.Fatalf("%d profiles, want 2", len(ps))
	}
}

func testNoOpUpsert(t *testing.T, open Open) {
	s := fresh(t, open)
	defineFields(t, s, standardFields...)
	in := upsert(ids(email("n@x.io")), map[string]any{"age": 5, "tags": []string{"t"}})
	write(t, s, platform.Batch{Upserts: []platform.ProfileInput{in}})
	before := mustProfile(t, s, email("n@x.io"))
	time.Sleep(2 * time.Millisecond)
	res := write(t, s, platform.Batch{Upserts: []platform.ProfileInput{in}})
	if res.Upserted[0].Changed || res.Upserted[0].Created {
		t.Fatalf("repeating an upsert = %+v, want unchanged", res.Upserted[0])
	}
	if after := mustProfile(t, s, email("n@x.io")); !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Errorf("a no-op upsert moved updated_at %v → %v", before.UpdatedAt, after.UpdatedAt)
	}
}

func testProfileDelete(t *testing.T, open Open) {
	s := fresh(t, open)
	write(t, s, platform.Batch{Upserts: []platform.ProfileInput{
		upsert(ids(email("d@x.io"), phone("+31600000003")), nil),
		upsert(ids(email("keep@x.io")), nil),
	}})
	res := write(t, s, platform.Batch{Deletes: []platform.Identifier{phone("0031 600000003"), email("ghost@x.io")}})
	if res.Deleted != 1 {
		t.Fatalf("Deleted = %d, want 1", res.Deleted)
	}
	for _, id := range []platform.Identifier{email("d@x.io"), phone("+31600000003")} {
		_, err := s.Profile(ctx, id)
		wantErr(t, err, platform.ErrNotFound)
	}
	mustProfile(t, s, email("keep@x.io"))
	// The identifiers are free again: a new upsert creates a new profile.
	r := write(t, s, platform.Batch{Upserts: []platform.ProfileInput{upsert(ids(email("d@x.io")), nil)}})
	if !r.Upserted[0].Created {
		t.Errorf("upsert after delete = %+v, want created", r.Upserted[0])
	}
	_, err := s.Write(ctx, platform.Batch{Deletes: []platform.Identifier{email("bad")}})
	wantFieldError(t, err, "email")
}

func testProfilePaging(t *testing.T, open Open) {
	s := fresh(t, open)
	var in []platform.ProfileInput
	for i := 0; i < 25; i++ {
		in = append(in, upsert(ids(platform.Identifier{Field: platform.FieldEmail, Value: string(rune('a'+i)) + "@p.io"}), nil))
	}
	write(t, s, platform.Batch{Upserts: in})
	var all []platform.Profile
	after := int64(0)
	for {
		page, err := s.Profiles(ctx, after, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 10 {
			t.Fatalf("page of %d > limit 10", len(page))
		}
		all = append(all, page...)
		after = page[len(page)-1].ID
	}
	if len(all) != 25 {
		t.Fatalf("paged %d profiles, want 25", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID <= all[i-1].ID || len(all[i].Identifiers) != 1 {
			t.Fatalf("profiles not in ID order or without identifiers: %+v", all[i])
		}
	}
}

func testCustomIdentifier(t *testing.T, open Open) {
	s := fresh(t, open)
	defineFields(t, s, platform.Field{Name: "crm_id", Type: platform.TypeString, Identifier: true})
	write(t, s, platform.Batch{Upserts: []platform.ProfileInput{upsert(ids(platform.Identifier{Field: "crm_id", Value: " C-42 "}), nil)}})
	p := mustProfile(t, s, platform.Identifier{Field: "crm_id", Value: "C-42"})
	if !slices.Equal(p.Values("crm_id"), []string{"C-42"}) {
		t.Fatalf("custom identifier values = %v, want [C-42] (trimmed, case kept)", p.Values("crm_id"))
	}
}

// testConcurrentUpserts races writers over overlapping identifiers: in the
// end every identifier belongs to exactly one profile and chains of shared
// identifiers ended up merged.
func testConcurrentUpserts(t *testing.T, open Open) {
	s := fresh(t, open)
	const writers, rounds = 4, 15
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				// Each round links email i and phone i; writers overlap.
				in := upsert(ids(platform.Identifier{Field: platform.FieldEmail, Value: "c" + itoa(i) + "@x.io"},
					phone("+3160000"+pad(i))), nil)
				if _, err := s.Write(ctx, platform.Batch{Upserts: []platform.ProfileInput{in}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	ps, err := s.Profiles(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != rounds {
		t.Fatalf("%d profiles, want %d (one per linked pair)", len(ps), rounds)
	}
	for _, p := range ps {
		if len(p.Identifiers) != 2 {
			t.Errorf("profile %d has identifiers %v, want one email and one phone", p.ID, fmtIDs(p.Identifiers))
		}
	}
}

func testCheckpoints(t *testing.T, open Open) {
	s := fresh(t, open)
	if v, err := s.Checkpoint(ctx, "job/import"); err != nil || v != "" {
		t.Fatalf("unset checkpoint = %q, %v", v, err)
	}
	ev := platform.EventInput{Data: obj("row", 1)}
	b := appendBatch("imp", ev)
	b.Checkpoint = &platform.Checkpoint{Key: "job/import", Prev: "", Next: "v5"}
	write(t, s, b)
	if v, _ := s.Checkpoint(ctx, "job/import"); v != "v5" {
		t.Fatalf("checkpoint = %q, want v5", v)
	}
	// A retry of the same run finds the checkpoint moved: nothing is written.
	_, err := s.Write(ctx, b)
	wantErr(t, err, platform.ErrConflict, "job/import", "v5")
	if n := len(readAll(t, s, "imp", 0)); n != 1 {
		t.Fatalf("a conflicting batch wrote rows: %d events", n)
	}
	b.Checkpoint = &platform.Checkpoint{Key: "job/import", Prev: "v5", Next: "v6"}
	write(t, s, b)
	if v, _ := s.Checkpoint(ctx, "job/import"); v != "v6" {
		t.Fatalf("checkpoint = %q, want v6", v)
	}
	_, err = s.Write(ctx, platform.Batch{Checkpoint: &platform.Checkpoint{Key: ""}})
	wantErr(t, err, platform.ErrInvalid)
}

func itoa(i int) string { return strconv.Itoa(i) }

// pad renders i with leading zeros to 5 digits.
func pad(i int) string {
	b := []byte("00000")
	for j := 4; j >= 0 && i > 0; j-- {
		b[j] = byte('0' + i%10)
		i /= 10
	}
	return string(b)
}
