package ingest

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fastjson"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest/azure"
	"github.com/revertwatch/revertwatch/ingest/cloudtrail"
	"github.com/revertwatch/revertwatch/ingest/gcp"
	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// DefaultMaxRecordSize is the default cap on one record's size.
const DefaultMaxRecordSize = 4 << 20

// envelopeKeys name the arrays whose members are records: CloudTrail S3
// files (Records), Azure Event Hub batches (records), Azure REST lists
// (value), LookupEvents output (Events), CloudWatch Logs payloads
// (logEvents), the Cloud Logging API's entries.list response (entries)
// and a Pub/Sub pull response (receivedMessages).
var envelopeKeys = map[string]bool{"Records": true, "records": true, "value": true, "Events": true, "logEvents": true,
	"entries": true, "receivedMessages": true}

// topArray is the envelope of the members of a top-level JSON array (a
// bare array of records: gcloud's output, a Logs Explorer download).
const topArray = "["

// fileDecoder reads one input stream into events.
type fileDecoder struct {
	name   string
	opt    *Options
	forced Format
	emit   func(*event.Event)
	diag   func(Diag)
	stats  *FileStats

	sc       *scanner
	p, inner fastjson.Parser
	az       azure.Decoder
	gc       gcp.Decoder
	cwSkip   bool   // the payload being streamed is a CONTROL_MESSAGE
	cwGroup  string // the log group of the payload being streamed
	index    int
	chunks   *chunker // set when records are decoded by the workers of Read
	lite     liteScanner
	kind     Format                                       // the record's format, when light found it as classify would
	req      span                                         // with kind: requestParameters in the record, as MarshalTo writes it
	resp     span                                         // and responseElements
	inner2   []jsonx.Member                               // members of a nested object, for partial events
	inner3   []jsonx.Member                               // and of one nested in it
	pre      []jsonx.Member                               // the record's members as the splitter indexed them, or nil
	arena    *chunk                                       // the chunk a worker decodes: partial events come from it
	sel      func(*event.Event, []jsonx.Member) Selection // this decoder's Options.NewSelect
	filter   func(*event.Event, *fastjson.Value) bool     // this decoder's Options.NewFilter
	// parsed is the record being dispatched and its parse, for filter.
	parsedRaw []byte
	parsed    *fastjson.Value
	strs      map[string]string
	lowers    map[string]string
	// recKey is the first member name of a record of the array being
	// read, for a resync when a damaged record's own is unreadable.
	recKey string
	// size, when not 0, is the whole stream's length plus one: the read
	// buffers need be no larger (DecodeStream of a body or a message).
	size int
}

// bufSize is a read buffer's size: n, or less for a stream known to be
// shorter, so that decoding a small body or message does not allocate a
// file's buffers.
func (d *fileDecoder) bufSize(n int) int {
	if d.size > 0 && d.size < n {
		return max(d.size, 16)
	}
	return n
}

// recordPos is where a record starts.
type recordPos struct {
	offset int64
	line   int
}

func (d *fileDecoder) report(sev Severity, pos recordPos, index int, reason, msg string) {
	dg := Diag{File: d.name, Line: pos.line, Offset: pos.offset, Index: index, Severity: sev, Reason: reason, Msg: msg}
	d.stats.count(dg)
	d.diag(dg)
}

// run decodes the whole stream r.
func (d *fileDecoder) run(r io.Reader) {
	cr := &countingReader{r: r, progress: d.opt.Progress}
	br := bufio.NewReaderSize(cr, d.bufSize(64<<10))
	var src io.Reader = br
	// The first bytes as stored: what a file that is not a log is, so
	// that the error says what to do with it. Only what is buffered is
	// looked at beyond the magic numbers, so a slow stream is not waited
	// for, and kept only when it is not JSON.
	head, _ := br.Peek(8)
	if what := foreignMagic(head); what != "" {
		d.report(FileErr, recordPos{}, -1, "unknown format", "unknown format: "+what)
		return
	}
	head, _ = br.Peek(min(br.Buffered(), sniffLen))
	if t := bytes.TrimLeft(head, " \t\r\n"); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		head = nil
	} else {
		head = append([]byte(nil), head...)
	}
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			d.report(FileErr, recordPos{}, -1, "gzip", fmt.Sprintf("gzip header unreadable: %v", err))
			return
		}
		defer zr.Close()
		d.stats.Gzip = true
		src = zr
		if d.chunks != nil {
			// Decompress on a goroutine of its own, a few blocks ahead:
			// a file's gzip and its splitting then run side by side.
			ra := newReadAhead(zr, 8)
			defer ra.close()
			src = ra
		}
	}
	// A console's CSV download (ingest/console.go), plain or gzipped.
	if head != nil || d.stats.Gzip {
		bsrc, ok := src.(*bufio.Reader)
		if !ok {
			bsrc = bufio.NewReaderSize(src, 64<<10)
			src = bsrc
		}
		sniff, _ := bsrc.Peek(sniffLen)
		if sniffConsole(sniff) {
			if d.forced != "" && d.forced != FormatAuto {
				d.report(FileErr, recordPos{0, 1}, -1, "not the forced format",
					fmt.Sprintf("a console CSV download, not of the forced format %s (--input-format); leave --input-format out to read it", d.forced))
				return
			}
			if d.consoleCSV(bsrc) {
				return
			}
		}
	}
	d.sc = newScanner(src, d.bufSize(scanBuf), d.opt.maxRecord())
	if d.chunks != nil {
		d.sc.appendMode = true
		d.sc.buf = bufPool.Get().([]byte)[:0]
		d.chunks.sc = d.sc
	}
	defer func() { d.stats.Bytes += d.sc.off }() // += : the members of a zip archive add up

	c, err := d.sc.peek()
	if err != nil {
		if errors.Is(err, io.EOF) {
			d.report(FileErr, recordPos{}, -1, "empty", "empty file: no JSON records")
		} else {
			d.damage(err)
		}
		return
	}
	if c != '{' && c != '[' {
		msg := fmt.Sprintf("unknown format: not JSON (starts with %s); expected CloudTrail, Azure Activity Log or Google Cloud Audit Logs records", quoteByte(c))
		if !d.stats.Gzip && looksCSV(head) {
			msg = fmt.Sprintf("unknown format: %s (starts with %s)", csvHint, quoteByte(c))
		}
		d.report(FileErr, recordPos{d.sc.off, d.sc.line}, -1, "unknown format", msg)
		return
	}
	d.top()
}

