package sqlitestore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/lakeport/lakeport/internal/platform"
)

// Block reads run on connections of their own, taken from a pool: many
// readers at once, beside a writer, each see every event once and in order;
// a closed store refuses them.
func TestBlockReadConcurrentAndClosed(t *testing.T) {
	ctx := context.Background()
	s := open(t, platform.Options{})
	write := func(from, n int) {
		in := make([]platform.EventInput, n)
		for i := range in {
			in[i].Data = json.RawMessage(fmt.Sprintf(`{"i":%d}`, from+i))
		}
		if _, err := s.Write(ctx, platform.Batch{Appends: []platform.Append{{Stream: "s", Events: in}}}); err != nil {
			t.Error(err)
		}
	}
	write(0, 500)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // a writer appending while the readers read
		defer wg.Done()
		for b := 0; b < 20; b++ {
			write(500+b*50, 50)
		}
	}()
	for r := 0; r < 8; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var cur platform.Cursor
			next := int64(1)
			for {
				var b platform.EventBlock
				n, err := s.ReadStreamBlock(ctx, "s", cur, 7+r, &b)
				if err != nil {
					t.Error(err)
					return
				}
				for i := range n {
					if b.ID[i] != next {
						t.Errorf("reader %d: id %d, want %d", r, b.ID[i], next)
						return
					}
					if want := fmt.Sprintf(`{"i":%d}`, next-1); string(b.EventData(i)) != want {
						t.Errorf("reader %d: event %d data %s, want %s", r, next, b.EventData(i), want)
						return
					}
					next++
				}
				if n < 7+r {
					if next > 500 { // read at least what was there before it started
						return
					}
					t.Errorf("reader %d stopped at id %d", r, next)
					return
				}
				cur = b.Cursor(n - 1)
			}
		}()
	}
	wg.Wait()
	s.Close()
	var b platform.EventBlock
	if _, err := s.ReadStreamBlock(ctx, "s", platform.Cursor{}, 10, &b); err == nil {
		t.Fatal("ReadStreamBlock on a closed store: no error")
	}
}
