package platformtest

import (
	"reflect"
	"slices"
	"testing"

	"github.com/lakeport/lakeport/internal/platform"
)

var audienceTests = []test{
	{"Audiences/CreateBackfills", testAudienceBackfill},
	{"Audiences/FollowProfileChanges", testAudienceFollows},
	{"Audiences/DeferredRefreshTouchesOnlyChanged", testDeferredRefresh},
	{"Audiences/ChangeDefinition", testAudienceRedefine},
	{"Audiences/InvalidDefinitions", testAudienceInvalid},
	{"Audiences/Delete", testAudienceDelete},
	{"Audiences/ProfileDeleteAndMergeExit", testAudienceDeleteAndMerge},
	{"Audiences/MembersPaging", testMembersPaging},
	{"Audiences/ChangesPaging", testAudienceChangesPaging},
	{"Audiences/MissingAttributes", testAudienceMissingAttributes},
	{"Audiences/Metrics", testAudienceMetrics},
}

func seedPeople(t *testing.T, s platform.Store) map[string]int64 {
	t.Helper()
	defineFields(t, s, standardFields...)
	people := []struct {
		email string
		attrs map[string]any
	}{
		{"ann@x.io", map[string]any{"age": 40, "country": "NL", "tags": []string{"gold"}}},
		{"bob@x.io", map[string]any{"age": 17, "country": "NL"}},
		{"cat@x.io", map[string]any{"age": 25, "country": "DE", "vip": true}},
		{"dan@x.io", map[string]any{"country": "NL"}},
	}
	var in []platform.ProfileInput
	for _, p := range people {
		in = append(in, upsert(ids(email(p.email)), p.attrs))
	}
	res := write(t, s, platform.Batch{Upserts: in})
	out := map[string]int64{}
	for i, p := range people {
		out[p.email] = res.Upserted[i].ID
	}
	return out
}

// memberIDs lists an audience's member profile IDs.
func memberIDs(t *testing.T, s platform.Store, slug string) []int64 {
	t.Helper()
	ms, err := s.Members(ctx, slug, 0, 0)
	if err != nil {
		t.Fatalf("Members(%q): %v", slug, err)
	}
	var out []int64
	for _, m := range ms {
		out = append(out, m.Profile.ID)
	}
	return out
}

