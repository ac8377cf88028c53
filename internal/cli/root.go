package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Execute runs the lakeport command line and returns the process exit code.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "lakeport:", err)
		return 1
	}
	return 0
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "lakeport",
		Short:         "Move data between a Delta lakehouse and a customer-engagement platform",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newTableCmd())
	root.AddCommand(newPlatformCmd())
	root.AddCommand(newJobsCmd(), newRunCmd(), newRunsCmd(), newServeCmd())
	root.AddCommand(newQuickstartCmd())
	root.AddCommand(newConnectionCmd())
	return root
}

// isTerminal reports whether f is a character device (progress lines go only there).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