// sniffLen is how much of a file's start looksCSV sees at most.
const sniffLen = 4096

// foreignMagic names a file that is plainly not a log by its first bytes
// (its magic number, never its name), with what to do about it, or
// returns "".
func foreignMagic(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")), bytes.HasPrefix(head, []byte("PK\x07\x08")):
		return "a zip archive: unzip it first (revertwatch reads zip archives given as files or on standard input, not inside another archive or in a request body)"
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "a PNG image, not a log"
	}
	return ""
}

// csvHint is what an unknown-format error says of a CSV file.
const csvHint = "a CSV file whose header is not that of a console export revertwatch reads (the CloudTrail console's Event history, the Azure portal's Activity log); export as JSON"

// looksCSV reports whether a file that is not JSON starts as CSV does: a
// first line of printable text (after a byte-order mark) with a comma
// between fields.
func looksCSV(head []byte) bool {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	line, _, found := bytes.Cut(head, []byte("\n"))
	if !found && len(head) == sniffLen {
		return false // a first line longer than what was read
	}
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 || line[0] == '{' || line[0] == '[' || !bytes.ContainsRune(line, ',') {
		return false
	}
	for _, c := range line {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// damage reports an error that stops reading the stream, naming a
// truncated gzip stream as such.
func (d *fileDecoder) damage(err error) {
	pos := recordPos{d.sc.off, d.sc.line}
	var se *syntaxError
	switch {
	case errors.As(err, &se):
		d.report(FileErr, recordPos{se.offset, se.line}, -1, "syntax", "malformed JSON structure: "+se.msg+"; the rest of the file is not read")
	case errors.Is(err, io.EOF):
		// The end came where the structure needed more.
		d.damage(io.ErrUnexpectedEOF)
	case errors.Is(err, io.ErrUnexpectedEOF) && d.stats.Gzip:
		d.report(FileErr, pos, -1, "truncated", fmt.Sprintf("gzip stream truncated after %d bytes of JSON; records before the damage were kept", d.sc.off))
	case errors.Is(err, io.ErrUnexpectedEOF):
		d.report(FileErr, pos, -1, "truncated", "input ends inside a record (truncated or unbalanced JSON); records before the damage were kept")
	case d.stats.Gzip:
		d.report(FileErr, pos, -1, "gzip", fmt.Sprintf("gzip stream damaged after %d bytes of JSON: %v; records before the damage were kept", d.sc.off, err))
	default:
		d.report(FileErr, pos, -1, "read", fmt.Sprintf("read error: %v", err))
	}
}

// top reads the top-level values of the stream.
func (d *fileDecoder) top() {
	sc := d.sc
	first := true
	lines := false
	for {
		c, err := sc.peek()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				d.damage(err)
			}
			return
		}
		pos := recordPos{sc.off, sc.line}
		if first && c == '{' && damagedFirstLine(sc) {
			lines = true
		}
		if lines && d.indexed(pos, "", sc.lineFast) {
			continue
		}
		if lines {
			raw, err := sc.readLine()
			if err == errTooLarge {
				d.tooLarge(pos)
				continue
			}
			if err != nil {
				d.damage(err)
				return
			}
			if len(bytes.TrimSpace(raw)) > 0 {
				d.record(raw, pos, "")
			}
			continue
		}
		switch {
		case c == '[':
			if err := d.array(topArray); err != nil {
				d.damage(err)
				return
			}
		case c == '{':
			// Every top-level object goes member by member, so that a
			// second concatenated {"Records":[...]} streams like the first.
			if err := d.object(pos); err != nil {
				d.damage(err)
				return
			}
		default:
			raw, err := sc.value()
			if err == errTooLarge {
				d.tooLarge(pos)
				continue
			}
			if err != nil {
				d.damage(err)
				return
			}
			d.record(raw, pos, "")
		}
		// A first value that ended on the line it began on, followed by a
		// new line, makes the file JSON lines: read it line by line from
		// here, so that one damaged line cannot swallow the next.
		if first && sc.line == pos.line {
			if n, err := sc.peek(); err == nil && sc.line > pos.line && n == '{' {
				lines = true
			}
		}
		first = false
	}
}