func allChanges(t *testing.T, s platform.Store) []platform.AudienceChange {
	t.Helper()
	var out []platform.AudienceChange
	var cur platform.Cursor
	for {
		page, err := s.AudienceChanges(ctx, cur, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		cur = page[len(page)-1].Cursor()
	}
}

type change struct {
	audience string
	profile  int64
	kind     string
}

func changesOf(cs []platform.AudienceChange) []change {
	var out []change
	for _, c := range cs {
		out = append(out, change{c.Audience, c.ProfileID, c.Change})
	}
	return out
}

func testAudienceBackfill(t *testing.T, open Open) {
	s := fresh(t, open)
	p := seedPeople(t, s)
	a, err := s.PutAudience(platform.WithActor(ctx, platform.Actor{AccountID: "acc-1", UserID: "u-9"}), "dutch-adults", `country == "NL" && age >= 18`)
	if err != nil {
		t.Fatal(err)
	}
	if a.Slug != "dutch-adults" || a.Version != 1 || a.Members != 1 || a.ID == 0 {
		t.Fatalf("audience = %+v, want version 1 with 1 member", a)
	}
	if got := memberIDs(t, s, "dutch-adults"); !slices.Equal(got, []int64{p["ann@x.io"]}) {
		t.Fatalf("members = %v, want ann %d", got, p["ann@x.io"])
	}
	ms, _ := s.Members(ctx, "dutch-adults", 0, 10)
	if ms[0].Profile.Values(platform.FieldEmail)[0] != "ann@x.io" || ms[0].Profile.Attributes["age"] != 40.0 || ms[0].EnteredAt.IsZero() {
		t.Errorf("member = %+v, want ann with her fields and entry time", ms[0])
	}
	cs := allChanges(t, s)
	if !reflect.DeepEqual(changesOf(cs), []change{{"dutch-adults", p["ann@x.io"], platform.Enter}}) {
		t.Fatalf("changes = %+v", cs)
	}
	if !cs[0].Time.Equal(ms[0].EnteredAt) {
		t.Errorf("change time %v != entered at %v", cs[0].Time, ms[0].EnteredAt)
	}
	evs, _ := s.SystemEvents(ctx, platform.Cursor{}, 10)
	if len(evs) != 1 || evs[0].SubjectType != platform.SubjectAudience || evs[0].SubjectID != "dutch-adults" ||
		evs[0].Verb != platform.VerbCreated || evs[0].AccountID != "acc-1" || evs[0].UserID != "u-9" || evs[0].Related["version"] != "1" {
		t.Fatalf("system events = %+v, want audience created by acc-1/u-9", evs)
	}
	// Putting the same definition again changes nothing.
	again, err := s.PutAudience(ctx, "dutch-adults", `country == "NL" && age >= 18`)
	if err != nil || again.Version != 1 {
		t.Fatalf("same definition again = %+v, %v; want version 1 unchanged", again, err)
	}
	if evs, _ := s.SystemEvents(ctx, platform.Cursor{}, 10); len(evs) != 1 {
		t.Fatalf("a no-op put wrote system events: %+v", evs)
	}
	list, err := s.Audiences(ctx)
	if err != nil || len(list) != 1 || list[0].Slug != "dutch-adults" {
		t.Fatalf("Audiences = %+v, %v", list, err)
	}
	if _, err := s.Audience(ctx, "nope"); !errorsIs(err, platform.ErrNotFound) {
		t.Fatalf("Audience(nope) = %v, want not found", err)
	}
	_, err = s.Members(ctx, "nope", 0, 1)
	wantErr(t, err, platform.ErrNotFound, "nope")
}

func testAudienceFollows(t *testing.T, open Open) {
	s := fresh(t, open)
	p := seedPeople(t, s)
	if _, err := s.PutAudience(ctx, "adults", `age >= 18`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutAudience(ctx, "vips", `vip`); err != nil {
		t.Fatal(err)
	}
	start := len(allChanges(t, s))
	// bob turns 18, cat loses vip; ann changes but stays; a new adult comes.
	res := write(t, s, platform.Batch{Upserts: []platform.ProfileInput{
		upsert(ids(email("bob@x.io")), map[string]any{"age": 18}),
		upsert(ids(email("cat@x.io")), map[string]any{"vip": false}),
		upsert(ids(email("ann@x.io")), map[string]any{"country": "BE"}),
		upsert(ids(email("eve@x.io")), map[string]any{"age": 50}),
	}})
	if res.Audiences.ProfilesEvaluated != 4 || res.Audiences.Entered != 2 || res.Audiences.Exited != 1 {
		t.Fatalf("refresh stats = %+v, want 4 evaluated, 2 entered, 1 exited", res.Audiences)
	}
	eve := res.Upserted[3].ID
	got := changesOf(allChanges(t, s)[start:])
	want := []change{{"adults", p["bob@x.io"], platform.Enter}, {"vips", p["cat@x.io"], platform.Exit}, {"adults", eve, platform.Enter}}
	if !sameChanges(got, want) {
		t.Fatalf("changes = %+v, want %+v", got, want)
	}
	if m := memberIDs(t, s, "adults"); !slices.Equal(m, sorted(p["ann@x.io"], p["bob@x.io"], p["cat@x.io"], eve)) {
		t.Fatalf("adults = %v", m)
	}
	if m := memberIDs(t, s, "vips"); len(m) != 0 {
		t.Fatalf("vips = %v, want none", m)
	}
	// An upsert that changes nothing evaluates nothing.
	res = write(t, s, platform.Batch{Upserts: []platform.ProfileInput{upsert(ids(email("bob@x.io")), map[string]any{"age": 18})}})
	if res.Audiences != (platform.RefreshStats{}) {
		t.Fatalf("no-op upsert refresh stats = %+v, want none", res.Audiences)
	}
}

func testDeferredRefresh(t *testing.T, open Open) {
	s := freshWith(t, open, platform.Options{DeferAudienceRefresh: true})
	defineFields(t, s, standardFields...)
	var in []platform.ProfileInput
	for i := 0; i < 50; i++ {
		in = append(in, upsert(ids(email("u"+itoa(i)+"@x.io")), map[string]any{"age": i}))
	}
	write(t, s, platform.Batch{Upserts: in})
	a, err := s.PutAudience(ctx, "over40", `age > 40.0`)
	if err != nil || a.Members != 9 {
		t.Fatalf("PutAudience = %+v, %v; want 9 members from the backfill", a, err)
	}
	if st, err := s.RefreshAudiences(ctx); err != nil || st.ProfilesEvaluated != 50 {
		// the 50 creations were queued before the audience existed
		t.Fatalf("first refresh = %+v, %v; want the 50 queued profiles", st, err)
	}
	res := write(t, s, platform.Batch{Upserts: []platform.ProfileInput{
		upsert(ids(email("u1@x.io")), map[string]any{"age": 41}),
		upsert(ids(email("u45@x.io")), map[string]any{"age": 4}),
		upsert(ids(email("u2@x.io")), map[string]any{"age": 3}),
	}})
	if res.Audiences != (platform.RefreshStats{}) {
		t.Fatalf("deferred write refreshed: %+v", res.Audiences)
	}
	if got := memberIDs(t, s, "over40"); len(got) != 9 {
		t.Fatalf("members changed before refresh: %d", len(got))
	}
	st, err := s.RefreshAudiences(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st != (platform.RefreshStats{ProfilesEvaluated: 3, Entered: 1, Exited: 1}) {
		t.Fatalf("refresh = %+v, want exactly the 3 changed profiles evaluated, 1 enter, 1 exit", st)
	}
	if st, _ := s.RefreshAudiences(ctx); st != (platform.RefreshStats{}) {
		t.Fatalf("second refresh = %+v, want nothing left", st)
	}
	if got := memberIDs(t, s, "over40"); len(got) != 9 {
		t.Fatalf("members = %d, want 9", len(got))
	}
}

func testAudienceRedefine(t *testing.T, open Open) {
	s := fresh(t, open)
	p := seedPeople(t, s)
	if _, err := s.PutAudience(ctx, "a", `country == "NL"`); err != nil {
		t.Fatal(err)
	}
	start := len(allChanges(t, s))
	a, err := s.PutAudience(ctx, "a", `country == "DE" || "gold" in tags`)
	if err != nil {
		t.Fatal(err)
	}
	if a.Version != 2 || a.Members != 2 {
		t.Fatalf("redefined = %+v, want version 2, 2 members", a)
	}
	got := changesOf(allChanges(t, s)[start:])
	want := []change{{"a", p["bob@x.io"], platform.Exit}, {"a", p["cat@x.io"], platform.Enter}, {"a", p["dan@x.io"], platform.Exit}}
	if !sameChanges(got, want) {
		t.Fatalf("changes = %+v, want %+v", got, want)
	}
	evs, _ := s.SystemEvents(ctx, platform.Cursor{}, 10)
	if len(evs) != 2 || evs[1].Verb != platform.VerbChanged || evs[1].Notes != `country == "DE" || "gold" in tags` {
		t.Fatalf("system events = %+v, want created then changed", evs)
	}
}

func testAudienceInvalid(t *testing.T, open Open) {
	s := fresh(t, open)
	defineFields(t, s, standardFields...)
	for _, c := range []struct{ slug, def, mention string }{
		{"ok", `shoe_size > 3`, "shoe_size"},
		{"ok", `age + 1.0`, "boolean"},
		{"ok", `country == `, "country"},
		{"ok", ``, "empty"},
		{"Bad Slug", `vip`, "slug"},
		{"", `vip`, "slug"},
	} {
		_, err := s.PutAudience(ctx, c.slug, c.def)
		wantErr(t, err, platform.ErrInvalid, c.mention)
	}
	if as, _ := s.Audiences(ctx); len(as) != 0 {
		t.Fatalf("invalid audiences were stored: %+v", as)
	}
}

func testAudienceDelete(t *testing.T, open Open) {
	s := fresh(t, open)
	p := seedPeople(t, s)
	if _, err := s.PutAudience(ctx, "nl", `country == "NL"`); err != nil {
		t.Fatal(err)
	}
	start := len(allChanges(t, s))
	if err := s.DeleteAudience(ctx, "nl"); err != nil {
		t.Fatal(err)
	}
	got := changesOf(allChanges(t, s)[start:])
	want := []change{{"nl", p["ann@x.io"], platform.Exit}, {"nl", p["bob@x.io"], platform.Exit}, {"nl", p["dan@x.io"], platform.Exit}}
	if !sameChanges(got, want) {
		t.Fatalf("changes = %+v, want every member exiting", got)
	}
	_, err := s.Audience(ctx, "nl")
	wantErr(t, err, platform.ErrNotFound)
	wantErr(t, s.DeleteAudience(ctx, "nl"), platform.ErrNotFound, "nl")
	evs, _ := s.SystemEvents(ctx, platform.Cursor{}, 10)
	if len(evs) != 2 || evs[1].Verb != platform.VerbDeleted {
		t.Fatalf("system events = %+v, want created then deleted", evs)
	}
	// A new audience may reuse the slug.
	if a, err := s.PutAudience(ctx, "nl", `country == "NL"`); err != nil || a.Version != 1 || a.Members != 3 {
		t.Fatalf("recreated = %+v, %v", a, err)
	}
}

func testAudienceDeleteAndMerge(t *testing.T, open Open) {
	s := fresh(t, open)
	p := seedPeople(t, s)
	if _, err := s.PutAudience(ctx, "nl", `country == "NL"`); err != nil {
		t.Fatal(err)
	}
	start := len(allChanges(t, s))
	// dan is deleted; an upsert naming both ann and bob merges bob into ann.
	write(t, s, platform.Batch{Deletes: []platform.Identifier{email("dan@x.io")}})
	write(t, s, platform.Batch{Upserts: []platform.ProfileInput{upsert(ids(email("ann@x.io"), email("bob@x.io")), nil)}})
	got := changesOf(allChanges(t, s)[start:])
	want := []change{{"nl", p["dan@x.io"], platform.Exit}, {"nl", p["bob@x.io"], platform.Exit}}
	if !sameChanges(got, want) {
		t.Fatalf("changes = %+v, want %+v", got, want)
	}
	if m := memberIDs(t, s, "nl"); !slices.Equal(m, []int64{p["ann@x.io"]}) {
		t.Fatalf("members = %v, want only ann", m)
	}
	if a, _ := s.Audience(ctx, "nl"); a.Members != 1 {
		t.Fatalf("member count = %d, want 1", a.Members)
	}
}

func testMembersPaging(t *testing.T, open Open) {
	s := fresh(t, open)
	defineFields(t, s, standardFields...)
	var in []platform.ProfileInput
	for i := 0; i < 30; i++ {
		in = append(in, upsert(ids(email("m"+itoa(i)+"@x.io")), map[string]any{"vip": i%3 == 0}))
	}
	write(t, s, platform.Batch{Upserts: in})
	if _, err := s.PutAudience(ctx, "vips", `vip == true`); err != nil {
		t.Fatal(err)
	}
	var all []platform.Member
	after := int64(0)
	for {
		page, err := s.Members(ctx, "vips", after, 4)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		after = page[len(page)-1].Profile.ID
	}
	if len(all) != 10 {
		t.Fatalf("paged %d members, want 10", len(all))
	}
	for _, m := range all {
		if m.Profile.Attributes["vip"] != true || len(m.Profile.Identifiers) != 1 {
			t.Fatalf("member %+v is not a vip with its identifier", m.Profile)
		}
	}
}

func testAudienceChangesPaging(t *testing.T, open Open) {
	s := fresh(t, open)
	seedPeople(t, s)
	for _, def := range []string{`country == "NL"`, `country == "DE"`, `true`} {
		if _, err := s.PutAudience(ctx, "a", def); err != nil {
			t.Fatal(err)
		}
	}
	cs := allChanges(t, s) // pages of 3
	// NL: 3 enter; DE: 3 exit + 1 enter; true: 3 enter.
	if len(cs) != 10 {
		t.Fatalf("%d changes, want 10", len(cs))
	}
	for i, c := range cs {
		if c.ID != int64(i+1) {
			t.Fatalf("change %d has id %d: want a gap-free sequence", i, c.ID)
		}
		if i > 0 && c.Time.Before(cs[i-1].Time) {
			t.Fatalf("change times go back at %d", c.ID)
		}
	}
}

func testAudienceMissingAttributes(t *testing.T, open Open) {
	s := fresh(t, open)
	p := seedPeople(t, s) // dan has no age
	a, err := s.PutAudience(ctx, "young", `age < 30`)
	if err != nil {
		t.Fatal(err)
	}
	if m := memberIDs(t, s, "young"); !slices.Equal(m, sorted(p["bob@x.io"], p["cat@x.io"])) || a.Members != 2 {
		t.Fatalf("young = %v, want bob and cat (dan has no age)", m)
	}
	if _, err := s.PutAudience(ctx, "no-age", `!has(attrs.age)`); err != nil {
		t.Fatal(err)
	}
	if m := memberIDs(t, s, "no-age"); !slices.Equal(m, []int64{p["dan@x.io"]}) {
		t.Fatalf("no-age = %v, want dan", m)
	}
	if _, err := s.PutAudience(ctx, "x-io", `email.exists(e, e.endsWith("@x.io")) && id > 0`); err != nil {
		t.Fatal(err)
	}
	if m := memberIDs(t, s, "x-io"); len(m) != 4 {
		t.Fatalf("x-io = %v, want all 4", m)
	}
}

func testAudienceMetrics(t *testing.T, open Open) {
	s := fresh(t, open)
	seedPeople(t, s)
	if _, err := s.PutAudience(ctx, "nl", `country == "NL"`); err != nil {
		t.Fatal(err)
	}
	write(t, s, platform.Batch{Upserts: []platform.ProfileInput{upsert(ids(email("cat@x.io")), map[string]any{"country": "NL"})}})
	ms, err := s.Metrics(ctx, platform.MetricQuery{Dimension: platform.DimensionAudience, DimensionID: "nl"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]float64{}
	for _, m := range ms {
		got[m.Type] = append(got[m.Type], m.Value)
	}
	want := map[string][]float64{platform.MetricSize: {3, 4}, platform.MetricAdded: {3, 1}, platform.MetricRemoved: {0, 0}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("audience metrics = %v, want %v", got, want)
	}
}

func sameChanges(got, want []change) bool {
	key := func(c change) string { return c.audience + "/" + itoa(int(c.profile)) + "/" + c.kind }
	g, w := make([]string, len(got)), make([]string, len(want))
	for i := range got {
		g[i] = key(got[i])
	}
	for i := range want {
		w[i] = key(want[i])
	}
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

func sorted(ids ...int64) []int64 {
	slices.Sort(ids)
	return ids
}
