package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lakeport/lakeport/internal/platform"
	"github.com/lakeport/lakeport/internal/platform/pgstore"
	"github.com/lakeport/lakeport/internal/platform/sqlitestore"
	"github.com/lakeport/lakeport/internal/server"
)

// platformEnv names the environment variable holding the default store.
const platformEnv = "LAKEPORT_PLATFORM"

const defaultPlatform = "sqlite://.lakeport/platform.db"

func newPlatformCmd() *cobra.Command {
	var loc string
	cmd := &cobra.Command{
		Use:   "platform",
		Short: "Look inside the platform store: streams, profiles, fields, audiences, system events, metrics",
	}
	def := os.Getenv(platformEnv)
	if def == "" {
		def = defaultPlatform
	}
	cmd.PersistentFlags().StringVar(&loc, "platform", def, "platform store: sqlite://PATH or postgres://... (env "+platformEnv+")")
	open := func(cmd *cobra.Command) (platform.Store, error) { return openPlatform(cmd.Context(), loc) }
	cmd.AddCommand(newPlatformStreamsCmd(open), newPlatformProfilesCmd(open), newPlatformFieldsCmd(open),
		newPlatformAudiencesCmd(open), newPlatformEventsCmd(open), newPlatformMetricsCmd(open),
		newPlatformIngestCmd(open), newPlatformServeCmd(open))
	return cmd
}

type platformOpener func(cmd *cobra.Command) (platform.Store, error)

// openPlatform opens the store at a sqlite:// or postgres:// location.
func openPlatform(ctx context.Context, loc string) (platform.Store, error) {
	switch {
	case strings.HasPrefix(loc, "sqlite://"):
		return sqlitestore.Open(ctx, strings.TrimPrefix(loc, "sqlite://"), platform.Options{})
	case strings.HasPrefix(loc, "postgres://"), strings.HasPrefix(loc, "postgresql://"):
		return pgstore.Open(ctx, loc, platform.Options{})
	}
	return nil, fmt.Errorf("--platform %q: want sqlite://PATH or postgres://...", loc)
}

// withStore opens the store, runs fn and closes the store.
func withPlatform(open platformOpener, fn func(cmd *cobra.Command, s platform.Store, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		s, err := open(cmd)
		if err != nil {
			return err
		}
		defer s.Close()
		return fn(cmd, s, args)
	}
}

func platformTable(w io.Writer, header string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

func platformTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

func newPlatformStreamsCmd(open platformOpener) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "streams",
		Short: "List streams with their event counts",
		Args:  cobra.NoArgs,
		RunE: withPlatform(open, func(cmd *cobra.Command, s platform.Store, _ []string) error {
			streams, err := s.Streams(cmd.Context())
			if err != nil {
				return err
			}
			var rows [][]string
			for _, st := range streams {
				rows = append(rows, []string{st.Name, fmt.Sprint(st.Events), platformTime(st.LastTS)})
			}
			platformTable(cmd.OutOrStdout(), "STREAM\tEVENTS\tLAST RECEIVED", rows)
			return nil
		}),
	}
	cmd.AddCommand(newPlatformTailCmd(open))
	return cmd
}

func newPlatformTailCmd(open platformOpener) *cobra.Command {
	var n int
	var follow bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "tail STREAM",
		Short: "Print a stream's newest events (ID, receive time, event time, data); --follow keeps printing new ones",
		Args:  cobra.ExactArgs(1),
		RunE: withPlatform(open, func(cmd *cobra.Command, s platform.Store, args []string) error {
			ctx, w := cmd.Context(), cmd.OutOrStdout()
			evs, err := s.LastEvents(ctx, args[0], n)
			if err != nil {
				return err
			}
			var cur platform.Cursor
			for {
				for _, e := range evs {
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", e.ID, platformTime(e.ReceiveTS), platformTime(e.EventTS), e.Data)
					cur = e.Cursor()
				}
				if !follow {
					return nil
				}
				if len(evs) < platform.MaxPage {
					select {
					case <-ctx.Done():
						return nil
					case <-time.After(interval):
					}
				}
				if evs, err = s.ReadStream(ctx, args[0], cur, platform.MaxPage); err != nil {
					return err
				}
			}
		}),
	}
	cmd.Flags().IntVarP(&n, "lines", "n", 10, "how many of the newest events to print first")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing events as they arrive (until interrupted)")
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "how often --follow polls")
	return cmd
}