// damagedFirstLine reports whether the stream is JSON lines whose first
// line is damaged (a writer that died mid-record, or a chunk of a growing
// file that starts at one): the first line is broken JSON, not merely the
// start of a document ({"Records":[), and the second is one object, whole
// on its line. Read as one document, such a stream would lose every line
// after the damage; read as lines, it loses only the first, which is
// rejected like any damaged line. It looks only at what is buffered, so
// that it never waits for a stream's next bytes.
func damagedFirstLine(sc *scanner) bool {
	buf, _ := sc.fill()
	first, rest, ok := bytes.Cut(buf, []byte{'\n'})
	if !ok || !brokenJSON(first) {
		return false
	}
	second, _, ok := bytes.Cut(rest, []byte{'\n'})
	second = bytes.TrimSpace(second)
	return ok && len(second) > 0 && second[0] == '{' && json.Valid(second)
}

// brokenJSON reports whether a line cannot begin a JSON text that goes on
// past it: it has a syntax error, or it ends inside a string (a string
// cannot hold a raw newline).
func brokenJSON(line []byte) bool {
	if json.Valid(line) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	for {
		if _, err := dec.Token(); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return endsInString(line)
			}
			return true
		}
	}
}

// endsInString reports whether JSON text ends inside a string.
func endsInString(b []byte) bool {
	in, esc := false, false
	for _, c := range b {
		switch {
		case esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		}
	}
	return in
}

// array streams the members of the array that starts at the next byte.
func (d *fileDecoder) array(envelope string) error {
	sc := d.sc
	if _, err := sc.expect("["); err != nil {
		return err
	}
	if c, err := sc.peek(); err == nil && c == ']' {
		sc.consume()
		return nil
	}
	d.recKey = ""
	for {
		// A member's position is that of its first byte, past the white
		// space after the comma.
		if _, err := sc.peek(); err != nil {
			return err
		}
		pos := recordPos{sc.off, sc.line}
		if !d.indexed(pos, envelope, sc.objectFast) {
			raw, err := sc.member(d.recKey)
			var rs *resynced
			switch {
			case err == errTooLarge:
				d.tooLarge(pos)
			case errors.As(err, &rs):
				if !rs.found {
					return d.lostTail(pos, rs)
				}
				d.damagedRecord(pos, rs)
				continue // the scanner is at the next record's first byte
			case err != nil:
				return err
			default:
				if d.recKey == "" {
					d.recKey, _ = firstKey(raw)
				}
				d.record(raw, pos, envelope)
			}
		}
		c, err := sc.expect(",]")
		var se *syntaxError
		if errors.As(err, &se) && d.recKey != "" {
			// Damage between records: read on from the next one.
			if found, _ := sc.resync(d.recKey, 0); found {
				d.report(Rejected, recordPos{se.offset, se.line}, -1, "damaged JSON structure",
					fmt.Sprintf("damaged JSON between records: %s; skipped %d bytes to the next record, at line %d (byte %d), and read on from there",
						se.msg, sc.off-se.offset, sc.line, sc.off))
				continue
			}
		}
		if err != nil {
			return err
		}
		if c == ']' {
			return nil
		}
	}
}

// damagedRecord rejects a record whose JSON structure is damaged, after
// the scanner moved past it to the next record (see resync).
func (d *fileDecoder) damagedRecord(pos recordPos, rs *resynced) {
	d.stats.Records++
	d.report(Rejected, pos, d.index, "damaged JSON structure",
		fmt.Sprintf("record %d is damaged: %s; skipped %d bytes to the next record, at line %d (byte %d), and read on from there",
			d.index, damageText(rs), rs.skipped, rs.nextLine, rs.nextOff))
	d.index++
}

// lostTail reports a damaged record after which no record boundary could
// be found: the rest of the input is lost, and said so, from the damaged
// record's position.
func (d *fileDecoder) lostTail(pos recordPos, rs *resynced) error {
	if rs.cause == io.ErrUnexpectedEOF {
		return rs.cause // what it always was: truncated, or unbalanced to the end
	}
	var qe *quoteError
	if !errors.As(rs.cause, &qe) {
		return rs.cause
	}
	return &syntaxError{pos.offset, pos.line, fmt.Sprintf("record %d is damaged: %s, and no later record could be told apart to read on from", d.index, damageText(rs))}
}

