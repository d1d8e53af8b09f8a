package explain

import (
	"encoding/binary"
	"errors"
	"sync/atomic"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/internal/binread"
)

// A pack holds, in a few bytes each, the whole entries of the calls the
// first read decoded whole in files whose records no token can speak for
// (Azure, Google Cloud: see Facts), so that Build admits them from memory
// rather than reading those files again. The strings calls repeat
// (operations, principals, addresses, agents, resources) are kept once and
// named by number; the ones each call has of its own (its id, its
// operation's correlation id) are kept inline.
//
// Only the goroutine that hands the read's events on packs (Collector.Add).
type pack struct {
	ids     map[string]uint32
	strs    []string
	size    int         // bytes of the files' packs and of the strings
	full    atomic.Bool // past maxPack: no file is packed any more (Collector.Want reads it)
	scratch Entry
}

// maxPack bounds the bytes a pack holds (about 120 per Azure call): the
// files past it are read again. A variable for the tests.
var maxPack = 64 << 20

// maxPackStrings bounds the distinct strings of a pack.
const maxPackStrings = 1 << 20

// packedFile is the pack of one file: its calls in read order.
type packedFile struct {
	buf    []byte
	events int   // events packed, with a time or not
	last   int64 // the time of the last call, which the next is written from
}

// Flags of a packed call.
const (
	packReadOnly = 1 << iota
	packService
	packDeletes
	packOriginalIsUID // OriginalUID equals UID
	packOriginal      // OriginalUID follows, inline
)

func newPack() *pack { return &pack{ids: map[string]uint32{"": 0}, strs: []string{""}} }

// add packs ev's whole entry into f, and reports false once the pack is
// full (f then speaks for nothing).
func (p *pack) add(f *packedFile, ev *event.Event) bool {
	if p.full.Load() {
		return false
	}
	f.events++
	if ev.Time.IsZero() {
		return true // an Index ignores it
	}
	e := &p.scratch
	e.fill(ev)
	n := len(f.buf)
	var flags byte
	if e.ReadOnly {
		flags |= packReadOnly
	}
	if e.Service {
		flags |= packService
	}
	if e.DeleteFlag {
		flags |= packDeletes
	}
	switch ev.OriginalUID {
	case "":
	case ev.UID:
		flags |= packOriginalIsUID
	default:
		flags |= packOriginal
	}
	b := append(f.buf, flags)
	t := e.Time.UnixNano()
	b = binary.AppendVarint(b, t-f.last)
	f.last = t
	b = appendInline(b, e.UID)
	if flags&packOriginal != 0 {
		b = appendInline(b, ev.OriginalUID)
	}
	b = appendInline(b, e.correlation)
	for _, s := range [...]string{e.Provider, e.Account, e.Region, e.Operation, e.Outcome, e.ErrorCode,
		e.Principal, e.Caller, e.SrcIP, e.UserAgent, e.File, e.op, e.accessKey, e.userName, e.roleName, ev.ResourceID} {
		b = p.appendID(b, s)
	}
	b = binary.AppendUvarint(b, uint64(e.Line))
	b = binary.AppendUvarint(b, uint64(len(e.Resources)))
	for _, r := range e.Resources {
		b = p.appendID(b, r.UID)
		b = p.appendID(b, r.Type)
		b = p.appendID(b, r.Role)
	}
	for _, list := range [...][]string{e.Devices, e.BodyDisks} {
		b = binary.AppendUvarint(b, uint64(len(list)))
		for _, s := range list {
			b = p.appendID(b, s)
		}
	}
	f.buf = b
	p.size += len(b) - n
	if p.size > maxPack || len(p.strs) > maxPackStrings {
		p.full.Store(true)
		return false
	}
	return true
}

