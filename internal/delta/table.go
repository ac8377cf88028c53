package delta

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakeport/lakeport/internal/blob"
	"github.com/lakeport/lakeport/internal/delta/dv"
)

// Table is a Delta table at a location. It is safe for concurrent use.
type Table struct {
	location string // as given by the user, for messages
	bucket   *blob.Bucket
	root     string // bucket root URL, without a trailing slash
	// partitionTZ interprets zone-less timestamp partition values (nil = UTC).
	partitionTZ *time.Location
}

func open(ctx context.Context, location string) (*Table, error) {
	b, err := blob.Open(ctx, location)
	if err != nil {
		return nil, fmt.Errorf("open table %s: %w", location, err)
	}
	return &Table{location: location, bucket: b, root: strings.TrimSuffix(b.Location(), "/")}, nil
}

// Location is the table's location as it was opened.
func (t *Table) Location() string { return t.location }

// Bucket is the storage the table lives in, rooted at the table.
func (t *Table) Bucket() *blob.Bucket { return t.bucket }

// Close releases the table's storage handle.
func (t *Table) Close() error { return t.bucket.Close() }

// Snapshot is the state of a table at one version: protocol, metadata, the
// live data files and the app transactions.
type Snapshot struct {
	table    *Table
	version  int64
	protocol *Protocol
	metadata *Metadata
	schema   *StructType
	mapping  ColumnMappingMode
	files    []*Add
	txns     map[string]Txn
	domains  map[string]DomainMetadata
	ts       time.Time
}

func (s *Snapshot) Table() *Table                    { return s.table }
func (s *Snapshot) Version() int64                   { return s.version }
func (s *Snapshot) Protocol() Protocol               { return *s.protocol }
func (s *Snapshot) Metadata() Metadata               { return *s.metadata }
func (s *Snapshot) Schema() *StructType              { return s.schema }
func (s *Snapshot) ArrowSchema() *arrow.Schema       { return ArrowSchema(s.schema) }
func (s *Snapshot) PartitionColumns() []string       { return s.metadata.PartitionColumns }
func (s *Snapshot) ColumnMapping() ColumnMappingMode { return s.mapping }

// Timestamp is the commit time of the snapshot's version.
func (s *Snapshot) Timestamp() time.Time { return s.ts }

// Files returns the live data files. The caller must not modify them.
func (s *Snapshot) Files() []*Add { return s.files }

// Property returns a table property (metaData.configuration).
func (s *Snapshot) Property(key string) (string, bool) {
	v, ok := s.metadata.Configuration[key]
	return v, ok
}

// ChangeDataFeedEnabled reports delta.enableChangeDataFeed.
func (s *Snapshot) ChangeDataFeedEnabled() bool {
	v, _ := s.Property("delta.enableChangeDataFeed")
	return strings.EqualFold(v, "true")
}

// AppTransactionVersion returns the latest txn version committed by appID.
// Transactions older than delta.setTransactionRetentionDuration (when set) have expired.
func (s *Snapshot) AppTransactionVersion(appID string) (int64, bool) {
	t, ok := s.txns[appID]
	if !ok {
		return 0, false
	}
	return t.Version, true
}

// AppTransactions returns every app id's latest txn.
func (s *Snapshot) AppTransactions() map[string]Txn { return s.txns }

// DomainMetadata returns the live domain metadata.
func (s *Snapshot) DomainMetadata() map[string]DomainMetadata { return s.domains }

// TotalSize is the summed size of the live data files.
func (s *Snapshot) TotalSize() int64 {
	var n int64
	for _, f := range s.files {
		n += f.Size
	}
	return n
}

func (t *Table) snapshot(ctx context.Context, at At) (*Snapshot, error) {
	want := int64(-1)
	switch {
	case at.Version != nil && at.Timestamp != nil:
		return nil, errors.New("choose a version or a timestamp, not both")
	case at.Version != nil:
		if *at.Version < 0 {
			return nil, &VersionError{Table: t.location, Reason: fmt.Sprintf("version %d is negative", *at.Version)}
		}
		want = *at.Version
	case at.Timestamp != nil:
		files, err := t.listLog(ctx)
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, t.notATable(ctx)
		}
		if want, err = t.versionAt(ctx, files, *at.Timestamp); err != nil {
			return nil, err
		}
	}
	seg, files, err := t.segmentFor(ctx, want)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, t.notATable(ctx)
	}
	return t.replay(ctx, seg)
}