// damageText says what was wrong with a damaged record, and where it was
// noticed.
func damageText(rs *resynced) string {
	var qe *quoteError
	if errors.As(rs.cause, &qe) {
		return fmt.Sprintf("an unbalanced quote (its strings are out of step; noticed at line %d, byte %d)", qe.line, qe.off)
	}
	return "its brackets do not balance before the end of the input"
}

// object reads the first top-level object. When one of its members is an
// envelope array, the members of that array are streamed as records one by
// one, so a 1 GB {"Records":[...]} file never sits in memory; otherwise
// the object is itself a record.
func (d *fileDecoder) object(pos recordPos) error {
	sc := d.sc
	sc.consume() // {
	captured := []byte{'{'}
	over := false
	streamed := false
	cwHeader := false // messageType came before logEvents
	capture := func(b []byte) {
		if streamed || over {
			return
		}
		if len(captured)+len(b) > d.opt.maxRecord() {
			over = true
			captured = nil
			return
		}
		captured = append(captured, b...)
	}
	if c, err := sc.peek(); err == nil && c == '}' {
		sc.consume()
		d.record([]byte("{}"), pos, "")
		return nil
	}
	for {
		kpos := recordPos{sc.off, sc.line}
		key, err := sc.value()
		if err != nil && err != errTooLarge {
			return err
		}
		if len(key) == 0 || key[0] != '"' {
			return &syntaxError{kpos.offset, kpos.line, "expected a member name"}
		}
		name := string(key[1 : len(key)-1])
		if name == "messageType" {
			cwHeader = true
		}
		capture(key)
		if _, err := sc.expect(":"); err != nil {
			return err
		}
		capture([]byte{':'})
		c, err := sc.peek()
		if err != nil {
			return io.ErrUnexpectedEOF
		}
		// A CloudWatch payload is streamed only when its messageType came
		// first, as AWS writes it: otherwise a CONTROL_MESSAGE would be
		// known only after its members were decoded, so the payload is
		// read whole, as one record.
		if c == '[' && envelopeKeys[name] && !streamed && !over && (name != "logEvents" || cwHeader) {
			// What came before the array is the envelope's header: a
			// CloudWatch payload's messageType and owner, for instance.
			header := append(captured, "[]}"...)
			d.startEnvelope(name, header)
			streamed = true
			if err := d.array(name); err != nil {
				return err
			}
		} else {
			v, err := sc.value()
			if err == errTooLarge {
				over = true
			} else if err != nil {
				return err
			}
			capture(v)
		}
		c, err = sc.expect(",}")
		if err != nil {
			return err
		}
		if c == '}' {
			break
		}
		capture([]byte{','})
	}
	switch {
	case streamed:
	case over:
		d.tooLarge(pos)
	default:
		d.record(append(captured, '}'), pos, "")
	}
	return nil
}

// startEnvelope looks at the header of a streamed envelope.
func (d *fileDecoder) startEnvelope(key string, header []byte) {
	d.cwSkip, d.cwGroup = false, ""
	if key != "logEvents" {
		return
	}
	if h, err := d.p.ParseBytes(header); err == nil {
		d.cwSkip = jsonx.Str(h.Get("messageType")) == "CONTROL_MESSAGE"
		d.cwGroup = jsonx.Str(h.Get("logGroup"))
	}
}

func (d *fileDecoder) tooLarge(pos recordPos) {
	d.stats.Records++
	d.report(Rejected, pos, d.index, "record over the size cap",
		fmt.Sprintf("record %d is larger than the %d-byte cap (--max-record-size); rejected", d.index, d.opt.maxRecord()))
	d.index++
}

// record decodes one record, or hands it to the decoding workers when
// the file is read in parallel. buf belongs to the scanner.
func (d *fileDecoder) record(buf []byte, pos recordPos, envelope string) {
	index := d.index
	d.index++
	d.stats.Records++
	if d.chunks != nil {
		d.chunks.add(buf, pos, index, envelope, d.cwSkip, d.cwGroup)
		return
	}
	d.decode(buf, pos, index, envelope)
}

// indexed reads the next record with read, a fast path of the scanner
// that checks the record as JSON and indexes its top-level members in the
// same pass (jsonx.MembersPrefix), when the file is read in parallel and
// partial events are wanted: the worker then neither scans nor checks it
// again. It reports false, having read nothing, when the fast path does
// not apply; the record is then read the ordinary way.
func (d *fileDecoder) indexed(pos recordPos, envelope string, read func([]jsonx.Member) ([]byte, []jsonx.Member, bool)) bool {
	c := d.chunks
	if c == nil || d.opt.Want == nil && !d.opt.QueryFields {
		return false
	}
	ch := c.current()
	from := len(ch.members)
	raw, ms, ok := read(ch.members)
	if !ok {
		return false
	}
	ch.members = ms
	if d.recKey == "" && len(ms) > from {
		d.recKey = string(ms[from].Key)
	}
	index := d.index
	d.index++
	d.stats.Records++
	c.addIndexed(raw, pos, index, envelope, d.cwSkip, d.cwGroup, from, len(ms))
	return true
}

