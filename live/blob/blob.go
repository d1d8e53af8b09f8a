// Package blob is the live input of watch azblob://: the blobs of an
// Azure Storage container — the Activity Log export's hourly append blobs,
// resourceId=/SUBSCRIPTIONS/<sub>/y=/m=/d=/h=/m=00/PT1H.json, to which
// the records of the hour are appended as they are received — listed at
// every poll and each read from where the last checkpoint left it.
//
// The blob is the durable input (rule 1 of package live): what was
// appended stays until the blob is deleted. The position written with
// each checkpoint holds, per blob, its creation time, the offset read to
// and a hash of the bytes just before that offset, so that a restart
// (even after kill -9) reads each blob on from exactly where the state it
// restores stopped: no record is read twice or skipped. Only whole lines
// are read, with a ranged GET from the offset: a record being appended
// (no newline yet) stays unread until it is complete. A blob created
// anew — another creation time, a size below the offset, other bytes
// before the offset — is read from the start.
//
// The listing is pruned by the export layout to the hours from an hour
// before the newest blob of the position (an hour's blob may still grow a
// little after the next hour's appears) — or from an older blob not yet
// read to its end (a backlog is read a few chunks at a time) — or from
// Options.Since on a first start; the marks of blobs no longer listed are
// forgotten, which keeps the position small.
package blob

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/live"
	"github.com/revertwatch/revertwatch/source"
)

// DefaultPoll is the time between listings of the container. The export
// appends within minutes of a call (sources.md §5), so polling much more
// often only costs list calls.
const DefaultPoll = 30 * time.Second

// DefaultChunk caps the bytes of one ranged read.
const DefaultChunk = 8 << 20

// readsPerPoll bounds, in chunks, what one Read reads before the Loop
// checkpoints; the rest is read at once after.
const readsPerPoll = 4

// Options configure an Input.
type Options struct {
	URL  source.BlobURL
	Blob *source.Blob
	// Since bounds the first listing: blobs of the export layout whose
	// hour ends before it are not read. Once the position holds blobs of
	// the layout, the listing starts an hour before the newest of their
	// hours instead.
	Since time.Time
	// Poll is the time between listings (default DefaultPoll).
	Poll time.Duration
	// Polls, when set, replaces the timer: each value received is one
	// poll (tests drive the input with it).
	Polls <-chan struct{}
	// Chunk caps the bytes of one ranged read (default DefaultChunk, and
	// never less than the largest record); a blob with more to read is
	// read on at once, after a checkpoint.
	Chunk  int64
	Ingest ingest.Options // record size cap, forced format, source overrides
	OnDiag func(ingest.Diag)
	Logger *slog.Logger
}

// Stats count what an Input did.
type Stats struct {
	Polls  int64 // polls done: listed, and read what was new
	Reads  int64 // ranged reads that moved a blob's offset
	Bytes  int64 // bytes read past offsets
	Events int64
	Resets int64 // blobs found created anew, read again from the start
}

// Input is a live.Input over the blobs of a container.
type Input struct {
	opt   Options
	marks map[string]*Mark
	// seen is each blob's ETag at the last listing: a blob whose ETag
	// did not change between two listings has stopped changing.
	seen    map[string]string
	pending bool
	tick    *time.Ticker
	// listed: a listing succeeded; after that, a failed one is retried
	// at the next poll.
	listed bool

	polls, reads, bytes, events, resets atomic.Int64
}

// New makes the Input, starting from the position a checkpoint covers
// (nil on a first start).
func New(opt Options, pos json.RawMessage) (*Input, error) {
	if opt.Poll <= 0 {
		opt.Poll = DefaultPoll
	}
	if opt.Chunk <= 0 {
		opt.Chunk = DefaultChunk
	}
	maxRecord := int64(opt.Ingest.MaxRecordSize)
	if maxRecord <= 0 {
		maxRecord = ingest.DefaultMaxRecordSize
	}
	opt.Chunk = max(opt.Chunk, maxRecord+1)
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	in := &Input{opt: opt, marks: map[string]*Mark{}, seen: map[string]string{}}
	if len(pos) > 0 {
		p, err := ParsePosition(pos)
		if err != nil {
			return nil, err
		}
		for i := range p.Blobs {
			m := p.Blobs[i]
			in.marks[m.Name] = &m
		}
	}
	if opt.Polls == nil {
		in.tick = time.NewTicker(opt.Poll)
	}
	return in, nil
}

