package sqlitestore

import (
	"context"
	"database/sql"
	"strings"
)

// bulkRows are the row counts of the prepared multi-row statements, largest
// first; a bulk write is cut into these.
var bulkRows = []int{64, 8, 1}

// A bulkKind is a multi-row statement: "head VALUES (?, ...), ... tail".
type bulkKind struct {
	head, tail string
	width      int // parameters per row
}

var (
	bulkProfiles = bulkKind{`INSERT INTO profiles (id, attrs, created_at, updated_at)`,
		`ON CONFLICT (id) DO UPDATE SET attrs = excluded.attrs, created_at = excluded.created_at, updated_at = excluded.updated_at`, 4}
	bulkIdentifiers = bulkKind{`INSERT INTO identifiers (field, value, profile_id)`,
		`ON CONFLICT (field, value) DO UPDATE SET profile_id = excluded.profile_id`, 3}
	bulkQueue = bulkKind{`INSERT INTO audience_queue (profile_id)`, `ON CONFLICT (profile_id) DO NOTHING`, 1}

	bulkKinds = []bulkKind{bulkProfiles, bulkIdentifiers, bulkQueue}
)

// prepareBulk prepares every bulk statement on the writer connection (once:
// a transaction holds that connection, so none can be prepared later).
func (d *driver) prepareBulk(ctx context.Context) error {
	d.bulk = map[bulkKind]map[int]*sql.Stmt{}
	for _, k := range bulkKinds {
		d.bulk[k] = map[int]*sql.Stmt{}
		for _, n := range bulkRows {
			st, err := d.w.PrepareContext(ctx, k.sql(n))
			if err != nil {
				return err
			}
			d.bulk[k][n] = st
		}
	}
	return nil
}

func (k bulkKind) sql(rows int) string {
	row := "(" + strings.Repeat("?, ", k.width-1) + "?)"
	var b strings.Builder
	b.WriteString(k.head)
	b.WriteString(" VALUES ")
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(" ")
	b.WriteString(k.tail)
	return b.String()
}

// bulk writes rows (each of k.width values) in as few statements as
// bulkRows allows.
func (t *wtx) bulk(ctx context.Context, k bulkKind, rows [][]any) error {
	args := make([]any, 0, bulkRows[0]*k.width)
	for i := 0; i < len(rows); {
		n := 0
		for _, n = range bulkRows {
			if len(rows)-i >= n {
				break
			}
		}
		args = args[:0]
		for _, r := range rows[i : i+n] {
			args = append(args, r...)
		}
		if _, err := t.tx.StmtContext(ctx, t.d.bulk[k][n]).ExecContext(ctx, args...); err != nil {
			return err
		}
		i += n
	}
	return nil
}
