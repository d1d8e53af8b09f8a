package ingest

import (
	"io"
	"sync"
)

// readAhead reads r on a goroutine of its own, up to n blocks ahead of its
// reader. Data and the error that ends it arrive in the order r gave them.
type readAhead struct {
	blocks chan raBlock
	cur    raBlock
	off    int
	done   chan struct{}
	wg     sync.WaitGroup
}

type raBlock struct {
	b   []byte
	err error
}

const readAheadBlock = 64 << 10

var raPool = sync.Pool{New: func() any { return make([]byte, readAheadBlock) }}

func newReadAhead(r io.Reader, n int) *readAhead {
	ra := &readAhead{blocks: make(chan raBlock, n), done: make(chan struct{})}
	ra.wg.Add(1)
	go func() {
		defer ra.wg.Done()
		defer close(ra.blocks)
		for {
			buf := raPool.Get().([]byte)[:readAheadBlock]
			k := 0
			var err error
			for k < len(buf) && err == nil {
				var m int
				m, err = r.Read(buf[k:])
				k += m
			}
			select {
			case ra.blocks <- raBlock{b: buf[:k], err: err}:
			case <-ra.done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ra
}

func (ra *readAhead) Read(p []byte) (int, error) {
	for ra.off == len(ra.cur.b) {
		if ra.cur.err != nil {
			return 0, ra.cur.err
		}
		if ra.cur.b != nil {
			raPool.Put(ra.cur.b[:0]) //lint:ignore SA6002 the slice header is small; the pool is for its array
		}
		blk, ok := <-ra.blocks
		if !ok {
			return 0, io.EOF
		}
		ra.cur, ra.off = blk, 0
		if len(blk.b) == 0 && blk.err == nil {
			continue
		}
	}
	n := copy(p, ra.cur.b[ra.off:])
	ra.off += n
	return n, nil
}

// close stops the goroutine and waits for it, so that r may be closed.
func (ra *readAhead) close() {
	close(ra.done)
	ra.wg.Wait()
}