// decode decodes one record; buf is borrowed and copied where an event
// keeps it.
func (d *fileDecoder) decode(buf []byte, pos recordPos, index int, envelope string) {
	buf = bytes.TrimSpace(buf)
	checked := false
	d.kind, d.req, d.resp = "", span{}, span{}
	if d.opt.Want != nil || d.opt.QueryFields {
		d.lite.checked = false
		if d.light(buf, pos, index, envelope) {
			return
		}
		checked = d.lite.checked
	}
	var raw []byte
	if d.opt.BorrowEvents && d.arena != nil {
		raw = buf[:len(buf):len(buf)] // fastjson parses a copy of its own
	} else {
		raw = append([]byte(nil), buf...)
	}
	var v *fastjson.Value
	var err error
	if checked {
		// The partial decoder's scan checked the record as parseStrict
		// would (jsonx.Members): only the tree is left to build.
		v, err = d.p.ParseBytes(raw)
	} else {
		v, err = parseStrict(&d.p, raw)
	}
	if err != nil {
		d.report(Rejected, pos, index, "malformed JSON", fmt.Sprintf("malformed JSON in record %d: %s", index, shortErr(err)))
		return
	}
	if v.Type() != fastjson.TypeObject {
		d.report(Rejected, pos, index, "not a JSON object", fmt.Sprintf("record %d is a JSON %s, not an object", index, v.Type()))
		return
	}
	d.parsedRaw, d.parsed = raw, v
	d.dispatch(v, raw, pos, index, envelope)
	d.parsedRaw, d.parsed = nil, nil
}

// newEvent starts an event with its source position.
func (d *fileDecoder) newEvent(raw []byte, pos recordPos, index, sub int, format event.Format) *event.Event {
	var ev *event.Event
	if d.opt.BorrowEvents && d.arena != nil && raw != nil {
		ev = d.arena.partial() // zeroed
		ev.Raw, ev.Format = raw, format
	} else {
		ev = &event.Event{Raw: raw, Format: format}
	}
	ev.Source = event.Source{
		Category: d.opt.SourceCategory, Host: d.opt.SourceHost, Name: d.name,
		Offset: pos.offset, Line: pos.line, Index: index, Sub: sub,
	}
	return ev
}

// out hands on a decoded event, or rejects it when it is not one: a record
// without a readable time or without an operation cannot be ordered or
// matched, and processed at time zero it would be a silent wrong answer
// (most often a record of another format than the one --input-format
// forced). The partial decoder takes only records with both, so the two
// decoders reject the same records.
func (d *fileDecoder) out(ev *event.Event) {
	if ev.Time.IsZero() || ev.Operation == "" {
		d.unusable(ev)
		return
	}
	d.stats.Events++
	d.stats.addFormat(string(ev.Format))
	if d.chunks != nil {
		d.chunks.event(ev) // decoded by the splitter (a console CSV row); a worker filters it
		return
	}
	if d.filtered(ev) {
		return
	}
	d.emit(ev)
}

// filtered asks the decoder's filter (Options.NewFilter) about ev and
// reports whether it said to drop it, counted.
func (d *fileDecoder) filtered(ev *event.Event) bool {
	if d.opt.NewFilter == nil {
		return false
	}
	if d.filter == nil {
		d.filter = d.opt.NewFilter()
	}
	var v *fastjson.Value
	if len(ev.Raw) > 0 && len(ev.Raw) == len(d.parsedRaw) && &ev.Raw[0] == &d.parsedRaw[0] {
		v = d.parsed
	}
	if d.filter(ev, v) {
		return false
	}
	d.stats.dropped++
	return true
}

// unusable rejects a decoded record that has no readable time or no
// operation, saying which, and, when a format was forced, that the record
// may not be of that format.
func (d *fileDecoder) unusable(ev *event.Event) {
	var reason string
	switch {
	case ev.Time.IsZero() && ev.Operation == "":
		reason = "no event time and no operation"
	case ev.Time.IsZero():
		reason = "no readable event time"
	default:
		reason = "no operation"
	}
	what := fmt.Sprintf("record %d", ev.Source.Index)
	if ev.Format == event.FormatCloudTrailCloudWatch {
		what = fmt.Sprintf("CloudWatch log event %d of record %d", ev.Source.Sub, ev.Source.Index)
	}
	msg := fmt.Sprintf("%s has %s; not an event; rejected", what, reason)
	if d.forced != "" && d.forced != FormatAuto {
		msg = fmt.Sprintf("%s has %s: it may not be of the forced format %s (--input-format); rejected", what, reason, d.forced)
	}
	d.report(Rejected, recordPos{ev.Source.Offset, ev.Source.Line}, ev.Source.Index, reason, msg)
}

