package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lakeport/lakeport/internal/delta"
	"github.com/lakeport/lakeport/internal/format"
)

func newTableCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "table",
		Short: "Inspect and read Delta tables (a directory or a bucket URL)",
	}
	cmd.AddCommand(newTableInfoCmd(), newTableShowCmd(), newTableChangesCmd(),
		newTableCreateCmd(), newTableAppendCmd(), newTableVacuumCmd(), newTableOptimizeCmd())
	return cmd
}

func newTableInfoCmd() *cobra.Command {
	var version int64
	var ts string
	cmd := &cobra.Command{
		Use:   "info LOCATION",
		Short: "Show a table's version, protocol, features, schema, partitioning, files and size",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			at, err := parseAt(cmd, version, ts)
			if err != nil {
				return err
			}
			snap, err := openSnapshot(cmd.Context(), args[0], at)
			if err != nil {
				return err
			}
			printInfo(cmd.OutOrStdout(), args[0], snap)
			return nil
		},
	}
	cmd.Flags().Int64Var(&version, "version", -1, "read this version (time travel)")
	cmd.Flags().StringVar(&ts, "timestamp", "", "read the version current at this time (RFC 3339 or 'YYYY-MM-DD HH:MM:SS' UTC)")
	return cmd
}

func newTableShowCmd() *cobra.Command {
	var version, limit int64
	var ts, columns, where, outFormat string
	cmd := &cobra.Command{
		Use:   "show LOCATION",
		Short: "Print a table's rows",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			at, err := parseAt(cmd, version, ts)
			if err != nil {
				return err
			}
			snap, err := openSnapshot(cmd.Context(), args[0], at)
			if err != nil {
				return err
			}
			batches, err := snap.Scan(cmd.Context(), delta.ScanOptions{Columns: splitList(columns), Where: where, Limit: limit, Ordered: true})
			if err != nil {
				return err
			}
			return writeBatches(cmd.Context(), cmd.OutOrStdout(), outFormat, batches)
		},
	}
	cmd.Flags().Int64Var(&version, "version", -1, "read this version (time travel)")
	cmd.Flags().StringVar(&ts, "timestamp", "", "read the version current at this time (RFC 3339 or 'YYYY-MM-DD HH:MM:SS' UTC)")
	cmd.Flags().StringVar(&columns, "columns", "", "comma-separated columns to print (default all)")
	cmd.Flags().StringVar(&where, "where", "", `row filter, e.g. "country = 'NL' AND ts >= TIMESTAMP '2024-01-01 00:00:00'"`)
	cmd.Flags().Int64Var(&limit, "limit", 20, "print at most this many rows (0 = all)")
	cmd.Flags().StringVar(&outFormat, "format", "table", "output format: table, json (NDJSON) or csv")
	return cmd
}

func newTableChangesCmd() *cobra.Command {
	var from, to, limit int64
	var columns, where, outFormat string
	cmd := &cobra.Command{
		Use:   "changes LOCATION --from V [--to V]",
		Short: "Print the change data feed between two versions (inclusive), like Databricks table_changes",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("from") {
				return errors.New("--from VERSION is required")
			}
			opts := delta.ChangesOptions{StartVersion: &from, Columns: splitList(columns), Where: where, Limit: limit}
			if cmd.Flags().Changed("to") {
				opts.EndVersion = &to
			}
			t, err := delta.Open(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer t.Close()
			batches, err := t.Changes(cmd.Context(), opts)
			if err != nil {
				return err
			}
			return writeBatches(cmd.Context(), cmd.OutOrStdout(), outFormat, batches)
		},
	}
	cmd.Flags().Int64Var(&from, "from", 0, "first version (inclusive)")
	cmd.Flags().Int64Var(&to, "to", 0, "last version (inclusive; default the latest)")
	cmd.Flags().StringVar(&columns, "columns", "", "comma-separated columns to print (default all, plus _change_type, _commit_version, _commit_timestamp)")
	cmd.Flags().StringVar(&where, "where", "", "row filter")
	cmd.Flags().Int64Var(&limit, "limit", 0, "print at most this many rows (0 = all)")
	cmd.Flags().StringVar(&outFormat, "format", "table", "output format: table, json (NDJSON) or csv")
	return cmd
}