func newPlatformProfilesCmd(open platformOpener) *cobra.Command {
	var limit int
	var after int64
	cmd := &cobra.Command{
		Use:   "profiles",
		Short: "List profiles by ID",
		Args:  cobra.NoArgs,
		RunE: withPlatform(open, func(cmd *cobra.Command, s platform.Store, _ []string) error {
			ps, err := s.Profiles(cmd.Context(), after, limit)
			if err != nil {
				return err
			}
			var rows [][]string
			for _, p := range ps {
				var ids []string
				for _, id := range p.Identifiers {
					ids = append(ids, id.String())
				}
				rows = append(rows, []string{fmt.Sprint(p.ID), strings.Join(ids, " "), fmt.Sprint(len(p.Attributes)), platformTime(p.UpdatedAt)})
			}
			platformTable(cmd.OutOrStdout(), "ID\tIDENTIFIERS\tATTRIBUTES\tUPDATED", rows)
			return nil
		}),
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "print at most this many profiles")
	cmd.Flags().Int64Var(&after, "after", 0, "start after this profile ID")
	show := &cobra.Command{
		Use:   "show FIELD:VALUE",
		Short: "Show the profile holding an identifier, e.g. email:ada@example.com or phone:+31612345678",
		Args:  cobra.ExactArgs(1),
		RunE: withPlatform(open, func(cmd *cobra.Command, s platform.Store, args []string) error {
			id, err := platform.ParseIdentifier(args[0])
			if err != nil {
				return err
			}
			p, err := s.Profile(cmd.Context(), id)
			if err != nil {
				return err
			}
			return platformJSON(cmd.OutOrStdout(), platformProfileJSON(p))
		}),
	}
	upsert := &cobra.Command{
		Use:   "upsert FILE",
		Short: `Upsert the profiles of an NDJSON FILE ('-' for stdin), all or nothing; one per line: {"identifiers":{"email":"ada@example.com"},"attributes":{"age":36}}`,
		Args:  cobra.ExactArgs(1),
		RunE: withPlatform(open, func(cmd *cobra.Command, s platform.Store, args []string) error {
			body, err := platformReadFile(cmd, args[0])
			if err != nil {
				return err
			}
			in, err := platformDecodeProfiles(body)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			res, err := s.Write(cmd.Context(), platform.Batch{Upserts: in})
			if err != nil {
				return err
			}
			created, changed, merged := 0, 0, 0
			for _, u := range res.Upserted {
				if u.Created {
					created++
				} else if u.Changed {
					changed++
				}
				merged += len(u.Merged)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d profiles: %d created, %d changed, %d merged away; audiences: %d entered, %d exited\n",
				len(in), created, changed, merged, res.Audiences.Entered, res.Audiences.Exited)
			return nil
		}),
	}
	del := &cobra.Command{
		Use:   "delete FIELD:VALUE",
		Short: "Delete the profile holding an identifier",
		Args:  cobra.ExactArgs(1),
		RunE: withPlatform(open, func(cmd *cobra.Command, s platform.Store, args []string) error {
			id, err := platform.ParseIdentifier(args[0])
			if err != nil {
				return err
			}
			res, err := s.Write(cmd.Context(), platform.Batch{Deletes: []platform.Identifier{id}})
			if err != nil {
				return err
			}
			if res.Deleted == 0 {
				return &platform.NotFoundError{What: "profile", Key: args[0]}
			}
			return nil
		}),
	}
	cmd.AddCommand(show, upsert, del)
	return cmd
}

// platformDecodeProfiles reads NDJSON profile inputs; identifier values are
// a string or an array of strings.
func platformDecodeProfiles(body []byte) ([]platform.ProfileInput, error) {
	var out []platform.ProfileInput
	for i, line := range strings.Split(string(body), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var v struct {
			Identifiers map[string]json.RawMessage `json:"identifiers"`
			Attributes  map[string]any             `json:"attributes"`
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			return nil, &platform.LineError{Line: i + 1, Err: platform.Invalidf("%v", err)}
		}
		in := platform.ProfileInput{Attributes: v.Attributes}
		for field, raw := range v.Identifiers {
			var values []string
			if json.Unmarshal(raw, &values) != nil {
				var one string
				if err := json.Unmarshal(raw, &one); err != nil {
					return nil, &platform.LineError{Line: i + 1, Err: &platform.FieldError{Field: field, Reason: "want a string or an array of strings"}}
				}
				values = []string{one}
			}
			for _, val := range values {
				in.Identifiers = append(in.Identifiers, platform.Identifier{Field: field, Value: val})
			}
		}
		platform.SortIdentifiers(in.Identifiers)
		out = append(out, in)
	}
	if len(out) == 0 {
		return nil, platform.Invalidf("no profiles in input")
	}
	return out, nil
}

// platformReadFile reads a file, or stdin for "-".
func platformReadFile(cmd *cobra.Command, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(cmd.InOrStdin())
	}
	return os.ReadFile(name)
}

func platformProfileJSON(p platform.Profile) map[string]any {
	ids := map[string][]string{}
	for _, id := range p.Identifiers {
		ids[id.Field] = append(ids[id.Field], id.Value)
	}
	return map[string]any{"id": p.ID, "identifiers": ids, "attributes": p.Attributes,
		"created_at": platformTime(p.CreatedAt), "updated_at": platformTime(p.UpdatedAt)}
}

func platformJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newPlatformFieldsCmd(open platformOpener) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fields",
		Short: "List the field registry",
		Args:  cobra.NoArgs,
		RunE: withPlatform(open, func(cmd *cobra.Command, s platform.Store, _ []string) error {
			fs, err := s.Fields(cmd.Context())
			if err != nil {
				return err
			}
			var rows [][]string
			for _, f := range fs {
				rows = append(rows, []string{f.Name, string(f.Type), fmt.Sprint(f.Identifier)})
			}
			platformTable(cmd.OutOrStdout(), "FIELD\tTYPE\tIDENTIFIER", rows)
			return nil
		}),
	}
	var identifier bool
	define := &cobra.Command{
		Use:   "define NAME TYPE",
		Short: "Add a field: TYPE is string, number, boolean, datetime or string_array",
		Args:  cobra.ExactArgs(2),
		RunE: withPlatform(open, func(cmd *cobra.Command, s platform.Store, args []string) error {
			return s.DefineField(cmd.Context(), platform.Field{Name: args[0], Type: platform.FieldType(args[1]), Identifier: identifier})
		}),
	}
	define.Flags().BoolVar(&identifier, "identifier", false, "the field identifies profiles (type string)")
	cmd.AddCommand(define)
	return cmd
}

