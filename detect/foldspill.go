package detect

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/klauspost/compress/s2"

	"github.com/revertwatch/revertwatch/eventtime"
	"github.com/revertwatch/revertwatch/internal/binread"
)

// errFoldRun is a spilled fold that does not read back: a bug or a
// damaged disk, for only spill writes the runs.
var errFoldRun = errors.New("reading spilled folds: damaged run")

// maxFoldRecord bounds a spilled fold as read back: its hashes and two
// records of at most --max-record-size each.
const maxFoldRecord = 1 << 32

// spill writes the folds held to a run sorted by key and forgets them.
func (fs *folds) spill() {
	if fs.err != nil {
		return
	}
	keys := make([]foldKey, 0, len(fs.byID))
	for k := range fs.byID {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, fs.compareKeys)
	f, err := os.CreateTemp(fs.dir, "revertwatch-folds-")
	if err != nil {
		fs.fail(fmt.Errorf("spilling folds: %w", err))
		return
	}
	os.Remove(f.Name()) // the open file is all that is needed
	zw := s2.NewWriter(f, s2.WriterConcurrency(1), s2.WriterBlockSize(spoolBlock))
	w := bufio.NewWriterSize(zw, 1<<20)
	var b []byte
	var hdr [binary.MaxVarintLen64]byte
	for _, k := range keys {
		b = fs.appendFold(b[:0], k, fs.byID[k])
		w.Write(hdr[:binary.PutUvarint(hdr[:], uint64(len(b)))])
		w.Write(b)
	}
	if err := errors.Join(w.Flush(), zw.Close()); err != nil {
		f.Close()
		fs.fail(fmt.Errorf("spilling folds: %w", err))
		return
	}
	fs.runs = append(fs.runs, f)
	clear(fs.byID)
	fs.size = 0
}

// fail records the first error and lets go of the folds: the findings
// will not be written, and memory is not to grow past the budget.
func (fs *folds) fail(err error) {
	if fs.err == nil {
		fs.err = err
	}
	clear(fs.byID)
	fs.size = 0
}

// compareKeys orders fold keys in a run.
func (fs *folds) compareKeys(a, b foldKey) int {
	return cmp.Or(
		cmp.Compare(fs.rules[a.rule], fs.rules[b.rule]),
		cmp.Compare(a.scope.Provider, b.scope.Provider),
		cmp.Compare(a.scope.Account, b.scope.Account),
		cmp.Compare(a.scope.Region, b.scope.Region),
		cmp.Compare(a.caller, b.caller),
		cmp.Compare(a.bucket, b.bucket),
		cmp.Compare(a.dec, b.dec),
	)
}

// appendFold appends a fold as a run holds it.
func (fs *folds) appendFold(b []byte, k foldKey, f *fold) []byte {
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(fs.rules[k.rule]))
	for _, s := range []string{k.scope.Provider, k.scope.Account, k.scope.Region, k.caller, k.dec} {
		str(s)
	}
	b = binary.AppendVarint(b, k.bucket)
	b = binary.AppendUvarint(b, uint64(len(f.records)))
	for _, h := range f.records {
		b = binary.LittleEndian.AppendUint64(b, h)
	}
	for _, s := range []*foldSample{&f.first, &f.last} {
		str(s.identity)
		str(s.record)
		ev := eventtime.AppendEvent(nil, s.ev)
		b = binary.AppendUvarint(b, uint64(len(ev)))
		b = append(b, ev...)
	}
	return b
}

// readFold reads a fold appendFold wrote.
func (fs *folds) readFold(b []byte) (foldKey, *fold, error) {
	r := binread.New(b, errFoldRun)
	str := func() string { return string(r.Take(r.Uvarint())) }
	var k foldKey
	ri := r.Uvarint()
	if ri >= uint64(len(fs.order)) {
		return k, nil, errFoldRun
	}
	k.rule = fs.order[ri]
	k.scope.Provider, k.scope.Account, k.scope.Region, k.caller, k.dec = str(), str(), str(), str(), str()
	k.bucket = r.Varint()
	n := r.Uvarint()
	if n > uint64(len(r.B))/8 {
		return k, nil, errFoldRun
	}
	f := &fold{records: make([]uint64, n)}
	for i := range f.records {
		f.records[i] = binary.LittleEndian.Uint64(r.Take(8))
	}
	for _, s := range []*foldSample{&f.first, &f.last} {
		s.identity, s.record = str(), str()
		raw := r.Take(r.Uvarint())
		if r.Err != nil {
			return k, nil, r.Err
		}
		ev, err := eventtime.DecodeEvent(raw)
		if err != nil {
			return k, nil, errFoldRun
		}
		s.ev, s.own = ev, true
	}
	if r.Err != nil || len(r.B) != 0 {
		return k, nil, errFoldRun
	}
	return k, f, nil
}

// foldCursor reads one run's folds in order.
type foldCursor struct {
	r   *bufio.Reader
	k   foldKey
	f   *fold
	eof bool
}

func (c *foldCursor) next(fs *folds) error {
	n, err := binary.ReadUvarint(c.r)
	if err == io.EOF {
		c.eof, c.f = true, nil
		return nil
	}
	if err != nil || n > maxFoldRecord {
		return errFoldRun
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(c.r, b); err != nil {
		return errFoldRun
	}
	c.k, c.f, err = fs.readFold(b)
	return err
}

// merge reads the runs back in key order and hands emit each fold, its
// parts in the runs joined: the hashes together, the first of the first
// records and the last of the last. It closes the runs.
func (fs *folds) merge(emit func(foldKey, *fold)) error {
	defer fs.close()
	cursors := make([]*foldCursor, len(fs.runs))
	for i, f := range fs.runs {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("reading spilled folds: %w", err)
		}
		cursors[i] = &foldCursor{r: bufio.NewReaderSize(s2.NewReader(f), 256<<10)}
		if err := cursors[i].next(fs); err != nil {
			return err
		}
	}
	for {
		var min *foldCursor
		for _, c := range cursors {
			if !c.eof && (min == nil || fs.compareKeys(c.k, min.k) < 0) {
				min = c
			}
		}
		if min == nil {
			return nil
		}
		k, f := min.k, min.f
		if err := min.next(fs); err != nil {
			return err
		}
		for _, c := range cursors {
			for !c.eof && fs.compareKeys(c.k, k) == 0 {
				f.records = append(f.records, c.f.records...)
				fs.keep(f, c.f.first)
				fs.keep(f, c.f.last)
				if err := c.next(fs); err != nil {
					return err
				}
			}
		}
		emit(k, f)
	}
}

// close closes the runs (removed from the directory when made).
func (fs *folds) close() error {
	var first error
	for _, f := range fs.runs {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	fs.runs = nil
	return first
}