// notATable explains why a location with no log files is not a table.
func (t *Table) notATable(ctx context.Context) error {
	if objs, err := t.bucket.List(ctx, logDir); err == nil && len(objs) > 0 {
		return fmt.Errorf("%s: %w: %s holds no commits or checkpoints", t.location, ErrNotATable, logDir)
	}
	if t.hasData(ctx) {
		return fmt.Errorf("%s: %w: no %s directory", t.location, ErrNotATable, logDir)
	}
	return fmt.Errorf("%s: %w (nothing found there)", t.location, ErrNotATable)
}

func (t *Table) hasData(ctx context.Context) bool {
	objs, err := t.bucket.List(ctx, "")
	return err == nil && len(objs) > 0
}

// fileKey identifies a data file in log replay: its canonical path plus its deletion vector.
func (t *Table) fileKey(p string, dvID string) string { return t.canonicalPath(p) + "\x00" + dvID }

// canonicalPath resolves a (URL-encoded) add/remove path to an absolute, decoded form,
// so that "a%20b.parquet", "/root/a b.parquet" and "file:///root/a%20b.parquet" agree.
func (t *Table) canonicalPath(p string) string {
	if u, err := url.Parse(p); err == nil && u.Scheme != "" && len(u.Scheme) > 1 {
		if u.Scheme == "file" {
			return "file://" + path.Clean(u.Path)
		}
		return u.Scheme + "://" + u.Host + path.Clean(u.Path)
	}
	dec, err := url.PathUnescape(p)
	if err != nil {
		dec = p
	}
	if strings.HasPrefix(dec, "/") {
		return "file://" + path.Clean(dec)
	}
	return t.root + "/" + dec
}

// locate finds the bucket and key of a file named in the log: the table's own
// bucket for files under the table root, else a bucket opened on the file's
// directory (absolute paths elsewhere). The caller runs done when finished.
func (t *Table) locate(ctx context.Context, p string) (b *blob.Bucket, key string, done func(), err error) {
	c := t.canonicalPath(p)
	if strings.HasPrefix(c, t.root+"/") {
		return t.bucket, strings.TrimPrefix(c, t.root+"/"), func() {}, nil
	}
	dir, base := path.Dir(c), path.Base(c)
	if strings.HasPrefix(c, "file://") {
		dir = path.Dir(strings.TrimPrefix(c, "file://"))
	}
	ob, err := blob.Open(ctx, dir)
	if err != nil {
		return nil, "", nil, err
	}
	return ob, base, func() { ob.Close() }, nil
}

// relativeKey maps a log path (relative, or absolute under the table root) to a bucket key.
func (t *Table) relativeKey(p string) (string, bool) {
	c := t.canonicalPath(p)
	if strings.HasPrefix(c, t.root+"/") {
		return strings.TrimPrefix(c, t.root+"/"), true
	}
	return c, false
}