func newPlatformAudiencesCmd(open platformOpener) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audiences",
		Short: "List audiences; put, delete and refresh them, list members and changes",
		Args:  cobra.NoArgs,
		RunE: withPlatform(open, func(cmd *cobra.Command, s platform.Store, _ []string) error {
			as, err := s.Audiences(cmd.Context())
			if err != nil {
				return err
			}
			var rows [][]string
			for _, a := range as {
				rows = append(rows, []string{a.Slug, fmt.Sprint(a.Members), fmt.Sprint(a.Version), platformTime(a.UpdatedAt), a.Definition})
			}
			platformTable(cmd.OutOrStdout(), "AUDIENCE\tMEMBERS\tVERSION\tUPDATED\tDEFINITION", rows)
			return nil
		}),
	}
	put := &cobra.Command{
		Use:   "put SLUG DEFINITION",
		Short: `Create an audience or change its definition (CEL over profile fields, e.g. 'country == "NL" && age >= 18')`,
		Args:  cobra.ExactArgs(2),
		RunE: withPlatform(open, func(cmd *cobra.Command, s platform.Store, args []string) error {
			a, err := s.PutAudience(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "audience %s: version %d, %d members\n", a.Slug, a.Version, a.Members)
			return nil
		}),
	}
	del := &cobra.Command{
		Use:   "delete SLUG",
		Short: "Delete an audience (every member exits)",
		Args:  cobra.ExactArgs(1),
		RunE: withPlatform(open, func(cmd *cobra.Command, s platform.Store, args []string) error {
			return s.DeleteAudience(cmd.Context(), args[0])
		}),
	}
	refresh := &cobra.Command{
		Use:   "refresh",
		Short: "Evaluate the profiles changed since the last refresh against every audience",
		Args:  cobra.NoArgs,
		RunE: withPlatform(open, func(cmd *cobra.Command, s platform.Store, _ []string) error {
			st, err := s.RefreshAudiences(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d profiles evaluated, %d entered, %d exited\n", st.ProfilesEvaluated, st.Entered, st.Exited)
			return nil
		}),
	}
	var limit int
	members := &cobra.Command{
		Use:   "members SLUG",
		Short: "List an audience's current members",
		Args:  cobra.ExactArgs(1),
		RunE: withPlatform(open, func(cmd *cobra.Command, s platform.Store, args []string) error {
			ms, err := s.Members(cmd.Context(), args[0], 0, limit)
			if err != nil {
				return err
			}
			var rows [][]string
			for _, m := range ms {
				var ids []string
				for _, id := range m.Profile.Identifiers {
					ids = append(ids, id.String())
				}
				rows = append(rows, []string{fmt.Sprint(m.Profile.ID), platformTime(m.EnteredAt), strings.Join(ids, " ")})
			}
			platformTable(cmd.OutOrStdout(), "PROFILE\tENTERED\tIDENTIFIERS", rows)
			return nil
		}),
	}
	members.Flags().IntVar(&limit, "limit", 100, "print at most this many members")
	var since string
	var changeLimit int
	changes := &cobra.Command{
		Use:   "changes",
		Short: "List audience enters and exits, oldest first",
		Args:  cobra.NoArgs,
		RunE: withPlatform(open, func(cmd *cobra.Command, s platform.Store, _ []string) error {
			from, err := platformSince(since)
			if err != nil {
				return err
			}
			cs, err := s.AudienceChanges(cmd.Context(), from, changeLimit)
			if err != nil {
				return err
			}
			var rows [][]string
			for _, c := range cs {
				rows = append(rows, []string{fmt.Sprint(c.ID), platformTime(c.Time), c.Audience, fmt.Sprint(c.ProfileID), c.Change})
			}
			platformTable(cmd.OutOrStdout(), "ID\tTIME\tAUDIENCE\tPROFILE\tCHANGE", rows)
			return nil
		}),
	}
	changes.Flags().StringVar(&since, "since", "", "start at this time (RFC 3339, YYYY-MM-DD, or a duration ago such as 24h)")
	changes.Flags().IntVar(&changeLimit, "limit", 100, "print at most this many changes")
	cmd.AddCommand(put, del, refresh, members, changes)
	return cmd
}