// dispatch recognises what a record is and decodes it.
func (d *fileDecoder) dispatch(v *fastjson.Value, raw []byte, pos recordPos, index int, envelope string) {
	skip := func(reason, msg string) { d.report(Skipped, pos, index, reason, msg) }
	reject := func(reason, msg string) { d.report(Rejected, pos, index, reason, msg) }

	kind := d.forced
	if kind == "" || kind == FormatAuto {
		kind, d.kind = d.kind, "" // the record light scanned, not one inside it
		if kind == "" {
			kind = classify(v, envelope)
		}
	}
	switch kind {
	case FormatCloudTrail:
		// The bodies light found, when it found the format.
		req, resp := d.req.of(raw), d.resp.of(raw)
		d.req, d.resp = span{}, span{}
		ev := d.newEvent(raw, pos, index, 0, cloudTrailFormat(envelope))
		cloudtrail.DecodeBodies(v, ev, req, resp)
		d.out(ev)

	case FormatEventBridge:
		detail, dt := cloudtrail.EventBridgeDetail(v)
		if detail == nil && !cloudtrail.IsEventBridge(v) {
			// Only a forced format gets here: the record is no envelope.
			reject("not an EventBridge event", fmt.Sprintf("record %d is not an EventBridge event (no detail-type and detail): it may not be of the forced format %s (--input-format); rejected", index, kind))
			return
		}
		if detail == nil {
			skip("EventBridge detail-type "+dt, fmt.Sprintf("EventBridge event of detail-type %q carries no CloudTrail record; skipped", dt))
			return
		}
		ev := d.newEvent(detail.MarshalTo(nil), pos, index, 0, event.FormatCloudTrailEventBridge)
		cloudtrail.DecodeEventBridge(v, detail, ev)
		d.out(ev)

	case FormatCloudWatch:
		switch {
		case cloudtrail.IsCloudWatchLogEvent(v):
			if d.cwSkip {
				skip("CloudWatch CONTROL_MESSAGE", "CloudWatch Logs control message; skipped")
				return
			}
			d.cloudWatchEvent(v, pos, index, 0, d.cwGroup)
		case cloudtrail.IsCloudWatchPayload(v):
			if jsonx.Str(v.Get("messageType")) == "CONTROL_MESSAGE" {
				skip("CloudWatch CONTROL_MESSAGE", "CloudWatch Logs control message; skipped")
				return
			}
			group := jsonx.Str(v.Get("logGroup"))
			for i, le := range jsonx.Items(v.Get("logEvents")) {
				d.cloudWatchEvent(le, pos, index, i, group)
			}
		case v.Get("awslogs") != nil:
			d.awslogs(v, pos, index)
		default:
			reject("not a CloudWatch Logs payload", "record is not a CloudWatch Logs subscription payload")
		}

	case FormatLookupEvents:
		s := v.Get("CloudTrailEvent")
		if s == nil || s.Type() != fastjson.TypeString {
			reject("LookupEvents entry without CloudTrailEvent", "LookupEvents entry has no CloudTrailEvent string; rejected")
			return
		}
		inner := append([]byte(nil), s.GetStringBytes()...)
		iv, err := parseStrict(&d.inner, inner)
		if err != nil || iv.Type() != fastjson.TypeObject {
			reject("malformed CloudTrailEvent", fmt.Sprintf("CloudTrailEvent of record %d is not a JSON object: %v", index, err))
			return
		}
		ev := d.newEvent(inner, pos, index, 0, event.FormatCloudTrailLookup)
		cloudtrail.Decode(iv, ev)
		d.out(ev)

	case FormatAzureREST, FormatAzureExport, FormatAzureLogAnalytics, FormatAzure:
		shape := azure.Classify(v)
		switch {
		case kind == FormatAzureREST:
			shape = azure.REST
		case kind == FormatAzureExport:
			shape = azure.Export
		case kind == FormatAzureLogAnalytics:
			shape = azure.LogAnalytics
		case shape == azure.NotAzure:
			shape = azure.Export
		}
		var f event.Format
		switch {
		case shape == azure.SDK:
			f = event.FormatAzureSDK
		case shape == azure.Export && envelope == "records":
			f = event.FormatAzureEventHub
		case shape == azure.Export:
			f = event.FormatAzureStorage
		}
		ev := d.newEvent(raw, pos, index, 0, f)
		d.az.Decode(v, shape, ev)
		d.out(ev)

	case FormatGCP, FormatGCPBigQuery:
		shape := gcp.Classify(v)
		switch {
		case kind == FormatGCPBigQuery:
			shape = gcp.BigQuery
		case shape == gcp.NotGCP:
			shape = gcp.LogEntry
		}
		f := event.FormatGCPLogEntry
		switch {
		case shape == gcp.BigQuery:
			f = event.FormatGCPBigQuery
		case envelope == "entries":
			f = event.FormatGCPEntries
		case envelope == topArray:
			f = event.FormatGCPArray
		}
		d.gcpEntry(v, raw, shape, f, pos, index, "")

	case FormatGCPPubSub:
		if !gcp.IsPubSub(v) {
			reject("not a Pub/Sub message", fmt.Sprintf("record %d is not a Pub/Sub message (no message.data or data): it may not be of the forced format %s (--input-format); rejected", index, kind))
			return
		}
		m, err := gcp.PubSub(v)
		if err != nil {
			reject("undecodable Pub/Sub data", fmt.Sprintf("Pub/Sub message of record %d: %v; rejected", index, err))
			return
		}
		if len(m.Data) > d.opt.maxRecord() {
			reject("record over the size cap", fmt.Sprintf("Pub/Sub data of record %d is larger than the %d-byte cap (--max-record-size); rejected", index, d.opt.maxRecord()))
			return
		}
		iv, err := parseStrict(&d.inner, m.Data)
		if err != nil || iv.Type() != fastjson.TypeObject {
			reject("Pub/Sub data is not JSON", fmt.Sprintf("Pub/Sub data of record %d is not a JSON object (%s); rejected", index, shortErr(cmpErr(err))))
			return
		}
		shape := gcp.Classify(iv)
		if shape == gcp.NotGCP {
			reject("Pub/Sub data is not a log entry", fmt.Sprintf("Pub/Sub data of record %d is not a Cloud Audit Logs entry; rejected", index))
			return
		}
		d.gcpEntry(iv, m.Data, shape, event.FormatGCPPubSub, pos, index, m.Subscription)

	case kindDigest:
		skip("CloudTrail-Digest file", "CloudTrail-Digest validation file (no events); skipped")
	case kindInsight:
		skip("CloudTrail Insights event", "CloudTrail Insights event (not an API call); skipped")
	case kindTruth:
		skip("revertwatch emulation ground truth", "truth.json of revertwatch emulate (ground truth, not events); skipped")
	case kindNonAudit:
		what := nonAudit(v)
		skip(what, fmt.Sprintf("record %d (%s) is not an audit record of an API call; skipped", index, what))
	case kindNotification:
		if v.Get("Message") == nil {
			reject("notification without Message", "SNS/SQS notification without a Message member; rejected")
			return
		}
		skip("S3 delivery notification", "SNS/SQS notification announcing log files (holds no events); skipped")
	default:
		reject("unrecognized record", fmt.Sprintf("record %d is neither a CloudTrail, an Azure Activity Log nor a Google Cloud Audit Logs record", index))
	}
}

