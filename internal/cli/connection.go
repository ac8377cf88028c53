package cli

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lakeport/lakeport/internal/errs"
	"github.com/lakeport/lakeport/internal/job"
	"github.com/lakeport/lakeport/internal/lakehouse/databricks/workspace"
)

// workspaceTransport, when set (tests), carries the workspace client's HTTP.
var workspaceTransport http.RoundTripper

func newConnectionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "connection",
		Short: "Check the lakehouse connections of a configuration",
	}
	var config string
	verify := &cobra.Command{
		Use:   "verify NAME",
		Short: "Check a connection: login, warehouse access and catalog permissions",
		Long: `Verify checks a connection the way a job will use it and says which check failed.

For a databricks connection: that the token or service principal can sign in,
that it may use the SQL warehouse of http_path (read without starting it), and
that it has USE CATALOG on the connection's catalog (or, without one, can list
catalogs). For a local connection: that its directory exists.

Exit status 0 when every check passes, 1 otherwise.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cfg, err := job.Load(config)
			if err != nil {
				return err
			}
			conn, ok := cfg.Connection(args[0])
			if !ok {
				var names []string
				for _, c := range cfg.Connections {
					names = append(names, c.Name)
				}
				list := "none are defined"
				if len(names) > 0 {
					list = "defined: " + strings.Join(names, ", ")
				}
				return errs.Invalidf("no connection %q in %s (%s)", args[0], config, list)
			}
			out := cmd.OutOrStdout()
			switch conn.Type {
			case job.ConnLocal:
				st, err := os.Stat(conn.Path)
				if err != nil || !st.IsDir() {
					fmt.Fprintf(out, "%-10s %-7s %s\n", "path", "FAILED", conn.Path+" is not a directory")
					return errs.Invalidf("connection %q: path check failed: %s is not a directory", conn.Name, conn.Path)
				}
				fmt.Fprintf(out, "%-10s %-7s %s\n", "path", "ok", conn.Path)
				return nil
			case job.ConnDatabricks:
			default:
				return errs.Unsupportedf("connection %q: cannot verify type %q", conn.Name, conn.Type)
			}
			wc, err := workspace.FromConnection(conn)
			if err != nil {
				return errors.New(cfg.Redact(err.Error()))
			}
			wc.HTTPTransport = workspaceTransport
			c, err := workspace.New(ctx, wc)
			if err != nil {
				return err
			}
			defer c.Close()
			report, err := c.Verify(ctx)
			if err != nil {
				return err
			}
			for _, ch := range report.Checks {
				status := "ok"
				switch ch.Status {
				case workspace.CheckFailed:
					status = "FAILED"
				case workspace.CheckSkipped:
					status = "skipped"
				}
				fmt.Fprintf(out, "%-10s %-7s %s\n", ch.Name, status, cfg.Redact(ch.Detail))
			}
			if err := report.Err(); err != nil {
				return &errs.Error{Kind: errs.Classify(err), Err: errors.New(cfg.Redact(err.Error()))}
			}
			return nil
		},
	}
	configFlag(verify, &config)
	cmd.AddCommand(verify)
	return cmd
}
