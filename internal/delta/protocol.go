package delta

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SupportedReaderFeatures are the table features this reader implements.
// Any other reader feature makes a table unreadable: reading fails closed.
var SupportedReaderFeatures = map[string]bool{
	"deletionVectors":      true,
	"columnMapping":        true,
	"timestampNtz":         true,
	"v2Checkpoint":         true,
	"vacuumProtocolCheck":  true,
	"typeWidening":         true,
	"typeWidening-preview": true,
}

// MaxReaderVersion is the highest minReaderVersion this reader supports.
const MaxReaderVersion = 3

// checkReadable refuses a protocol this reader cannot honour.
func checkReadable(p *Protocol) error {
	for _, f := range p.ReaderFeatures {
		if !SupportedReaderFeatures[f] {
			return &UnsupportedError{What: "reader feature", Name: f}
		}
	}
	if p.MinReaderVersion < 1 || p.MinReaderVersion > MaxReaderVersion {
		return &UnsupportedError{What: "reader version", Name: strconv.Itoa(p.MinReaderVersion)}
	}
	return nil
}

// HasFeature reports whether the protocol lists a reader or writer feature.
func (p Protocol) HasFeature(name string) bool {
	for _, f := range p.ReaderFeatures {
		if f == name {
			return true
		}
	}
	for _, f := range p.WriterFeatures {
		if f == name {
			return true
		}
	}
	return false
}

func (s *Snapshot) ictEnabled() bool {
	v, _ := s.Property("delta.enableInCommitTimestamps")
	return strings.EqualFold(v, "true")
}

// commitTime is a commit's timestamp: the in-commit timestamp when the table
// has them, else commitInfo.timestamp, else the log file's modification time.
// (commitInfo.timestamp is preferred to the file time because copies of a table
// lose file times; the two agree on tables written in place.)
func commitTime(ci *CommitInfo, mod time.Time, ict bool) time.Time {
	if ci != nil {
		if ci.InCommitTimestamp != nil && (ict || ci.Timestamp == nil) {
			return time.UnixMilli(*ci.InCommitTimestamp).UTC()
		}
		if ci.Timestamp != nil {
			return time.UnixMilli(*ci.Timestamp).UTC()
		}
	}
	return mod.UTC()
}

var intervalRE = regexp.MustCompile(`^(?i)\s*(?:interval\s+)?(\d+)\s*(\w+)\s*$`)

// ParseInterval parses a Delta interval property such as "interval 7 days".
func ParseInterval(s string) (time.Duration, error) {
	m := intervalRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("invalid interval %q", s)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	unit := strings.TrimSuffix(strings.ToLower(m[2]), "s")
	mult := map[string]time.Duration{
		"nanosecond": time.Nanosecond, "microsecond": time.Microsecond, "millisecond": time.Millisecond,
		"second": time.Second, "minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour, "week": 7 * 24 * time.Hour,
	}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("invalid interval unit in %q", s)
	}
	return time.Duration(n) * mult, nil
}

// expireTxns drops app transactions older than delta.setTransactionRetentionDuration.
func (s *Snapshot) expireTxns(_ *CommitInfo, _ time.Time) {
	v, ok := s.Property("delta.setTransactionRetentionDuration")
	if !ok {
		return
	}
	d, err := ParseInterval(v)
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-d).UnixMilli()
	for id, t := range s.txns {
		if t.LastUpdated != nil && *t.LastUpdated < cutoff {
			delete(s.txns, id)
		}
	}
}

// commitTimestamp reads the timestamp of one commit.
func (t *Table) commitTimestamp(ctx context.Context, lf logFile, ict bool) (time.Time, error) {
	b, err := t.bucket.ReadAll(ctx, lf.Key)
	if err != nil {
		return time.Time{}, err
	}
	actions, err := ParseActions(strings.NewReader(string(b)))
	if err != nil {
		return time.Time{}, &CorruptLogError{Table: t.location, Reason: fmt.Sprintf("%s: %v", lf.Key, err)}
	}
	for _, a := range actions {
		if a.CommitInfo != nil {
			return commitTime(a.CommitInfo, lf.ModTime, ict), nil
		}
	}
	return lf.ModTime.UTC(), nil
}

// versionAt finds the latest version committed at or before ts, by binary
// search over the commits (commit timestamps increase with versions).
func (t *Table) versionAt(ctx context.Context, files []logFile, ts time.Time) (int64, error) {
	var commits []logFile
	for _, f := range files {
		if f.Kind == kindCommit {
			commits = append(commits, f)
		}
	}
	if len(commits) == 0 {
		return 0, &VersionError{Table: t.location, Reason: "no commits to time travel over"}
	}
	sort.Slice(commits, func(i, j int) bool { return commits[i].Version < commits[j].Version })
	var firstErr error
	tsOf := func(i int) time.Time {
		v, err := t.commitTimestamp(ctx, commits[i], true)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return v
	}
	// first index whose timestamp is after ts
	i := sort.Search(len(commits), func(i int) bool { return tsOf(i).After(ts) })
	if firstErr != nil {
		return 0, firstErr
	}
	if i == 0 {
		earliest := tsOf(0)
		return 0, &VersionError{Table: t.location, Reason: fmt.Sprintf("timestamp %s is before the earliest available commit (version %d at %s)",
			ts.UTC().Format(time.RFC3339Nano), commits[0].Version, earliest.Format(time.RFC3339Nano))}
	}
	return commits[i-1].Version, nil
}