// gcpEntry decodes one Cloud Audit Logs entry, skipping a log entry of
// another kind (a platform or application log a sink also exported).
func (d *fileDecoder) gcpEntry(v *fastjson.Value, raw []byte, shape gcp.Shape, f event.Format, pos recordPos, index int, header string) {
	if !gcp.IsAudit(v, shape) {
		d.report(Skipped, pos, index, "GCP log entry without an audit log",
			fmt.Sprintf("record %d is a Cloud Logging entry without an AuditLog protoPayload (not an API call); skipped", index))
		return
	}
	ev := d.newEvent(raw, pos, index, 0, f)
	ev.Source.Header = header
	d.gc.Decode(v, shape, ev)
	d.out(ev)
}

// cmpErr names a value that parsed but is not an object.
func cmpErr(err error) error {
	if err == nil {
		return errors.New("not an object")
	}
	return err
}

// cloudWatchEvent decodes one logEvents member, whose message is a
// CloudTrail record as a JSON string.
func (d *fileDecoder) cloudWatchEvent(le *fastjson.Value, pos recordPos, index, sub int, group string) {
	msg := append([]byte(nil), le.GetStringBytes("message")...)
	iv, err := parseStrict(&d.inner, msg)
	if err != nil || !cloudtrail.IsRecord(iv) {
		d.report(Rejected, pos, index, "CloudWatch message is not a CloudTrail record",
			fmt.Sprintf("CloudWatch log event %d of record %d is not a CloudTrail record", sub, index))
		return
	}
	ev := d.newEvent(msg, pos, index, sub, event.FormatCloudTrailCloudWatch)
	ev.Source.Header = group
	cloudtrail.Decode(iv, ev)
	if t, ok := jsonx.Time(le.Get("timestamp")); ok {
		ev.LoggedTime = t
	}
	d.out(ev)
}

// awslogs decodes the form a subscription payload takes when handed to a
// Lambda function: {"awslogs":{"data":"<base64 of gzip of the payload>"}}.
func (d *fileDecoder) awslogs(v *fastjson.Value, pos recordPos, index int) {
	if d.opt.Inflate != nil && !d.opt.Inflate(0) {
		d.report(Rejected, pos, index, "over the decompression budget", fmt.Sprintf("awslogs.data of record %d not inflated: the input decompressed past its budget", index))
		return
	}
	data := jsonx.PathStr(v, "awslogs", "data")
	z, err := base64.StdEncoding.DecodeString(data)
	if err == nil {
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(bytes.NewReader(z)); err == nil {
			var payload []byte
			payload, err = io.ReadAll(io.LimitReader(zr, int64(d.opt.maxRecord())+1))
			if d.opt.Inflate != nil && !d.opt.Inflate(len(payload)) {
				d.report(Rejected, pos, index, "over the decompression budget", fmt.Sprintf("awslogs.data of record %d inflated past the input's decompression budget", index))
				return
			}
			if err == nil && len(payload) > d.opt.maxRecord() {
				err = errTooLarge
			}
			if err == nil {
				var pv *fastjson.Value
				if pv, err = parseStrict(&d.p, payload); err == nil {
					d.dispatch(pv, payload, pos, index, "")
					return
				}
			}
		}
	}
	d.report(Rejected, pos, index, "undecodable awslogs.data", fmt.Sprintf("awslogs.data of record %d is not base64 gzip JSON: %v", index, err))
}

