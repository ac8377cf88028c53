package delta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lakeport/lakeport/internal/blob"
)

const logDir = "_delta_log/"

type logFileKind int

const (
	kindCommit logFileKind = iota
	kindCheckpoint
	kindCompaction
)

// logFile is one file of the Delta log, classified by its name.
type logFile struct {
	Key     string // key relative to the table root
	Version int64
	Kind    logFileKind
	// checkpoints
	Part, Parts int    // multi-part: part i of n (classic single-part: 1 of 1)
	UUID        string // v2 checkpoints
	Parquet     bool
	// compactions: commits Version..EndVersion
	EndVersion int64
	Size       int64
	ModTime    time.Time
}

var (
	commitRE     = regexp.MustCompile(`^(\d{20})\.json$`)
	classicRE    = regexp.MustCompile(`^(\d{20})\.checkpoint\.parquet$`)
	multipartRE  = regexp.MustCompile(`^(\d{20})\.checkpoint\.(\d{10})\.(\d{10})\.parquet$`)
	v2RE         = regexp.MustCompile(`^(\d{20})\.checkpoint\.([0-9a-fA-F-]{36})\.(json|parquet)$`)
	compactionRE = regexp.MustCompile(`^(\d{20})\.(\d{20})\.compacted\.json$`)
)

func parseLogName(name string) (logFile, bool) {
	num := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	if m := commitRE.FindStringSubmatch(name); m != nil {
		return logFile{Version: num(m[1]), Kind: kindCommit}, true
	}
	if m := classicRE.FindStringSubmatch(name); m != nil {
		return logFile{Version: num(m[1]), Kind: kindCheckpoint, Part: 1, Parts: 1, Parquet: true}, true
	}
	if m := multipartRE.FindStringSubmatch(name); m != nil {
		return logFile{Version: num(m[1]), Kind: kindCheckpoint, Part: int(num(m[2])), Parts: int(num(m[3])), Parquet: true}, true
	}
	if m := v2RE.FindStringSubmatch(name); m != nil {
		return logFile{Version: num(m[1]), Kind: kindCheckpoint, Part: 1, Parts: 1, UUID: m[2], Parquet: m[3] == "parquet"}, true
	}
	if m := compactionRE.FindStringSubmatch(name); m != nil {
		return logFile{Version: num(m[1]), EndVersion: num(m[2]), Kind: kindCompaction}, true
	}
	return logFile{}, false
}

// listLog lists the files directly inside _delta_log, classified and sorted by version.
func (t *Table) listLog(ctx context.Context) ([]logFile, error) { return t.listLogFrom(ctx, -1) }

