package deltatest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// CorpusEnv overrides the location of the Delta acceptance corpus.
const CorpusEnv = "LAKEPORT_DELTA_CORPUS"

// corpusRel is where the corpus lives relative to the repository root (the
// directory holding go.mod).
var corpusRel = filepath.Join("..", "shared", "testdata", "delta-corpus")

// LocateCorpus finds the Delta acceptance corpus without involving a test:
// $LAKEPORT_DELTA_CORPUS if set, else ../shared/testdata/delta-corpus
// relative to the nearest ancestor of the working directory that contains
// go.mod. It returns an error describing where it looked when the corpus is
// missing. Fuzz seeding and tools use it directly; tests use CorpusDir.
func LocateCorpus() (string, error) {
	if dir := os.Getenv(CorpusEnv); dir != "" {
		if err := checkCorpus(dir); err != nil {
			return "", fmt.Errorf("$%s=%s: %w", CorpusEnv, dir, err)
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
		return "", fmt.Errorf("%s (module root %s; set $%s to override): %w", dir, root, CorpusEnv, err)
	}
	return dir, nil
}

// CorpusDir returns the Delta acceptance corpus directory (see LocateCorpus).
// When the corpus is missing the test fails if $CI is "true", and is skipped
// with a loud message otherwise.
func CorpusDir(t testing.TB) string {
	t.Helper()
	dir, err := LocateCorpus()
	if err == nil {
		return dir
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("Delta acceptance corpus not found (CI=true, so this is fatal): %v", err)
	}
	t.Skipf("SKIPPING: Delta acceptance corpus not found: %v -- acceptance tests did NOT run", err)
	return ""
}

// CorpusPath joins elem onto the corpus directory (see CorpusDir).
func CorpusPath(t testing.TB, elem ...string) string {
	t.Helper()
	return filepath.Join(append([]string{CorpusDir(t)}, elem...)...)
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