// classify recognises a record by its members.
func classify(v *fastjson.Value, envelope string) Format {
	switch envelope {
	case "logEvents":
		return FormatCloudWatch
	case "Events":
		return FormatLookupEvents
	}
	switch {
	case cloudtrail.IsEventBridge(v):
		return FormatEventBridge
	case cloudtrail.IsCloudWatchPayload(v), v.Get("awslogs") != nil:
		return FormatCloudWatch
	case cloudtrail.IsLookupEvent(v):
		return FormatLookupEvents
	case v.Get("digestStartTime") != nil || v.Get("digestPublicKeyFingerprint") != nil:
		return kindDigest
	case jsonx.Str(v.Get("eventType")) == "AwsCloudTrailInsight":
		return kindInsight
	case strings.HasPrefix(jsonx.Str(v.Get("generator")), "revertwatch emulate"):
		return kindTruth
	case envelope == "receivedMessages" || gcp.IsPubSub(v):
		return FormatGCPPubSub
	case gcp.Classify(v) != gcp.NotGCP:
		return FormatGCP
	case nonAudit(v) != "":
		return kindNonAudit
	case cloudtrail.IsRecord(v):
		return FormatCloudTrail
	case azure.Classify(v) != azure.NotAzure:
		return FormatAzure
	case strings.EqualFold(jsonx.Str(v.Get("Type")), "Notification"):
		return kindNotification
	case envelope == "Records":
		return FormatCloudTrail
	}
	return ""
}

// cloudTrailFormat is the format of a CloudTrail record in envelope.
func cloudTrailFormat(envelope string) event.Format {
	if envelope == "Records" {
		return event.FormatCloudTrailRecords
	}
	return event.FormatCloudTrailLines
}

// errNotJSON is a record the parser took but JSON does not allow.
var errNotJSON = errors.New("not JSON: a number, literal, escape or control character outside JSON's grammar")

// parseStrict parses b, refusing what the parser tolerates but JSON does
// not (01, .5, nan, "\x", control characters in strings): the bytes of a
// record are handed on as JSON (the raw record, request and response), so
// they must be JSON.
func parseStrict(p *fastjson.Parser, b []byte) (*fastjson.Value, error) {
	v, err := p.ParseBytes(b)
	if err == nil && !jsonx.ValidTokens(b) {
		return nil, errNotJSON
	}
	return v, err
}

// shortErr trims a parser error to its first clause: the parser quotes the
// whole unparsed tail of the record, which can be megabytes.
func shortErr(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "; unparsed tail"); i >= 0 {
		msg = msg[:i]
	}
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	return msg
}

// nonAudit names the kind of a record that other AWS services write and
// that reaches an audit log pipeline (an S3 bucket, a Lambda's event, a
// SIEM export) without being an audit record of an API call, or returns
// "": these are skipped and counted by kind, like EventBridge events of
// another detail-type, not rejected. Fields per the services' documents:
// AWS Config's rule invocation event (configRuleName, invokingEvent) and
// configuration items (configurationItemCaptureTime) and notifications
// (messageType ConfigurationItemChangeNotification, ...), Security Hub's
// AWS Security Finding Format (SchemaVersion, ProductArn), GuardDuty's
// finding (schemaVersion, service.serviceName "guardduty").
func nonAudit(v *fastjson.Value) string {
	switch {
	case v.Get("configRuleName") != nil && (v.Get("invokingEvent") != nil || v.Get("resultToken") != nil):
		return "AWS Config rule invocation"
	case v.Get("configurationItemCaptureTime") != nil || v.Get("configurationItemStatus") != nil:
		return "AWS Config configuration item"
	case strings.HasPrefix(jsonx.Str(v.Get("messageType")), "Configuration") || strings.HasPrefix(jsonx.Str(v.Get("messageType")), "Oversized") ||
		jsonx.Str(v.Get("messageType")) == "ComplianceChangeNotification":
		return "AWS Config notification"
	case v.Get("SchemaVersion") != nil && v.Get("ProductArn") != nil:
		return "Security Hub finding"
	case v.Get("Findings") != nil && v.Get("Findings").Type() == fastjson.TypeArray && v.Get("eventName") == nil:
		return "Security Hub findings list"
	case strings.EqualFold(jsonx.PathStr(v, "service", "serviceName"), "guardduty") && v.Get("eventName") == nil:
		return "GuardDuty finding"
	}
	return ""
}