// listLogFrom lists the log files of versions from on (all when from < 0).
// The listing starts at that version's key, so the cost follows the tail of
// the log, not its length.
func (t *Table) listLogFrom(ctx context.Context, from int64) ([]logFile, error) {
	after := ""
	if from > 0 {
		after = logDir + fmt.Sprintf("%020d", from-1) + "~" // sorts after every file of version from-1
	}
	objs, err := t.bucket.ListAfter(ctx, logDir, after)
	if err != nil {
		return nil, fmt.Errorf("%s: list %s: %w", t.location, logDir, err)
	}
	var out []logFile
	for _, o := range objs {
		name := strings.TrimPrefix(o.Key, logDir)
		if strings.Contains(name, "/") {
			continue // _sidecars/, _staged_commits/, ...
		}
		lf, ok := parseLogName(name)
		if !ok {
			continue
		}
		lf.Key, lf.Size, lf.ModTime = o.Key, o.Size, o.ModTime
		out = append(out, lf)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// probeLogFrom finds the hinted classic checkpoint and the commits after it
// by name, one stat each, for a table in a local directory: listing
// _delta_log there reads every entry of the directory (40,000 for 20,000
// commits), so the cost would follow the log's length; probing follows the
// commits after the checkpoint. ok is false, and the caller lists, when the
// hinted checkpoint is not there under its classic or multi-part name (a
// stale or corrupt hint, a v2 checkpoint) or when a version is missing but
// one of the two after it exists (a gap, which a listing reports). A newer
// checkpoint than the hint's is not looked for: the segment from the hinted
// one is correct, only longer.
func (t *Table) probeLogFrom(ctx context.Context, h *lastCheckpointHint) ([]logFile, bool) {
	stat := func(name string) (logFile, bool, error) {
		o, err := t.bucket.Stat(ctx, logDir+name)
		if errors.Is(err, blob.ErrNotFound) {
			return logFile{}, false, nil
		}
		if err != nil {
			return logFile{}, false, err
		}
		lf, ok := parseLogName(name)
		if !ok {
			return logFile{}, false, fmt.Errorf("unexpected log name %s", name)
		}
		lf.Key, lf.Size, lf.ModTime = o.Key, o.Size, o.ModTime
		return lf, true, nil
	}
	parts := 1
	if h.Parts != nil {
		parts = *h.Parts
	}
	if parts < 1 || parts > 100000 {
		return nil, false
	}
	var out []logFile
	for i := 1; i <= parts; i++ {
		name := fmt.Sprintf("%020d.checkpoint.parquet", h.Version)
		if parts > 1 {
			name = fmt.Sprintf("%020d.checkpoint.%010d.%010d.parquet", h.Version, i, parts)
		}
		lf, found, err := stat(name)
		if err != nil || !found {
			return nil, false
		}
		out = append(out, lf)
	}
	commit := func(v int64) string { return fmt.Sprintf("%020d.json", v) }
	v := h.Version
	for ; ; v++ {
		lf, found, err := stat(commit(v))
		if err != nil {
			return nil, false
		}
		if !found {
			if v == h.Version {
				continue // the checkpoint's own commit may be cleaned up
			}
			break
		}
		out = append(out, lf)
	}
	for k := int64(1); k <= 2; k++ {
		if _, found, err := stat(commit(v + k)); err != nil || found {
			return nil, false
		}
	}
	return out, true
}

// segment is the set of log files that reconstruct one version: an optional
// checkpoint, then the commits after it, in order.
type segment struct {
	Version    int64
	Checkpoint []logFile // all parts of one checkpoint, or empty
	Commits    []logFile // ascending, contiguous, after the checkpoint
	// Replay lists the commit-or-compaction files to replay after the checkpoint, ascending.
	Replay []logFile
}

func (s *segment) checkpointVersion() int64 {
	if len(s.Checkpoint) == 0 {
		return -1
	}
	return s.Checkpoint[0].Version
}

// lastCheckpointHint reads _last_checkpoint. It is only a hint: a missing,
// stale or corrupt file is ignored, because the segment is built from a listing.
type lastCheckpointHint struct {
	Version int64 `json:"version"`
	Size    int64 `json:"size"`
	Parts   *int  `json:"parts,omitempty"`
}

// buildSegment chooses the files that reconstruct version want (-1 = latest).
func (t *Table) buildSegment(files []logFile, want int64) (*segment, error) {
	commits := map[int64]logFile{}
	var latest int64 = -1
	for _, f := range files {
		if f.Kind == kindCommit {
			commits[f.Version] = f
			if f.Version > latest {
				latest = f.Version
			}
		}
	}
	// checkpoint-only tables: the newest checkpoint also bounds the latest version
	for _, f := range files {
		if f.Kind == kindCheckpoint && f.Version > latest {
			latest = f.Version
		}
	}
	if latest < 0 {
		return nil, fmt.Errorf("%s: %w: %s holds no commits or checkpoints", t.location, ErrNotATable, logDir)
	}
	if want < 0 {
		want = latest
	}
	if want > latest {
		return nil, &VersionError{Table: t.location, Reason: fmt.Sprintf("version %d does not exist (latest is %d)", want, latest)}
	}
	seg := &segment{Version: want}
	// newest complete checkpoint at or below want
	byVersion := map[int64][]logFile{}
	for _, f := range files {
		if f.Kind == kindCheckpoint && f.Version <= want {
			byVersion[f.Version] = append(byVersion[f.Version], f)
		}
	}
	var cpVersions []int64
	for v := range byVersion {
		cpVersions = append(cpVersions, v)
	}
	sort.Slice(cpVersions, func(i, j int) bool { return cpVersions[i] > cpVersions[j] })
	for _, v := range cpVersions {
		if cp := completeCheckpoint(byVersion[v]); cp != nil {
			seg.Checkpoint = cp
			break
		}
	}
	start := seg.checkpointVersion() + 1
	for v := start; v <= want; v++ {
		c, ok := commits[v]
		if !ok {
			if v == start && len(seg.Checkpoint) == 0 {
				return nil, &VersionError{Table: t.location, Reason: fmt.Sprintf("version %d cannot be reconstructed: commit %d is missing and no checkpoint precedes it", want, v)}
			}
			return nil, &CorruptLogError{Table: t.location, Reason: fmt.Sprintf("versions are not contiguous: commit %d is missing", v)}
		}
		seg.Commits = append(seg.Commits, c)
	}
	seg.Replay = withCompactions(seg.Commits, files, start, want)
	return seg, nil
}

// completeCheckpoint returns one complete checkpoint among the files of one version:
// a v2 (UUID-named) checkpoint, a classic single file, or every part of a multi-part one.
func completeCheckpoint(fs []logFile) []logFile {
	for _, f := range fs {
		if f.UUID != "" {
			return []logFile{f}
		}
	}
	for _, f := range fs {
		if f.Parts == 1 && f.UUID == "" {
			return []logFile{f}
		}
	}
	byParts := map[int]map[int]logFile{}
	for _, f := range fs {
		if f.Parts > 1 {
			if byParts[f.Parts] == nil {
				byParts[f.Parts] = map[int]logFile{}
			}
			byParts[f.Parts][f.Part] = f
		}
	}
	for n, parts := range byParts {
		if len(parts) == n {
			out := make([]logFile, 0, n)
			for i := 1; i <= n; i++ {
				p, ok := parts[i]
				if !ok {
					break
				}
				out = append(out, p)
			}
			if len(out) == n {
				return out
			}
		}
	}
	return nil
}

// withCompactions replaces runs of commits by log compaction files that cover
// them exactly, choosing at each step the longest compaction that fits.
func withCompactions(commits []logFile, files []logFile, start, end int64) []logFile {
	comp := map[int64][]logFile{}
	for _, f := range files {
		if f.Kind == kindCompaction && f.Version >= start && f.EndVersion <= end && f.EndVersion > f.Version {
			comp[f.Version] = append(comp[f.Version], f)
		}
	}
	if len(comp) == 0 {
		return commits
	}
	var out []logFile
	for i := 0; i < len(commits); {
		v := commits[i].Version
		best := -1
		for j, c := range comp[v] {
			if best < 0 || c.EndVersion > comp[v][best].EndVersion {
				best = j
			}
		}
		if best < 0 {
			out = append(out, commits[i])
			i++
			continue
		}
		c := comp[v][best]
		out = append(out, c)
		i += int(c.EndVersion - c.Version + 1)
	}
	return out
}

func (t *Table) readLastCheckpoint(ctx context.Context) *lastCheckpointHint {
	b, err := t.bucket.ReadAll(ctx, logDir+"_last_checkpoint")
	if err != nil {
		return nil
	}
	var h lastCheckpointHint
	if json.Unmarshal(b, &h) != nil || h.Version < 0 {
		return nil
	}
	return &h
}

// segmentFor builds the segment of version want (-1 = latest). With a usable
// _last_checkpoint hint it lists only the log from the hinted checkpoint on;
// if that does not yield a segment (a missing or bad hint) it lists everything.
func (t *Table) segmentFor(ctx context.Context, want int64) (*segment, []logFile, error) {
	if h := t.readLastCheckpoint(ctx); h != nil && (want < 0 || want >= h.Version) {
		if t.bucket.Local() {
			if files, ok := t.probeLogFrom(ctx, h); ok {
				if seg, err := t.buildSegment(files, want); err == nil && seg.checkpointVersion() >= h.Version {
					return seg, files, nil
				}
			}
		}
		if files, err := t.listLogFrom(ctx, h.Version); err == nil {
			if seg, err := t.buildSegment(files, want); err == nil && seg.checkpointVersion() >= h.Version {
				return seg, files, nil
			}
		}
	}
	files, err := t.listLog(ctx)
	if err != nil {
		return nil, nil, err
	}
	if len(files) == 0 {
		return nil, files, nil
	}
	seg, err := t.buildSegment(files, want)
	return seg, files, err
}
