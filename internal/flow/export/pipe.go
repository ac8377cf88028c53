package export

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakeport/lakeport/internal/lakehouse"
)

// Chunk is a run of rows a reader hands to Pipe: the rows for Table (nil
// Rec when every row read was filtered out) and After, the reader's
// position past them.
type Chunk[P any] struct {
	Table lakehouse.TableName
	Rec   arrow.RecordBatch
	After P
}

// Send hands a chunk to the stager; when ctx ends first it releases the
// chunk's rows and returns ctx's error.
func Send[P any](ctx context.Context, out chan<- Chunk[P], c Chunk[P]) error {
	select {
	case out <- c:
		return nil
	case <-ctx.Done():
		if c.Rec != nil {
			c.Rec.Release()
		}
		return ctx.Err()
	}
}

// Pipe runs read on a goroutine of its own, turning platform rows into
// chunks, while the calling goroutine stages them in order into b: the two
// halves run on their own cores. After each chunk, advance moves the run's
// cursor (cursor, a pointer the Commit marshals) past it; once b holds
// loadRows rows or more (0: no limit) Pipe commits it as a load, which the
// cursor then covers exactly, and goes on with a new batch. At the end it
// commits the last batch. On an error it stops the reader and aborts the
// open batch (loads committed before stay committed).
func Pipe[P any](ctx context.Context, e *Exporter, b *Batch, loadRows int64, cursor any,
	read func(ctx context.Context, out chan<- Chunk[P]) error, advance func(P)) error {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan Chunk[P], 2)
	var readErr error
	go func() {
		defer close(chunks)
		readErr = read(rctx, chunks)
	}()
	fail := func(err error) error {
		cancel()
		for c := range chunks {
			if c.Rec != nil {
				c.Rec.Release()
			}
		}
		b.Abort(ctx)
		return err
	}
	for c := range chunks {
		if c.Rec != nil {
			err := b.Write(ctx, c.Table, c.Rec)
			c.Rec.Release()
			if err != nil {
				return fail(err)
			}
		}
		advance(c.After)
		if loadRows > 0 && b.Rows() >= loadRows {
			if err := e.Commit(ctx, b, cursor); err != nil {
				return fail(err)
			}
			b = e.NewBatch()
		}
	}
	if readErr != nil {
		b.Abort(ctx)
		return readErr
	}
	return e.Commit(ctx, b, cursor)
}