func appendInline(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendID appends the number of a repeated string.
func (p *pack) appendID(b []byte, s string) []byte {
	id, ok := p.ids[s]
	if !ok {
		id = uint32(len(p.strs))
		p.ids[s] = id
		p.strs = append(p.strs, s)
		p.size += len(s) + 48 // the string, its place in the list and in the map
	}
	return binary.AppendUvarint(b, uint64(id))
}

// errPack is a pack that does not decode: a bug, for only add writes it.
var errPack = errors.New("explain: damaged pack")

// done ends the packing of f: its bytes are copied to a slice of their
// own size, and are not written again (each's strings are views of them).
func (p *pack) done(f *packedFile) {
	p.size -= cap(f.buf) - len(f.buf)
	f.buf = append(make([]byte, 0, len(f.buf)), f.buf...)
}

// each calls fn with each call of f in read order: its whole entry, its
// record's OriginalUID and resource id. The entry is fn's only during the
// call (Index.insert copies what it keeps); its strings are the pack's.
func (p *pack) each(f *packedFile, fn func(e *Entry, original, resourceID string)) error {
	r := newPackReader(f.buf, p.strs)
	var t int64
	e := new(Entry)
	for len(r.B) > 0 && r.Err == nil {
		flags := r.Byte()
		t += r.Varint()
		resources, devices, disks := e.Resources[:0], e.Devices[:0], e.BodyDisks[:0]
		*e = Entry{Time: time.Unix(0, t).UTC()}
		e.ReadOnly, e.Service, e.DeleteFlag = flags&packReadOnly != 0, flags&packService != 0, flags&packDeletes != 0
		e.UID = r.inline()
		original := ""
		switch {
		case flags&packOriginalIsUID != 0:
			original = e.UID
		case flags&packOriginal != 0:
			original = r.inline()
		}
		e.correlation = r.inline()
		var resourceID string
		for _, s := range [...]*string{&e.Provider, &e.Account, &e.Region, &e.Operation, &e.Outcome, &e.ErrorCode,
			&e.Principal, &e.Caller, &e.SrcIP, &e.UserAgent, &e.File, &e.op, &e.accessKey, &e.userName, &e.roleName, &resourceID} {
			*s = r.str()
		}
		e.Line = int(r.Uvarint())
		for n := r.count(); n > 0; n-- {
			resources = append(resources, event.Resource{UID: r.str(), Type: r.str(), Role: r.str()})
		}
		for n := r.count(); n > 0; n-- {
			devices = append(devices, r.str())
		}
		for n := r.count(); n > 0; n-- {
			disks = append(disks, r.str())
		}
		if r.Err != nil {
			break
		}
		// An entry decoded from its record has no empty lists, only nil.
		e.Resources, e.Devices, e.BodyDisks = nilEmpty(resources), nilEmpty(devices), nilEmpty(disks)
		e.scratch = true
		fn(e, original, resourceID)
		e.Resources, e.Devices, e.BodyDisks = resources, devices, disks
	}
	return r.Err
}

// nilEmpty returns list, or nil when it is empty.
func nilEmpty[T any](list []T) []T {
	if len(list) == 0 {
		return nil
	}
	return list
}

// packReader reads a packedFile's bytes; the first error stops it.
type packReader struct {
	binread.Reader
	strs []string
}

func newPackReader(b []byte, strs []string) packReader {
	return packReader{Reader: binread.New(b, errPack), strs: strs}
}

// count reads a length no larger than the bytes left.
func (r *packReader) count() int {
	n := r.Uvarint()
	if n > uint64(len(r.B)) {
		r.Fail()
		return 0
	}
	return int(n)
}

// inline reads a string written inline, as a copy: what an index keeps
// of a replayed call must not hold on to the pack's bytes, which Build
// lets go of once the file is replayed (Facts.release).
func (r *packReader) inline() string {
	n := r.count()
	if n == 0 {
		return ""
	}
	s := string(r.B[:n])
	r.B = r.B[n:]
	return s
}

func (r *packReader) str() string {
	id := r.Uvarint()
	if id >= uint64(len(r.strs)) {
		r.Fail()
		return ""
	}
	return r.strs[id]
}
