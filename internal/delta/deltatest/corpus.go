package deltatest

import (
	"testing"

	"github.com/lakeport/lakeport/internal/delta/deltatest/corpus"
)

// CorpusEnv overrides the location of the Delta acceptance corpus.
const CorpusEnv = corpus.Env

// LocateCorpus finds the Delta acceptance corpus without involving a test:
// $LAKEPORT_DELTA_CORPUS if set, else ../shared/testdata/delta-corpus
// relative to the nearest ancestor of the working directory that contains
// go.mod. It returns an error describing where it looked when the corpus is
// missing.
func LocateCorpus() (string, error) { return corpus.Locate() }

// CorpusDir returns the Delta acceptance corpus directory (see LocateCorpus).
// When the corpus is missing the test fails if $CI is "true", and is skipped
// with a loud message otherwise. (Package deltatest/corpus offers the same
// without linking Arrow, for fuzz targets.)
func CorpusDir(t testing.TB) string {
	t.Helper()
	return corpus.Dir(t)
}

// CorpusPath joins elem onto the corpus directory (see CorpusDir).
func CorpusPath(t testing.TB, elem ...string) string {
	t.Helper()
	return corpus.Path(t, elem...)
}
