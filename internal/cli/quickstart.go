package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/spf13/cobra"

	"github.com/lakeport/lakeport/internal/delta"
	_ "github.com/lakeport/lakeport/internal/flow/importchanges" // job kind import.changes
	_ "github.com/lakeport/lakeport/internal/flow/importtable"   // job kind import.table
	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/job/jobstore"
	"github.com/lakeport/lakeport/internal/lakehouse"
	"github.com/lakeport/lakeport/internal/lakehouse/local"
	"github.com/lakeport/lakeport/internal/platform"
)

// quickstartMarker marks a directory the quickstart made (and may recreate).
const quickstartMarker = ".lakeport-quickstart"

func newQuickstartCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: "Create a local lakehouse with sample tables, import them into a local platform, change some rows, import again",
		Long: `quickstart builds a complete local setup in --dir and runs it:

  lakehouse/        a local lakehouse: main.crm.users (change data feed on)
                    and main.web.events, Delta tables written by Lakeport
  lakeport.yaml     a connection to it and seven jobs:
                      web_events  import.table   (watermark on ts)
                      crm_users   import.changes (change data feed -> profiles)
                      and one of each export kind back into main.lakeport_exports:
                      export.events, export.audience (the vips audience),
                      export.audience_changes, export.system_events, export.metrics
  platform.db       the platform store (SQLite), state.db the job state

It runs every job, changes some users and adds events, runs them again
(only the changes travel), and prints what arrived in the platform and
what the exports wrote back to the lakehouse (staged under
.lakeport/staging and loaded exactly once).
Running it again recreates the directory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runQuickstart(cmd.Context(), cmd.OutOrStdout(), dir)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "lakeport-quickstart", "directory to create (recreated if an earlier quickstart made it)")
	return cmd
}

var (
	qsTS    = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	qsUsers = arrow.NewSchema([]arrow.Field{
		{Name: "customer_id", Type: arrow.BinaryTypes.String},
		{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "first_name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "lifetime_value", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "vip", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "signup_at", Type: qsTS, Nullable: true},
		{Name: "interests", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	}, nil)
	qsEvents = arrow.NewSchema([]arrow.Field{
		{Name: "event_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "ts", Type: qsTS, Nullable: true},
		{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "page", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "referrer", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	qsStart     = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	qsNames     = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Radia", "Linus"}
	qsCountries = []string{"NL", "DE", "FR", "US", "GB"}
	qsInterests = []string{"running", "cooking", "jazz", "travel", "chess"}
	qsPages     = []string{"/", "/pricing", "/blog", "/docs", "/cart", "/checkout"}
	qsReferrers = []string{"google", "newsletter", "twitter"}
)

type qsUser struct {
	id, first, country string
	ltv                float64
	vip                bool
	signup             time.Time
	interests          []string
}

func qsUserRows(n, from int, rng *rand.Rand) []qsUser {
	var out []qsUser
	for i := from; i < from+n; i++ {
		u := qsUser{id: fmt.Sprintf("C%04d", i), first: qsNames[i%len(qsNames)], country: qsCountries[rng.IntN(len(qsCountries))],
			ltv: float64(rng.IntN(300000)) / 100, signup: qsStart.Add(-time.Duration(rng.IntN(700*24)) * time.Hour)}
		u.vip = u.ltv > 2500
		for _, in := range qsInterests {
			if rng.IntN(3) == 0 {
				u.interests = append(u.interests, in)
			}
		}
		out = append(out, u)
	}
	return out
}

func qsUsersBatch(users []qsUser) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, qsUsers)
	defer b.Release()
	for _, u := range users {
		b.Field(0).(*array.StringBuilder).Append(u.id)
		b.Field(1).(*array.StringBuilder).Append("customer" + strings.TrimPrefix(u.id, "C") + "@example.com")
		b.Field(2).(*array.StringBuilder).Append(u.first)
		b.Field(3).(*array.StringBuilder).Append(u.country)
		b.Field(4).(*array.Float64Builder).Append(u.ltv)
		b.Field(5).(*array.BooleanBuilder).Append(u.vip)
		b.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(u.signup.UnixMicro()))
		lb := b.Field(7).(*array.ListBuilder)
		lb.Append(true)
		for _, in := range u.interests {
			lb.ValueBuilder().(*array.StringBuilder).Append(in)
		}
	}
	return b.NewRecordBatch()
}

// qsEventsBatch makes n page views with ids from first, at times spread
// over [from, from+span) (a few without a timestamp when nulls is set).
func qsEventsBatch(rng *rand.Rand, first, n, users int, from time.Time, span time.Duration, nulls bool) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, qsEvents)
	defer b.Release()
	for i := 0; i < n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(first + i))
		if nulls && i%997 == 500 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(from.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Second).UnixMicro()))
		}
		b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("customer%04d@example.com", rng.IntN(users)))
		b.Field(3).(*array.StringBuilder).Append(qsPages[rng.IntN(len(qsPages))])
		if r := rng.IntN(len(qsReferrers) + 2); r < len(qsReferrers) {
			b.Field(4).(*array.StringBuilder).Append(qsReferrers[r])
		} else {
			b.Field(4).AppendNull()
		}
	}
	return b.NewRecordBatch()
}

const qsConfig = `# Written by lakeport quickstart. Relative paths are relative to this file.
platform: sqlite://platform.db
state: sqlite://state.db

