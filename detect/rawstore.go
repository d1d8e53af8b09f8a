package detect

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"os"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/eventtime"
)

// rawStore keeps on disk the record bytes of the events the rules hold
// at rest, so that the rules' state — every stop waiting for its start,
// every snapshot a chain may start from, for a whole window — holds the
// keys the rules join on and not each record's bytes. Only the events a
// finding names are read back, when it is made.
type rawStore struct {
	dir string
	f   *os.File
	w   *bufio.Writer
	off int64
	at  map[[2]uint64]int64 // by rawKey: an event spilled and read back is a new pointer
	err error
}

// strip moves ev's record bytes (and its request and response) to disk.
// An event whose bytes are already there, or that has none, is left.
func (s *rawStore) strip(ev *event.Event) {
	if s.err != nil || len(ev.Raw) == 0 || string(ev.Raw) == "null" {
		return
	}
	key := rawKey(ev)
	if _, done := s.at[key]; done {
		return
	}
	if s.f == nil {
		f, err := os.CreateTemp(s.dir, "revertwatch-raw-")
		if err != nil {
			s.err = fmt.Errorf("keeping held records on disk: %w", err)
			return
		}
		s.f, s.w, s.at = f, bufio.NewWriterSize(f, 1<<20), map[[2]uint64]int64{}
	}
	s.at[key] = s.off
	var hdr [binary.MaxVarintLen64]byte
	for _, b := range [][]byte{ev.Raw, ev.Request, ev.Response} {
		n := binary.PutUvarint(hdr[:], uint64(len(b)))
		s.w.Write(hdr[:n])
		s.w.Write(b)
		s.off += int64(n + len(b))
	}
	ev.Raw, ev.Request, ev.Response = nil, nil, nil
}

// restore reads back the bytes of a stripped event; others are left.
func (s *rawStore) restore(ev *event.Event) {
	// A stripped event that went through a spilled run comes back with
	// the JSON null for its bytes.
	if len(ev.Raw) > 0 && string(ev.Raw) != "null" || s.err != nil {
		return
	}
	key := rawKey(ev)
	off, ok := s.at[key]
	if !ok {
		return
	}
	if err := s.w.Flush(); err != nil {
		s.err = fmt.Errorf("keeping held records on disk: %w", err)
		return
	}
	r := bufio.NewReader(io.NewSectionReader(s.f, off, s.off-off))
	var parts [3][]byte
	for i := range parts {
		n, err := binary.ReadUvarint(r)
		if err == nil {
			parts[i] = make([]byte, n)
			_, err = io.ReadFull(r, parts[i])
		}
		if err != nil {
			s.err = fmt.Errorf("reading held records back from %s: %w", s.f.Name(), err)
			return
		}
	}
	ev.Raw, ev.Request, ev.Response = parts[0], nilIfEmpty(parts[1]), nilIfEmpty(parts[2])
	ev.ShareBodies()
}

// rawKey names a record as it survives a spill: a 128-bit hash of its id
// and where it was read (a string key would cost more than the bytes it
// saves on the many events of a long window).
func rawKey(ev *event.Event) [2]uint64 {
	h := fnv.New128a()
	h.Write([]byte(ev.UID))
	h.Write([]byte{0})
	h.Write([]byte(ev.Source.Name))
	h.Write([]byte{0})
	h.Write([]byte(ev.Format))
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(ev.Source.Offset))
	binary.LittleEndian.PutUint64(b[8:], uint64(ev.Source.Sub))
	h.Write(b[:])
	sum := h.Sum(nil)
	return [2]uint64{binary.LittleEndian.Uint64(sum[:8]), binary.LittleEndian.Uint64(sum[8:])}
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// close removes the file.
func (s *rawStore) close() error {
	if s.f == nil {
		return nil
	}
	s.f.Close()
	err := os.Remove(s.f.Name())
	s.f, s.at = nil, nil
	return err
}

// restHandler is the engine's second handler at rest: it hands each
// released record to the Sigma runner, if any, then moves its bytes to
// disk. CloudTrail records only: an Azure phase record may still be
// folded into its operation's outcome record, which reads its bodies.
type restHandler struct{ d *Detector }

func (h restHandler) Release(s *eventtime.ScopeState, r *eventtime.Release) {
	if h.d.sig != nil {
		h.d.sig.Release(s, r)
	}
	if ev := r.Record; ev != nil && ev.Provider == event.AWS {
		h.d.raws.strip(ev)
	}
}

func (h restHandler) Reset(s *eventtime.ScopeState) {
	if h.d.sig != nil {
		h.d.sig.Reset(s)
	}
}

func (h restHandler) Expire(s *eventtime.ScopeState) {
	if h.d.sig != nil {
		h.d.sig.Expire(s)
	}
}