// sinceCursor reads --since: empty (the beginning), a duration ago, or a
// time.
func platformSince(s string) (platform.Cursor, error) {
	if s == "" {
		return platform.Cursor{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return platform.Cursor{Time: time.Now().Add(-d)}, nil
	}
	t, err := platform.ParseDatetime(s)
	if err != nil {
		return platform.Cursor{}, fmt.Errorf("--since: %v", err)
	}
	return platform.Cursor{Time: t}, nil
}

func newPlatformEventsCmd(open platformOpener) *cobra.Command {
	var since string
	var limit int
	cmd := &cobra.Command{
		Use:   "events",
		Short: "List system events (the audit log), oldest first",
		Args:  cobra.NoArgs,
		RunE: withPlatform(open, func(cmd *cobra.Command, s platform.Store, _ []string) error {
			from, err := platformSince(since)
			if err != nil {
				return err
			}
			evs, err := s.SystemEvents(cmd.Context(), from, limit)
			if err != nil {
				return err
			}
			var rows [][]string
			for _, e := range evs {
				rows = append(rows, []string{fmt.Sprint(e.ID), platformTime(e.Time), platformDash(e.AccountID), platformDash(e.UserID),
					e.SubjectType + ":" + e.SubjectID, e.Verb, platformRelated(e.Related), platformOneLine(e.Notes)})
			}
			platformTable(cmd.OutOrStdout(), "ID\tTIME\tACCOUNT\tUSER\tSUBJECT\tVERB\tRELATED\tNOTES", rows)
			return nil
		}),
	}
	cmd.Flags().StringVar(&since, "since", "", "start at this time (RFC 3339, YYYY-MM-DD, or a duration ago such as 24h)")
	cmd.Flags().IntVar(&limit, "limit", 100, "print at most this many events")
	return cmd
}

func platformDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func platformRelated(m map[string]string) string {
	var kv []string
	for k, v := range m {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return platformDash(strings.Join(kv, ","))
}

func platformOneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func newPlatformMetricsCmd(open platformOpener) *cobra.Command {
	var q platform.MetricQuery
	var since string
	cmd := &cobra.Command{
		Use:   "metrics",
		Short: "List metric points (audience sizes, stream volumes, job runs)",
		Args:  cobra.NoArgs,
		RunE: withPlatform(open, func(cmd *cobra.Command, s platform.Store, _ []string) error {
			from, err := platformSince(since)
			if err != nil {
				return err
			}
			q.From = from.Time
			ms, err := s.Metrics(cmd.Context(), q)
			if err != nil {
				return err
			}
			var rows [][]string
			for _, m := range ms {
				rows = append(rows, []string{platformTime(m.Timestamp), m.Dimension, m.DimensionID, m.Type, fmt.Sprint(m.Value)})
			}
			platformTable(cmd.OutOrStdout(), "TIME\tDIMENSION\tID\tTYPE\tVALUE", rows)
			return nil
		}),
	}
	cmd.Flags().StringVar(&q.Dimension, "dimension", "", "only this dimension (stream, audience, job)")
	cmd.Flags().StringVar(&q.DimensionID, "id", "", "only this dimension id (a stream name, an audience slug, ...)")
	cmd.Flags().StringVar(&q.Type, "type", "", "only this metric type")
	cmd.Flags().StringVar(&since, "since", "", "start at this time (RFC 3339, YYYY-MM-DD, or a duration ago such as 24h)")
	cmd.Flags().IntVar(&q.Limit, "limit", 100, "print at most this many points")
	return cmd
}

func newPlatformIngestCmd(open platformOpener) *cobra.Command {
	var stream string
	cmd := &cobra.Command{
		Use:   "ingest FILE --stream S",
		Short: "Append the NDJSON events of FILE ('-' for stdin) to a stream, all or nothing",
		Args:  cobra.ExactArgs(1),
		RunE: withPlatform(open, func(cmd *cobra.Command, s platform.Store, args []string) error {
			if stream == "" {
				return errors.New("--stream is required")
			}
			if err := platform.ValidateStreamName(stream); err != nil {
				return err
			}
			body, err := platformReadFile(cmd, args[0])
			if err != nil {
				return err
			}
			events, err := platform.DecodeNDJSON(body)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			res, err := s.Write(cmd.Context(), platform.Batch{Appends: []platform.Append{{Stream: stream, Events: events}}})
			if err != nil {
				return err
			}
			a := res.Appended[0]
			fmt.Fprintf(cmd.OutOrStdout(), "%d events appended to %s (ids %d-%d)\n", a.Count, stream, a.FirstID, a.FirstID+int64(a.Count)-1)
			return nil
		}),
	}
	cmd.Flags().StringVar(&stream, "stream", "", "the stream to append to (created if needed)")
	return cmd
}

func newPlatformServeCmd(open platformOpener) *cobra.Command {
	var addr string
	var maxBody int64
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the collect endpoint, POST /api/v1/collect/{stream}, until interrupted",
		Args:  cobra.NoArgs,
		RunE: withPlatform(open, func(cmd *cobra.Command, s platform.Store, _ []string) error {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			srv := &http.Server{
				Handler:           server.New(s, server.Options{Collect: server.CollectOptions{MaxBodyBytes: maxBody}}),
				ReadHeaderTimeout: 10 * time.Second,
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "lakeport: serving on http://%s (POST /api/v1/collect/{stream})\n", ln.Addr())
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ln) }()
			select {
			case err := <-done:
				return err
			case <-cmd.Context().Done():
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				return srv.Shutdown(ctx)
			}
		}),
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen address")
	cmd.Flags().Int64Var(&maxBody, "max-body-bytes", server.DefaultMaxBodyBytes, "largest request body accepted (larger ones get 413)")
	return cmd
}