// Close stops the poll timer.
func (in *Input) Close() {
	if in.tick != nil {
		in.tick.Stop()
	}
}

// Stats returns the counters; safe to call at any time.
func (in *Input) Stats() Stats {
	return Stats{Polls: in.polls.Load(), Reads: in.reads.Load(), Bytes: in.bytes.Load(),
		Events: in.events.Load(), Resets: in.resets.Load()}
}

// from is where the listing starts: an hour before the newest hour of the
// blobs read, or the hour of the oldest blob not read to its listed end
// if that is earlier; Since when no blob read is of the export layout.
func (in *Input) from() time.Time {
	var newest, behind time.Time
	for name, m := range in.marks {
		h := source.ParseLayout(name).Hour
		if h.IsZero() {
			continue
		}
		if h.After(newest) {
			newest = h
		}
		if m.Behind && (behind.IsZero() || h.Before(behind)) {
			behind = h
		}
	}
	if newest.IsZero() {
		return in.opt.Since
	}
	from := newest.Add(-time.Hour)
	if !behind.IsZero() && behind.Before(from) {
		from = behind
	}
	return from
}

// Read implements live.Input: it lists the container and reads up to a
// chunk of every blob that grew, oldest hour first.
func (in *Input) Read(ctx context.Context, f live.Feed) (int, bool, error) {
	objs, err := in.opt.Blob.List(ctx, in.opt.URL, &source.Filter{Since: in.from()})
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return 0, false, nil
	case !in.listed:
		// A container that is not there, or credentials that do not
		// reach it, are said at once rather than retried forever.
		return 0, false, err
	default:
		// The next poll lists again; the position stays.
		in.opt.Logger.Warn("listing the container", "err", err)
		return 0, false, nil
	}
	in.listed = true
	defer in.polls.Add(1)
	sort.SliceStable(objs, func(i, j int) bool {
		hi, hj := source.ParseLayout(objs[i].Key).Hour, source.ParseLayout(objs[j].Key).Hour
		if !hi.Equal(hj) {
			return hi.Before(hj)
		}
		return objs[i].Key < objs[j].Key
	})
	listed := make(map[string]bool, len(objs))
	n, more := 0, false
	start := in.bytes.Load()
	for _, o := range objs {
		listed[o.Key] = true
		settled := o.ETag != "" && in.seen[o.Key] == o.ETag
		in.seen[o.Key] = o.ETag
		if ctx.Err() != nil {
			continue
		}
		if in.bytes.Load()-start < readsPerPoll*in.opt.Chunk {
			k, capped := in.blob(ctx, f, o, settled)
			n += k
			more = more || capped
		} else {
			// A backlog (a first start, a long stop) is read a few
			// chunks at a time, with a checkpoint after each: a crash
			// then reads again only since the last one.
			more = true
		}
		in.behind(o)
	}
	if ctx.Err() != nil {
		return n, false, nil
	}
	// Blobs deleted, or behind the window: forgotten. One deleted and
	// written anew is then read from the start.
	for name := range in.marks {
		if !listed[name] {
			delete(in.marks, name)
			in.pending = true
		}
	}
	for name := range in.seen {
		if !listed[name] {
			delete(in.seen, name)
		}
	}
	return n, more, nil
}

// blob reads what is new in one listed blob and says whether it read
// something and whether there is more than a chunk held back.
func (in *Input) blob(ctx context.Context, f live.Feed, o source.Object, settled bool) (int, bool) {
	m := in.marks[o.Key]
	switch {
	case m == nil:
		m = &Mark{Name: o.Key, Created: o.Created}
		in.marks[o.Key] = m
		in.pending = true
	case !m.Created.Equal(o.Created) || o.Size < m.Offset || m.Whole && m.ETag != "" && m.ETag != o.ETag:
		in.reset(m, o.Created, "listed anew")
	}
	if o.Size <= m.Offset {
		return 0, false
	}
	if m.ETag == o.ETag && (!settled || m.triedTail) {
		// All its whole lines are read; what is left is a record being
		// written, or one that will never be whole.
		return 0, false
	}
	for range 2 { // a second time after finding the blob created anew
		n, capped, again := in.chunk(ctx, f, o, m, settled)
		if !again {
			return n, capped
		}
	}
	return 0, false
}

