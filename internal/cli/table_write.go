package cli

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/spf13/cobra"

	"github.com/lakeport/lakeport/internal/delta"
	"github.com/lakeport/lakeport/internal/format"
)

func newTableCreateCmd() *cobra.Command {
	var schema, partitionBy string
	var props []string
	cmd := &cobra.Command{
		Use:   "create LOCATION --schema \"id long NOT NULL, name string, ...\"",
		Short: "Create an empty Delta table",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := parseSchemaSpec(schema)
			if err != nil {
				return fmt.Errorf("--schema: %w", err)
			}
			properties := map[string]string{}
			for _, p := range props {
				k, v, ok := strings.Cut(p, "=")
				if !ok {
					return fmt.Errorf("--property %q: want key=value", p)
				}
				properties[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
			t, err := delta.Create(cmd.Context(), args[0], delta.TableSpec{Schema: s, PartitionColumns: splitList(partitionBy), Properties: properties})
			if err != nil {
				return err
			}
			defer t.Close()
			fmt.Fprintf(cmd.OutOrStdout(), "created %s (version 0)\n", args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&schema, "schema", "", `columns, e.g. "id long NOT NULL, email string, amount decimal(10,2), ts timestamp"`)
	cmd.Flags().StringVar(&partitionBy, "partition-by", "", "comma-separated partition columns")
	cmd.Flags().StringArrayVar(&props, "property", nil, "table property key=value (repeatable), e.g. delta.enableChangeDataFeed=true")
	cmd.MarkFlagRequired("schema")
	return cmd
}

func newTableAppendCmd() *cobra.Command {
	var inFormat, mode, where, keys, appID string
	var appVersion int64
	var mergeSchema bool
	cmd := &cobra.Command{
		Use:   "append LOCATION FILE",
		Short: "Write the rows of a CSV, NDJSON or Parquet file into a table (append, overwrite, replace-where or merge)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			t, err := delta.Open(ctx, args[0])
			if err != nil {
				return err
			}
			defer t.Close()
			snap, err := t.Snapshot(ctx, delta.Latest())
			if err != nil {
				return err
			}
			f := inFormat
			if f == "" {
				if f, err = format.FormatOf(args[1]); err != nil {
					return err
				}
			}
			src, err := format.OpenFile(args[1], f, snap.ArrowSchema())
			if err != nil {
				return err
			}
			defer src.Close()
			o := delta.WriteOptions{MergeSchema: mergeSchema, AppID: appID, AppVersion: appVersion}
			start := time.Now()
			var res *delta.CommitResult
			switch mode {
			case "append":
				res, err = t.Append(ctx, src, o)
			case "overwrite":
				res, err = t.Overwrite(ctx, src, o)
			case "replace-where":
				if where == "" {
					return fmt.Errorf("--mode replace-where needs --where")
				}
				res, err = t.ReplaceWhere(ctx, where, src, o)
			case "merge":
				if keys == "" {
					return fmt.Errorf("--mode merge needs --keys")
				}
				res, err = t.Merge(ctx, src, delta.MergeOptions{Keys: splitList(keys)}, o)
			default:
				return fmt.Errorf("--mode %q: want append, overwrite, replace-where or merge", mode)
			}
			if err != nil {
				return err
			}
			printResult(cmd, res, time.Since(start))
			return nil
		},
	}
	cmd.Flags().StringVar(&inFormat, "format", "", "input format: csv, ndjson or parquet (default: from the file extension)")
	cmd.Flags().StringVar(&mode, "mode", "append", "append, overwrite, replace-where or merge")
	cmd.Flags().StringVar(&where, "where", "", "with --mode replace-where: the rows (partitions) to replace")
	cmd.Flags().StringVar(&keys, "keys", "", "with --mode merge: comma-separated key columns")
	cmd.Flags().BoolVar(&mergeSchema, "merge-schema", false, "add columns the file has and the table lacks")
	cmd.Flags().StringVar(&appID, "app-id", "", "idempotent write: application id stored in the commit")
	cmd.Flags().Int64Var(&appVersion, "app-version", 0, "idempotent write: a version the table already holds for --app-id makes this a no-op")
	return cmd
}

func printResult(cmd *cobra.Command, res *delta.CommitResult, took time.Duration) {
	if res.Skipped {
		fmt.Fprintf(cmd.OutOrStdout(), "already committed (table at version %d): nothing written\n", res.Version)
		return
	}
	fmt.Fprintf(cmd.OutOrStdout(), "committed version %d: %d rows inserted, %d updated, %d deleted; %d files added, %d removed (%s)\n",
		res.Version, res.RowsInserted, res.RowsUpdated, res.RowsDeleted, res.FilesAdded, res.FilesRemoved, took.Round(time.Millisecond))
}

func newTableVacuumCmd() *cobra.Command {
	var retain string
	var dryRun, force bool
	cmd := &cobra.Command{
		Use:   "vacuum LOCATION",
		Short: "Delete files the table no longer references (older than the retention)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := delta.VacuumOptions{DryRun: dryRun, AllowShortRetention: force}
			if retain != "" {
				d, err := time.ParseDuration(retain)
				if err != nil {
					return fmt.Errorf("--retain %q: %w", retain, err)
				}
				o.Retention = d
			}
			t, err := delta.Open(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer t.Close()
			res, err := t.Vacuum(cmd.Context(), o)
			if err != nil {
				return err
			}
			verb := "deleted"
			if dryRun {
				verb = "would delete"
			}
			for _, f := range res.Files {
				fmt.Fprintln(cmd.OutOrStdout(), f)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %d files (%s)\n", verb, len(res.Files), humanBytes(res.Bytes))
			return nil
		},
	}
	cmd.Flags().StringVar(&retain, "retain", "", "retention, e.g. 168h (default: the table's delta.deletedFileRetentionDuration, 7 days)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list the files without deleting them")
	cmd.Flags().BoolVar(&force, "force", false, "allow a retention shorter than the table's")
	return cmd
}

func newTableOptimizeCmd() *cobra.Command {
	var where string
	var target int64
	cmd := &cobra.Command{
		Use:   "optimize LOCATION",
		Short: "Compact small files into larger ones (no data change)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := delta.Open(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer t.Close()
			start := time.Now()
			res, err := t.Optimize(cmd.Context(), delta.OptimizeOptions{Where: where, TargetFileSize: target << 20})
			if err != nil {
				return err
			}
			if res.FilesRemoved == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "nothing to compact")
				return nil
			}
			printResult(cmd, res, time.Since(start))
			return nil
		},
	}
	cmd.Flags().StringVar(&where, "where", "", "limit to partitions matching this predicate")
	cmd.Flags().Int64Var(&target, "target-size-mb", 128, "target file size in MiB")
	return cmd
}