connections:
  lake:
    type: local          # a directory of catalog/schema/table Delta tables
    path: lakehouse

jobs:
  - name: web_events
    kind: import.table   # rows newer than the watermark -> a platform stream
    connection: lake
    schedule: every 15m
    settings:
      catalog: main
      schema: web
      table: events
      timestamp_column: ts
      batch_size: 1000   # tie-breaker: event_id (found by name)

  - name: crm_users
    kind: import.changes # the change data feed -> profiles
    connection: lake
    schedule: {frequency: daily, time_of_day: "02:30", time_zone: Europe/Amsterdam}
    settings:
      catalog: main
      schema: crm
      table: users
      identifier: {column: email, field: email}
      attributes:        # column: predefined platform attribute
        first_name: first_name
        country: country
        lifetime_value: lifetime_value
        vip: vip
        signup_at: signup_at
        interests: interests
      delete_profiles: true

  - name: events_export
    kind: export.events  # platform streams -> Delta tables, staged and loaded exactly once
    connection: lake     # no schedule: the kind's default, about every 15 minutes
    settings:
      catalog: main
      schema: lakeport_exports   # -> main.lakeport_exports.lakeport_events_{stream}

  - name: vips_export
    kind: export.audience  # an audience's members -> a table replaced each run (CSV staged)
    connection: lake       # no schedule: every 24 hours
    settings:
      catalog: main
      schema: lakeport_exports   # -> main.lakeport_exports.lakeport_user_vips
      audience: vips
      fields: [email, first_name, country, lifetime_value, interests]

  - name: vip_changes_export
    kind: export.audience_changes  # who entered or left the audiences -> an appended table
    connection: lake               # no schedule: every 5 minutes
    settings:
      catalog: main
      schema: lakeport_exports     # -> main.lakeport_exports.lakeport_seg_changes
      audiences: [vips]
      id_field: email
      backfill: true               # first run: an enter row for every current member

  - name: audit_export
    kind: export.system_events     # the audit log (jobs created, runs...) -> an appended table
    connection: lake               # no schedule: about every hour
    settings:
      catalog: main
      schema: lakeport_exports     # -> main.lakeport_exports.lakeport_system_event_export_default

  - name: stream_metrics_export
    kind: export.metrics           # events per write of every stream -> an appended table (gzip CSV)
    connection: lake
    settings:
      catalog: main
      schema: lakeport_exports     # -> main.lakeport_exports.lakeport_default_metrics
      dimension: stream
      metric_type: events