// behind notes whether a listed blob was read up to the version listed:
// one that was not (a read capped, left for the next, or failed) holds
// the listing window at its hour until it is.
func (in *Input) behind(o source.Object) {
	m := in.marks[o.Key]
	if m == nil {
		m = &Mark{Name: o.Key, Created: o.Created}
		in.marks[o.Key] = m
	}
	if b := m.ETag != o.ETag && o.Size > m.Offset; b != m.Behind {
		m.Behind = b
		in.pending = true
	}
}

func (in *Input) reset(m *Mark, created time.Time, why string) {
	in.opt.Logger.Info("blob created anew: read from the start", "blob", in.opt.URL.Name(m.Name), "why", why)
	*m = Mark{Name: m.Name, Created: created}
	in.resets.Add(1)
	in.pending = true
}

// chunk makes one ranged read of a blob, from TailLen bytes before its
// offset, and runs the whole lines in it through f. again says that the
// blob turned out to be another than the mark's and was reset.
func (in *Input) chunk(ctx context.Context, f live.Feed, o source.Object, m *Mark, settled bool) (n int, capped, again bool) {
	name := in.opt.URL.Name(o.Key)
	log := in.opt.Logger.With("blob", name)
	start := m.Offset - int64(m.TailLen)
	count := o.Size - start
	if limit := in.opt.Chunk + int64(m.TailLen); count > limit && !m.Whole {
		count, capped = limit, true
	}
	r, err := in.opt.Blob.OpenRange(ctx, in.opt.URL, o.Key, start, count)
	if err != nil {
		var be *source.BlobError
		if errors.As(err, &be) && be.Code == "BlobNotFound" {
			return 0, false, false // deleted since the listing: the next one forgets it
		}
		if ctx.Err() == nil {
			log.Warn("reading a blob; read again at the next poll", "err", err)
		}
		return 0, false, false
	}
	data, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		// Nothing of a read cut short is used: it is made again.
		if ctx.Err() == nil {
			log.Warn("reading a blob; read again at the next poll", "err", err)
		}
		return 0, false, false
	}
	if m.Offset > 0 && !r.Created.IsZero() && !m.Created.IsZero() && !r.Created.Equal(m.Created) {
		in.reset(m, r.Created, "another creation time")
		return 0, false, true
	}
	if m.TailLen > 0 && (len(data) < m.TailLen || hashTail(data[:m.TailLen]) != m.Tail) {
		in.reset(m, m.Created, "other bytes before the offset")
		return 0, false, true
	}
	before := data[:m.TailLen]
	data = data[m.TailLen:]
	// stable: the read saw the version the listing did, which did not
	// change since the listing before.
	stable := settled && r.ETag == o.ETag
	if m.Offset == 0 && isWhole(data) {
		m.Whole = true
	}
	var end int
	if m.Whole {
		if !stable || capped {
			// Read once it stops changing, and whole: a capped read
			// is followed at once by an uncapped one.
			m.ETag = ""
			return 0, capped, false
		}
		end = len(data)
	} else {
		end = lineEnd(data, capped, stable)
		m.triedTail = end < len(data) && stable
	}
	if !capped {
		// The listed version: its whole lines up to the listed size are
		// read now. A blob that grew since the listing has another ETag
		// at the next one, and is read on then.
		m.ETag = o.ETag
	} else {
		m.ETag = ""
	}
	if end == 0 {
		return 0, capped, false
	}
	body := data[:end]
	evs, diags, err := in.decode(ctx, name, body, m.Offset, m.Line, !m.Whole)
	if err != nil {
		m.ETag = ""
		return 0, false, false // cancelled: read again
	}
	for _, d := range diags {
		if in.opt.OnDiag != nil {
			in.opt.OnDiag(d)
		}
	}
	for _, ev := range evs {
		f.Process(ev)
	}
	f.Received(time.Now())
	m.Offset += int64(end)
	m.Line += bytes.Count(body, []byte{'\n'})
	tail := append(before[:len(before):len(before)], body...)
	if len(tail) > tailMax {
		tail = tail[len(tail)-tailMax:]
	}
	m.TailLen, m.Tail = len(tail), hashTail(tail)
	if m.TailLen == 0 {
		m.Tail = ""
	}
	in.pending = true
	in.reads.Add(1)
	in.bytes.Add(int64(end))
	in.events.Add(int64(len(evs)))
	return 1, capped, false
}