var columnSpec = regexp.MustCompile(`(?i)^\s*(` + "`[^`]+`" + `|[A-Za-z_][A-Za-z0-9_]*)\s+([a-z_]+(?:\s*\(\s*\d+\s*,\s*\d+\s*\))?)\s*(not\s+null)?\s*$`)

// parseSchemaSpec parses "name type [NOT NULL], ..." with Delta type names.
func parseSchemaSpec(spec string) (*arrow.Schema, error) {
	var fields []arrow.Field
	depth, start := 0, 0
	var parts []string
	for i, r := range spec {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, spec[start:i])
				start = i + 1
			}
		}
	}
	parts = append(parts, spec[start:])
	for _, p := range parts {
		if strings.TrimSpace(p) == "" {
			continue
		}
		m := columnSpec.FindStringSubmatch(p)
		if m == nil {
			return nil, fmt.Errorf("%q: want NAME TYPE [NOT NULL]", strings.TrimSpace(p))
		}
		name := strings.Trim(m[1], "`")
		typ := strings.ToLower(strings.Join(strings.Fields(m[2]), ""))
		st, err := delta.ParseSchema(fmt.Sprintf(`{"type":"struct","fields":[{"name":"x","type":%q,"nullable":true,"metadata":{}}]}`, typ))
		if err != nil {
			return nil, fmt.Errorf("column %q: unknown type %q (want string, long, integer, short, byte, double, float, boolean, binary, date, timestamp, timestamp_ntz or decimal(p,s))", name, m[2])
		}
		fields = append(fields, arrow.Field{Name: name, Type: delta.ArrowType(st.Fields[0].Type), Nullable: m[3] == ""})
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("no columns")
	}
	return arrow.NewSchema(fields, nil), nil
}