`

func prepareQuickstartDir(dir string) error {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	case len(ents) > 0:
		if _, err := os.Stat(filepath.Join(dir, quickstartMarker)); err != nil {
			return fmt.Errorf("%s exists and was not made by lakeport quickstart; choose another --dir", dir)
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "lakehouse"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, quickstartMarker), []byte("made by lakeport quickstart; recreated by the next one\n"), 0o644)
}

func runQuickstart(ctx context.Context, w io.Writer, dir string) error {
	if err := prepareQuickstartDir(dir); err != nil {
		return err
	}
	lake := filepath.Join(dir, "lakehouse")
	usersDir := filepath.Join(lake, "main", "crm", "users")
	eventsDir := filepath.Join(lake, "main", "web", "events")
	rng := rand.New(rand.NewPCG(2024, 6))
	head := func(s string) { fmt.Fprintf(w, "\n== %s\n", s) }

	head("1. A local lakehouse with two sample tables")
	for _, d := range []string{usersDir, eventsDir} {
		if err := os.MkdirAll(filepath.Dir(d), 0o755); err != nil {
			return err
		}
	}
	users, err := delta.Create(ctx, usersDir, delta.TableSpec{Schema: qsUsers, Name: "users",
		Properties: map[string]string{"delta.enableChangeDataFeed": "true"}, Description: "customers (quickstart sample)"})
	if err != nil {
		return err
	}
	defer users.Close()
	userRows := qsUserRows(200, 1, rng)
	rec := qsUsersBatch(userRows)
	_, err = users.Append(ctx, delta.RecordsOf(qsUsers, rec), delta.WriteOptions{})
	rec.Release()
	if err != nil {
		return err
	}
	events, err := delta.Create(ctx, eventsDir, delta.TableSpec{Schema: qsEvents, Name: "events", Description: "page views (quickstart sample)"})
	if err != nil {
		return err
	}
	defer events.Close()
	next := 1
	for f := 0; f < 5; f++ { // five files whose time ranges overlap
		rec := qsEventsBatch(rng, next, 1000, 200, qsStart.Add(time.Duration(f)*12*time.Hour), 36*time.Hour, true)
		_, err := events.Append(ctx, delta.RecordsOf(qsEvents, rec), delta.WriteOptions{})
		rec.Release()
		if err != nil {
			return err
		}
		next += 1000
	}
	fmt.Fprintf(w, "%s\n  main.crm.users   200 customers, change data feed on\n  main.web.events  5,000 page views in 5 files (5 without a timestamp)\n", lake)

	head("2. lakeport.yaml: a connection and two jobs")
	cfgPath := filepath.Join(dir, "lakeport.yaml")
	if err := os.WriteFile(cfgPath, []byte(qsConfig), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s\n", cfgPath)
	for _, line := range strings.Split(strings.TrimSpace(qsConfig), "\n") {
		fmt.Fprintln(w, "  "+line)
	}
	cfg, err := job.Load(cfgPath)
	if err != nil {
		return err
	}
	stateLoc, err := cfg.State.Resolve()
	if err != nil {
		return err
	}
	state, err := jobstore.Open(ctx, stateLoc)
	if err != nil {
		return err
	}
	defer state.Close()
	platLoc, err := cfg.Platform.Resolve()
	if err != nil {
		return err
	}
	plat, err := openPlatform(ctx, platLoc)
	if err != nil {
		return err
	}
	defer plat.Close()

	head("3. The platform's attributes (import.changes maps only to predefined ones) and an audience")
	for _, f := range []platform.Field{
		{Name: "first_name", Type: platform.TypeString}, {Name: "country", Type: platform.TypeString},
		{Name: "lifetime_value", Type: platform.TypeNumber}, {Name: "vip", Type: platform.TypeBoolean},
		{Name: "signup_at", Type: platform.TypeDatetime}, {Name: "interests", Type: platform.TypeStringArray},
	} {
		if err := plat.DefineField(ctx, f); err != nil {
			return err
		}
		fmt.Fprintf(w, "  lakeport platform fields define %s %s\n", f.Name, f.Type)
	}
	if _, err := plat.PutAudience(ctx, "vips", "vip == true"); err != nil {
		return err
	}
	fmt.Fprintln(w, `  lakeport platform audiences put vips "vip == true"`)
	if _, err := job.Sync(ctx, state, plat, cfg, time.Now()); err != nil {
		return err
	}
	env := job.NewEnv(plat, cfg)
	defer env.Close()
	runner := &job.Runner{State: state, Env: env, Redact: cfg.Redact}
	runAll := func() error {
		for _, spec := range cfg.Jobs {
			rec, err := runner.Run(ctx, spec, job.RunOptions{})
			if err != nil {
				return err
			}
			qsSummary(w, rec)
		}
		return nil
	}

	head("4. First runs: the whole events table, the users table's snapshot")
	if err := runAll(); err != nil {
		return err
	}

	head("5. Changes in the lakehouse")
	changed := []qsUser{userRows[2], userRows[6]}
	changed[0].ltv = math.Round((changed[0].ltv+500)*100) / 100
	changed[0].vip = true
	changed[1].country = "DE"
	changed = append(changed, qsUserRows(2, 201, rng)...)
	rec = qsUsersBatch(changed)
	_, err = users.Merge(ctx, delta.RecordsOf(qsUsers, rec), delta.MergeOptions{Keys: []string{"customer_id"}}, delta.WriteOptions{})
	rec.Release()
	if err != nil {
		return err
	}
	if _, err := users.Delete(ctx, "customer_id = 'C0010'", delta.WriteOptions{}); err != nil {
		return err
	}
	rec = qsEventsBatch(rng, next, 250, 202, qsStart.Add(84*time.Hour), 6*time.Hour, false) // after the first 3.5 days
	_, err = events.Append(ctx, delta.RecordsOf(qsEvents, rec), delta.WriteOptions{})
	rec.Release()
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "  main.crm.users   MERGE: C0003 lifetime_value +500 and vip, C0007 moves to DE, new C0201 and C0202")
	fmt.Fprintln(w, "                   DELETE: C0010")
	fmt.Fprintln(w, "  main.web.events  APPEND: 250 new page views")

	head("6. Second runs: only what changed travels")
	if err := runAll(); err != nil {
		return err
	}

	head("7. What arrived in the platform")
	streams, err := plat.Streams(ctx)
	if err != nil {
		return err
	}
	for _, s := range streams {
		fmt.Fprintf(w, "  stream %-28s %6d events\n", s.Name, s.Events)
	}
	last, err := plat.LastEvents(ctx, "databricks_main_web_events", 2)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "  newest events:")
	for _, e := range last {
		fmt.Fprintf(w, "    %s\n", e.Data)
	}
	fmt.Fprintln(w, "  profiles:")
	for _, email := range []string{"customer0003@example.com", "customer0007@example.com", "customer0201@example.com", "customer0010@example.com"} {
		p, err := plat.Profile(ctx, platform.Identifier{Field: platform.FieldEmail, Value: email})
		if errors.Is(err, platform.ErrNotFound) {
			fmt.Fprintf(w, "    %-26s deleted (its row was deleted; delete_profiles is on)\n", email)
			continue
		}
		if err != nil {
			return err
		}
		keys := make([]string, 0, len(p.Attributes))
		for k := range p.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%v", k, p.Attributes[k]))
		}
		fmt.Fprintf(w, "    %-26s %s\n", email, strings.Join(parts, " "))
	}

	head("8. What the exports wrote back to the lakehouse")
	if err := qsExportTables(ctx, w, lake); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nDone. Look around:\n")
	fmt.Fprintf(w, "  lakeport jobs --config %s\n", cfgPath)
	fmt.Fprintf(w, "  lakeport runs crm_users --config %s\n", cfgPath)
	fmt.Fprintf(w, "  lakeport run web_events --config %s\n", cfgPath)
	fmt.Fprintf(w, "  lakeport platform profiles --platform %s\n", platLoc)
	fmt.Fprintf(w, "  lakeport table changes %s --from 2\n", usersDir)
	return nil
}

// qsExportTables lists the export tables with their row counts.
func qsExportTables(ctx context.Context, w io.Writer, lake string) error {
	lh, err := local.Open(lake, local.Options{})
	if err != nil {
		return err
	}
	defer lh.Close()
	tables, err := lh.Tables(ctx, "main", "lakeport_exports")
	if err != nil {
		return err
	}
	for _, t := range tables {
		d, err := lh.Describe(ctx, t.Name)
		if err != nil {
			return err
		}
		rows, err := countRows(ctx, lh, t.Name, d.Version)
		if err != nil {
			return err
		}
		var cols []string
		for _, c := range d.Columns {
			cols = append(cols, c.Name+" "+c.Type)
		}
		fmt.Fprintf(w, "  %-48s %6d rows  (%s)\n", t.Name.Plain(), rows, strings.Join(cols, ", "))
	}
	return nil
}

func countRows(ctx context.Context, lh lakehouse.Lakehouse, name lakehouse.TableName, version int64) (int64, error) {
	r, err := lh.Scan(ctx, name, lakehouse.ScanRequest{Version: version})
	if err != nil {
		return 0, err
	}
	defer r.Close()
	var n int64
	for {
		rec, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n += rec.NumRows()
		rec.Release()
	}
}

func qsSummary(w io.Writer, r job.RunRecord) {
	fmt.Fprintf(w, "  %-10s run %d %s: %d rows", r.Job, r.Seq, r.Status, r.Rows)
	keys := make([]string, 0, len(r.Notes))
	for k := range r.Notes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		switch k {
		case "stream", "examples":
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%v", k, r.Notes[k]))
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
}