// decode decodes the data of a read, which starts at offset and line of
// the blob. A read of lines starts in the middle of the blob, where the
// decoder cannot tell lines from one damaged document: when damage ends
// its decoding, decode goes on at the next line, so that one broken
// record loses only itself, as it does when hunt reads the whole blob.
func (in *Input) decode(ctx context.Context, name string, data []byte, offset int64, line int, lines bool) ([]*event.Event, []ingest.Diag, error) {
	var (
		evs   []*event.Event
		diags []ingest.Diag
	)
	for len(data) > 0 {
		stop := int64(-1)
		base, first := offset, line
		_, err := ingest.DecodeStream(ctx, name, io.NopCloser(bytes.NewReader(data)), in.opt.Ingest, ingest.Handlers{
			Event: func(ev *event.Event) error {
				ev.Source.Offset += base
				ev.Source.Line += first
				evs = append(evs, ev)
				return nil
			},
			Diag: func(d ingest.Diag) {
				if lines && d.Severity == ingest.FileErr && d.Reason == "syntax" && stop < 0 {
					stop = d.Offset
					d.Msg = strings.TrimSuffix(d.Msg, "; the rest of the file is not read") + "; read on from the next line"
				}
				d.Offset += base
				if d.Line > 0 {
					d.Line += first
				}
				diags = append(diags, d)
			},
		})
		if err != nil {
			return nil, nil, err
		}
		if stop < 0 || stop >= int64(len(data)) {
			break
		}
		i := bytes.IndexByte(data[stop:], '\n')
		if i < 0 {
			break
		}
		skip := stop + int64(i) + 1
		offset += skip
		line += bytes.Count(data[:skip], []byte{'\n'})
		data = data[skip:]
	}
	return evs, diags, nil
}

// lineEnd is where the data of a read ends for now: after its last
// newline. A last line without one is read only when the blob has stopped
// changing and the line is a whole JSON value (a writer that ends records
// with no newline), and a capped read with no newline at all is read as it
// is (a line that long is refused by the decoder anyway).
func lineEnd(data []byte, capped, stable bool) int {
	end := bytes.LastIndexByte(data, '\n') + 1
	if end == 0 && capped {
		return len(data)
	}
	if end < len(data) && !capped && stable {
		if t := bytes.TrimSpace(data[end:]); len(t) > 0 && json.Valid(t) {
			return len(data)
		}
	}
	return end
}

// isWhole reports whether a blob is one document rather than JSON lines:
// gzip, or JSON whose first line is not a complete value.
func isWhole(head []byte) bool {
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		return true
	}
	i := bytes.IndexByte(head, '\n')
	if i < 0 {
		return false // no whole line yet: read as lines
	}
	first := bytes.TrimSpace(head[:i])
	return len(first) > 0 && !json.Valid(first)
}

// Wait implements live.Input: until the next poll.
func (in *Input) Wait(ctx context.Context) {
	var c <-chan time.Time
	if in.tick != nil {
		c = in.tick.C
	}
	select {
	case <-ctx.Done():
	case <-c:
	case <-in.opt.Polls:
	}
}

// Position implements live.Input.
func (in *Input) Position() (json.RawMessage, error) {
	p := Position{Blobs: make([]Mark, 0, len(in.marks))}
	for _, m := range in.marks {
		p.Blobs = append(p.Blobs, *m)
	}
	sort.Slice(p.Blobs, func(i, j int) bool { return p.Blobs[i].Name < p.Blobs[j].Name })
	return json.Marshal(p)
}

// Pending implements live.Input.
func (in *Input) Pending() bool { return in.pending }

// Committed implements live.Input.
func (in *Input) Committed() { in.pending = false }

// Client is the Blob Storage client the Input reads with (for its counts
// of list and get calls).
func (in *Input) Client() *source.Blob { return in.opt.Blob }
