package sqlitestore

import (
	"context"
	"fmt"
	"sync"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/lakeport/lakeport/internal/platform"
)

// Exports read millions of events in one go. Through database/sql each
// event costs a driver.Value per column, a string per data column and a
// connection mutex taken on every C call (modernc opens its connections
// SQLITE_OPEN_FULLMUTEX); ReadStreamBlock instead steps a prepared
// statement through modernc's C API on a connection of its own, opened
// without the mutex (it is only ever used by one goroutine at a time:
// taken from the pool, used, put back), and copies each event straight
// into the block's columns.

// blockSQL reads one stream in (receive_ts, id) order after a cursor (the
// condition spelled out: SQLite evaluates a row-value comparison on every
// row, which costs a third of the read).
const blockSQL = `SELECT id, event_ts, receive_ts, data FROM events
	WHERE stream_id = ?1 AND receive_ts >= ?2 AND (receive_ts > ?2 OR id > ?3) ORDER BY receive_ts, id LIMIT ?4`

// blockPool keeps the idle block-reading connections.
type blockPool struct {
	path   string
	mu     sync.Mutex
	idle   []*blockConn
	closed bool
}

// maxIdleBlockConns bounds the idle connections kept for reuse.
const maxIdleBlockConns = 2

func (p *blockPool) get() (*blockConn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, fmt.Errorf("platform store %s: closed", p.path)
	}
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	return openBlockConn(p.path)
}

func (p *blockPool) put(c *blockConn) {
	p.mu.Lock()
	if !p.closed && len(p.idle) < maxIdleBlockConns {
		p.idle = append(p.idle, c)
		c = nil
	}
	p.mu.Unlock()
	if c != nil {
		c.close()
	}
}

func (p *blockPool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
}

// blockConn is one read-only connection with blockSQL prepared.
type blockConn struct {
	path string
	tls  *libc.TLS
	db   uintptr // sqlite3*
	stmt uintptr // sqlite3_stmt*
}

func openBlockConn(path string) (c *blockConn, err error) {
	c = &blockConn{path: path, tls: libc.NewTLS()}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	zPath, err := libc.CString(path)
	if err != nil {
		return nil, err
	}
	defer libc.Xfree(c.tls, zPath)
	pdb := c.tls.Alloc(8)
	defer c.tls.Free(8)
	// no SQLITE_OPEN_CREATE: the store's writer created the file
	rc := sqlite3.Xsqlite3_open_v2(c.tls, zPath, pdb, sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_NOMUTEX, 0)
	c.db = *(*uintptr)(cMemory(pdb))
	if rc != sqlite3.SQLITE_OK {
		return nil, c.fail("open", rc)
	}
	sqlite3.Xsqlite3_busy_timeout(c.tls, c.db, 10_000)
	if err := c.exec("PRAGMA query_only = 1"); err != nil {
		return nil, err
	}
	zSQL, err := libc.CString(blockSQL)
	if err != nil {
		return nil, err
	}
	defer libc.Xfree(c.tls, zSQL)
	pstmt := c.tls.Alloc(8)
	defer c.tls.Free(8)
	if rc := sqlite3.Xsqlite3_prepare_v2(c.tls, c.db, zSQL, -1, pstmt, 0); rc != sqlite3.SQLITE_OK {
		return nil, c.fail("prepare", rc)
	}
	c.stmt = *(*uintptr)(cMemory(pstmt))
	return c, nil
}

func (c *blockConn) exec(sql string) error {
	z, err := libc.CString(sql)
	if err != nil {
		return err
	}
	defer libc.Xfree(c.tls, z)
	if rc := sqlite3.Xsqlite3_exec(c.tls, c.db, z, 0, 0, 0); rc != sqlite3.SQLITE_OK {
		return c.fail(sql, rc)
	}
	return nil
}

// fail describes a failed call with SQLite's message.
func (c *blockConn) fail(what string, rc int32) error {
	msg := ""
	if c.db != 0 {
		msg = libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db))
	}
	return fmt.Errorf("platform store %s: %s: %s (SQLite code %d)", c.path, what, msg, rc)
}

func (c *blockConn) close() {
	if c.stmt != 0 {
		sqlite3.Xsqlite3_finalize(c.tls, c.stmt)
		c.stmt = 0
	}
	if c.db != 0 {
		sqlite3.Xsqlite3_close_v2(c.tls, c.db)
		c.db = 0
	}
	c.tls.Close()
}

// read appends up to limit events of the stream with the given id after
// the cursor. The statement is reset before returning, which ends its read
// transaction (a reader left open would hold back WAL checkpoints).
func (c *blockConn) read(ctx context.Context, streamID int64, after platform.Cursor, limit int, b *platform.EventBlock) (int, error) {
	t, s := c.tls, c.stmt
	defer sqlite3.Xsqlite3_reset(t, s)
	for i, v := range []int64{streamID, cursorMicros(after), after.ID, int64(limit)} {
		if rc := sqlite3.Xsqlite3_bind_int64(t, s, int32(i+1), v); rc != sqlite3.SQLITE_OK {
			return 0, c.fail("bind", rc)
		}
	}
	n := 0
	for n < limit && !b.Full() {
		if n%4096 == 4095 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
		switch rc := sqlite3.Xsqlite3_step(t, s); rc {
		case sqlite3.SQLITE_ROW:
		case sqlite3.SQLITE_DONE:
			return n, nil
		default:
			return n, c.fail("read events", rc)
		}
		// text before bytes: sqlite3_column_bytes then reports the text's length
		p := sqlite3.Xsqlite3_column_text(t, s, 3)
		size := sqlite3.Xsqlite3_column_bytes(t, s, 3)
		var data []byte
		if p != 0 && size > 0 {
			data = unsafe.Slice((*byte)(cMemory(p)), size)
		}
		b.AppendRaw(sqlite3.Xsqlite3_column_int64(t, s, 0), sqlite3.Xsqlite3_column_int64(t, s, 1),
			sqlite3.Xsqlite3_column_int64(t, s, 2), data)
		n++
	}
	return n, nil
}

// ReadStreamBlock implements engine.BlockReader.
func (d *driver) ReadStreamBlock(ctx context.Context, stream string, after platform.Cursor, limit int, b *platform.EventBlock) (int, error) {
	id, err := d.streamID(ctx, stream)
	if err != nil {
		return 0, err
	}
	c, err := d.blocks.get()
	if err != nil {
		return 0, err
	}
	n, err := c.read(ctx, id, after, limit, b)
	if err != nil {
		c.close() // a connection that failed is not reused
		return n, err
	}
	d.blocks.put(c)
	return n, nil
}

// cMemory views an address of modernc's C memory (SQLite's allocations and
// the TLS stack, outside the Go heap: the garbage collector neither moves
// nor frees it) as an unsafe.Pointer, as modernc's own driver does; through
// the variable's address, so vet does not take it for a Go pointer hidden
// in a uintptr.
func cMemory(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }
