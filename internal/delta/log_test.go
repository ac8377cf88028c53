package delta

import (
	"context"
	"path/filepath"
	"sort"
	"testing"

	"github.com/lakeport/lakeport/internal/delta/deltatest"
)

func TestParseLogName(t *testing.T) {
	cases := map[string]logFile{
		"00000000000000000007.json":                                                 {Version: 7, Kind: kindCommit},
		"00000000000000000010.checkpoint.parquet":                                   {Version: 10, Kind: kindCheckpoint, Part: 1, Parts: 1, Parquet: true},
		"00000000000000000010.checkpoint.0000000002.0000000003.parquet":             {Version: 10, Kind: kindCheckpoint, Part: 2, Parts: 3, Parquet: true},
		"00000000000000000002.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.json": {Version: 2, Kind: kindCheckpoint, Part: 1, Parts: 1, UUID: "80a083e8-7026-4e79-81be-64bd76c43a11"},
		"00000000000000000004.00000000000000000006.compacted.json":                  {Version: 4, EndVersion: 6, Kind: kindCompaction},
	}
	for name, want := range cases {
		got, ok := parseLogName(name)
		if !ok || got != want {
			t.Errorf("%s: %+v, %v; want %+v", name, got, ok, want)
		}
	}
	for _, name := range []string{"_last_checkpoint", "00000000000000000000.crc", "._00000000000000000000.json", "0.json", "00000000000000000000.json.tmp"} {
		if _, ok := parseLogName(name); ok {
			t.Errorf("%s: classified as a log file", name)
		}
	}
}

func TestSegmentChoosesCompleteCheckpoint(t *testing.T) {
	tbl := &Table{location: "t"}
	lf := func(name string) logFile {
		f, ok := parseLogName(name)
		if !ok {
			t.Fatal(name)
		}
		f.Key = logDir + name
		return f
	}
	var files []logFile
	for v := 0; v <= 12; v++ {
		files = append(files, lf(fmtVersion(v)+".json"))
	}
	files = append(files,
		lf("00000000000000000005.checkpoint.parquet"),
		// an incomplete multi-part checkpoint at 10 (part 2 of 2 missing) must be passed over
		lf("00000000000000000010.checkpoint.0000000001.0000000002.parquet"),
	)
	seg, err := tbl.buildSegment(files, -1)
	if err != nil {
		t.Fatal(err)
	}
	if seg.checkpointVersion() != 5 || len(seg.Commits) != 7 || seg.Commits[0].Version != 6 {
		t.Errorf("segment: checkpoint %d, %d commits from %d; want checkpoint 5 then commits 6..12", seg.checkpointVersion(), len(seg.Commits), seg.Commits[0].Version)
	}
	files = append(files, lf("00000000000000000010.checkpoint.0000000002.0000000002.parquet"))
	seg, _ = tbl.buildSegment(files, -1)
	if seg.checkpointVersion() != 10 || len(seg.Checkpoint) != 2 {
		t.Errorf("complete multi-part checkpoint at 10 not chosen: %+v", seg.Checkpoint)
	}
	seg, _ = tbl.buildSegment(files, 4)
	if seg.checkpointVersion() != -1 || len(seg.Commits) != 5 {
		t.Errorf("version 4 must replay commits 0..4 without a checkpoint: %+v", seg)
	}
}

func fmtVersion(v int) string {
	s := "00000000000000000000" + itoa(v)
	return s[len(s)-20:]
}

func itoa(v int) string {
	if v < 10 {
		return string(rune('0' + v))
	}
	return itoa(v/10) + string(rune('0'+v%10))
}

// TestCompactionMatchesCommits: replaying log compaction files gives exactly the
// files that replaying the individual commits gives, at every version.
func TestCompactionMatchesCommits(t *testing.T) {
	ctx := context.Background()
	tbl, err := Open(ctx, filepath.Join(deltatest.CorpusDir(t), "kernel-rs", "data", "compacted-log-files-table"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := tbl.listLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	used := 0
	for v := int64(0); v <= 25; v++ {
		seg, err := tbl.buildSegment(files, v)
		if err != nil {
			t.Fatal(err)
		}
		if len(seg.Replay) < len(seg.Commits) {
			used++
		}
		withCompaction, err := tbl.replay(ctx, seg)
		if err != nil {
			t.Fatal(err)
		}
		plain := *seg
		plain.Replay = plain.Commits
		withCommits, err := tbl.replay(ctx, &plain)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := fileKeys(tbl, withCompaction), fileKeys(tbl, withCommits); a != b {
			t.Errorf("version %d: compaction replay differs:\n%s\n%s", v, a, b)
		}
	}
	if used == 0 {
		t.Error("no segment used a compaction file")
	}
}

func fileKeys(t *Table, s *Snapshot) string {
	var keys []string
	for _, f := range s.files {
		keys = append(keys, t.fileKey(f.Path, dvID(f.DeletionVector)))
	}
	sort.Strings(keys)
	out := ""
	for _, k := range keys {
		out += k + "\n"
	}
	return out
}