func parseAt(cmd *cobra.Command, version int64, ts string) (delta.At, error) {
	vSet, tSet := cmd.Flags().Changed("version"), cmd.Flags().Changed("timestamp")
	switch {
	case vSet && tSet:
		return delta.At{}, errors.New("use --version or --timestamp, not both")
	case vSet:
		if version < 0 {
			return delta.At{}, fmt.Errorf("--version %d: want a version >= 0", version)
		}
		return delta.AtVersion(version), nil
	case tSet:
		t, err := parseTime(ts)
		if err != nil {
			return delta.At{}, fmt.Errorf("--timestamp: %w", err)
		}
		return delta.AtTimestamp(t), nil
	}
	return delta.Latest(), nil
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, strings.TrimSuffix(strings.TrimSpace(s), " UTC")); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (want RFC 3339, 'YYYY-MM-DD HH:MM:SS' UTC or YYYY-MM-DD)", s)
}

func openSnapshot(ctx context.Context, location string, at delta.At) (*delta.Snapshot, error) {
	t, err := delta.Open(ctx, location)
	if err != nil {
		return nil, err
	}
	return t.Snapshot(ctx, at)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func writeBatches(ctx context.Context, w io.Writer, name string, b delta.Batches) error {
	defer b.Close()
	fw, err := format.NewWriter(name, w, b.Schema())
	if err != nil {
		return err
	}
	for {
		rec, err := b.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		err = fw.Write(rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	return fw.Close()
}

func printInfo(w io.Writer, location string, s *delta.Snapshot) {
	p, m := s.Protocol(), s.Metadata()
	fmt.Fprintf(w, "location:        %s\n", location)
	fmt.Fprintf(w, "version:         %d (committed %s)\n", s.Version(), s.Timestamp().Format(time.RFC3339))
	fmt.Fprintf(w, "protocol:        reader %d, writer %d\n", p.MinReaderVersion, p.MinWriterVersion)
	if len(p.ReaderFeatures) > 0 {
		fmt.Fprintf(w, "reader features: %s\n", strings.Join(p.ReaderFeatures, ", "))
	}
	if len(p.WriterFeatures) > 0 {
		fmt.Fprintf(w, "writer features: %s\n", strings.Join(p.WriterFeatures, ", "))
	}
	fmt.Fprintf(w, "change data feed: %v\n", s.ChangeDataFeedEnabled())
	fmt.Fprintf(w, "column mapping:  %s\n", s.ColumnMapping())
	if len(m.PartitionColumns) > 0 {
		fmt.Fprintf(w, "partitioned by:  %s\n", strings.Join(m.PartitionColumns, ", "))
	} else {
		fmt.Fprintf(w, "partitioned by:  (none)\n")
	}
	fmt.Fprintf(w, "files:           %d\n", len(s.Files()))
	fmt.Fprintf(w, "size:            %s (%d bytes)\n", humanBytes(s.TotalSize()), s.TotalSize())
	if txns := s.AppTransactions(); len(txns) > 0 {
		ids := make([]string, 0, len(txns))
		for id := range txns {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		fmt.Fprintf(w, "app transactions:\n")
		for _, id := range ids {
			fmt.Fprintf(w, "  %s: %d\n", id, txns[id].Version)
		}
	}
	if len(m.Configuration) > 0 {
		keys := make([]string, 0, len(m.Configuration))
		for k := range m.Configuration {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(w, "properties:\n")
		for _, k := range keys {
			fmt.Fprintf(w, "  %s = %s\n", k, m.Configuration[k])
		}
	}
	fmt.Fprintf(w, "schema:\n")
	for _, f := range s.Schema().Fields {
		null := ""
		if !f.Nullable {
			null = " NOT NULL"
		}
		fmt.Fprintf(w, "  %s: %s%s\n", f.Name, f.Type, null)
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