// replay reconstructs the snapshot newest-first: for each data file the newest
// action (add or remove) wins; protocol, metadata and each txn come from the newest
// action of their kind.
func (t *Table) replay(ctx context.Context, seg *segment) (*Snapshot, error) {
	s := &Snapshot{table: t, version: seg.Version, txns: map[string]Txn{}, domains: map[string]DomainMetadata{}}
	seen := map[string]struct{}{}
	seenDomain := map[string]struct{}{}
	apply := func(a *Action, fromCheckpoint bool) error {
		switch {
		case a.Add != nil:
			k := t.fileKey(a.Add.Path, dvID(a.Add.DeletionVector))
			if _, dup := seen[k]; !dup {
				seen[k] = struct{}{}
				s.files = append(s.files, a.Add)
			}
		case a.Remove != nil:
			if !fromCheckpoint {
				seen[t.fileKey(a.Remove.Path, dvID(a.Remove.DeletionVector))] = struct{}{}
			}
		case a.Protocol != nil:
			if s.protocol == nil {
				s.protocol = a.Protocol
			}
		case a.Metadata != nil:
			if s.metadata == nil {
				s.metadata = a.Metadata
			}
		case a.Txn != nil:
			if _, ok := s.txns[a.Txn.AppID]; !ok {
				s.txns[a.Txn.AppID] = *a.Txn
			}
		case a.DomainMetadata != nil:
			if _, ok := seenDomain[a.DomainMetadata.Domain]; !ok {
				seenDomain[a.DomainMetadata.Domain] = struct{}{}
				if !a.DomainMetadata.Removed {
					s.domains[a.DomainMetadata.Domain] = *a.DomainMetadata
				}
			}
		}
		return nil
	}
	var newestCommitInfo *CommitInfo
	var newestModTime time.Time
	for i := len(seg.Replay) - 1; i >= 0; i-- {
		lf := seg.Replay[i]
		b, err := t.bucket.ReadAll(ctx, lf.Key)
		if err != nil {
			return nil, &CorruptLogError{Table: t.location, Reason: fmt.Sprintf("read %s: %v", path.Base(lf.Key), err)}
		}
		actions, err := ParseActions(strings.NewReader(string(b)))
		if err != nil {
			return nil, &CorruptLogError{Table: t.location, Reason: fmt.Sprintf("%s: %v", path.Base(lf.Key), err)}
		}
		// Within one commit no two actions name the same file key. Log compaction
		// files hold the actions of many commits newest first (as Databricks
		// writes them) or already reconciled; in both cases the first action
		// seen for a key is the newest, so actions apply in file order.
		for j := range actions {
			a := &actions[j]
			if a.CommitInfo != nil && i == len(seg.Replay)-1 {
				newestCommitInfo = a.CommitInfo
			}
			apply(a, false)
		}
		if i == len(seg.Replay)-1 {
			newestModTime = lf.ModTime
		}
	}
	if len(seg.Checkpoint) > 0 {
		if err := t.readCheckpoint(ctx, seg.Checkpoint, func(a *Action) error { return apply(a, true) }); err != nil {
			return nil, err
		}
		if len(seg.Replay) == 0 {
			newestModTime = seg.Checkpoint[0].ModTime
		}
	}
	if s.protocol == nil {
		return nil, &CorruptLogError{Table: t.location, Reason: fmt.Sprintf("no protocol action found for version %d", seg.Version)}
	}
	if s.metadata == nil {
		return nil, &CorruptLogError{Table: t.location, Reason: fmt.Sprintf("no metaData action found for version %d", seg.Version)}
	}
	if err := checkReadable(s.protocol); err != nil {
		return nil, fmt.Errorf("%s: %w", t.location, err)
	}
	schema, err := ParseSchema(s.metadata.SchemaString)
	if err != nil {
		return nil, &CorruptLogError{Table: t.location, Reason: err.Error()}
	}
	s.schema = schema
	switch m := s.metadata.Configuration["delta.columnMapping.mode"]; m {
	case "", "none":
	case "name":
		s.mapping = MappingName
	case "id":
		s.mapping = MappingID
	default:
		return nil, fmt.Errorf("%s: %w", t.location, &UnsupportedError{What: "column mapping mode", Name: m})
	}
	for _, pc := range s.metadata.PartitionColumns {
		if schema.Field(pc) == nil {
			return nil, &CorruptLogError{Table: t.location, Reason: fmt.Sprintf("partition column %q is not in the schema", pc)}
		}
	}
	s.expireTxns(newestCommitInfo, newestModTime)
	s.ts = commitTime(newestCommitInfo, newestModTime, s.ictEnabled())
	sort.SliceStable(s.files, func(i, j int) bool { return s.files[i].Path < s.files[j].Path })
	return s, nil
}

func dvID(d *dv.Descriptor) string {
	if d == nil {
		return ""
	}
	return d.UniqueID()
}
