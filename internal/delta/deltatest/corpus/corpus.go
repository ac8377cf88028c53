// Package corpus locates the Delta acceptance corpus for tests. It is a leaf
// package (standard library only) so that tests which only need the corpus
// location, notably fuzz targets, do not link Arrow: Go's fuzzer instruments
// every linked package, and Arrow's size slows fuzzing by orders of
// magnitude. Use deltatest.CorpusDir elsewhere; it is the same function.
package corpus

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Env overrides the location of the Delta acceptance corpus.
const Env = "LAKEPORT_DELTA_CORPUS"

// corpusRel is where the corpus lives relative to the repository root (the
// directory holding go.mod).
var corpusRel = filepath.Join("..", "shared", "testdata", "delta-corpus")

// Locate finds the Delta acceptance corpus without involving a test:
// $LAKEPORT_DELTA_CORPUS if set, else ../shared/testdata/delta-corpus
// relative to the nearest ancestor of the working directory that contains
// go.mod. It returns an error describing where it looked when the corpus is
// missing. Fuzz seeding and tools use it directly; tests use Dir.
func Locate() (string, error) {
	if dir := os.Getenv(Env); dir != "" {
		if err := checkCorpus(dir); err != nil {
			return "", fmt.Errorf("$%s=%s: %w", Env, dir, err)
		}
		return dir, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root, err := moduleRoot(wd)
	if err != nil {
		return "", err
	}
	dir := filepath.Clean(filepath.Join(root, corpusRel))
	if err := checkCorpus(dir); err != nil {
		return "", fmt.Errorf("%s (module root %s; set $%s to override): %w", dir, root, Env, err)
	}
	return dir, nil
}

// Dir returns the Delta acceptance corpus directory (see Locate).
// When the corpus is missing the test fails if $CI is "true", and is skipped
// with a loud message otherwise.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := Locate()
	if err == nil {
		return dir
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("Delta acceptance corpus not found (CI=true, so this is fatal): %v", err)
	}
	t.Skipf("SKIPPING: Delta acceptance corpus not found: %v -- acceptance tests did NOT run", err)
	return ""
}

// Path joins elem onto the corpus directory (see Dir).
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	return filepath.Join(append([]string{Dir(t)}, elem...)...)
}

func checkCorpus(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return errors.New("not a directory")
	}
	if _, err := os.Stat(filepath.Join(dir, "INDEX.md")); err != nil {
		return fmt.Errorf("no INDEX.md: %w", err)
	}
	return nil
}

func moduleRoot(dir string) (string, error) {
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod in %s or any parent", dir)
		}
		d = parent
	}
}
