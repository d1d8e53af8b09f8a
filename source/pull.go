package source

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// This file holds what `pull aws` and `pull azure` share: the writer of
// the pulled records in a shape ingest reads natively, the pacing and the
// backoff of the list calls, and the counts a progress line shows.

// PullStats counts what a pull asked and wrote.
type PullStats struct {
	Calls      int // list calls answered (pages)
	Throttled  int // calls answered with a throttling error, then retried after a backoff
	Records    int // records written
	Duplicates int // records seen again (same EventId or eventDataId) and not written twice
	Rejected   int // entries without a usable record, each reported through Note
}

// Progress is told, from any goroutine, how far one scope (a region, a
// subscription) has come; done is true once for its last call.
type Progress func(scope string, s PullStats, done bool)

// Pacing bounds one scope's list calls and retries its throttled calls.
type Pacing struct {
	// Interval is the least time between two calls of one scope (AWS
	// allows LookupEvents 2 requests per second per account and region);
	// 0 does not pace.
	Interval time.Duration
	// Backoff is the wait before the n-th (1, 2, …) retry of a call the
	// SDK's own retries left throttled; nil means 2 s doubling to 60 s.
	Backoff func(n int) time.Duration
	// Retries bounds those retries of one call; 0 means 8.
	Retries int
}

func (p Pacing) backoff(n int) time.Duration {
	if p.Backoff != nil {
		return p.Backoff(n)
	}
	d := 2 * time.Second << min(n-1, 5)
	return min(d, 60*time.Second)
}

func (p Pacing) retries() int {
	if p.Retries > 0 {
		return p.Retries
	}
	return 8
}

// pacer spaces one scope's calls by an interval.
type pacer struct {
	every time.Duration
	next  time.Time
}

func (p *pacer) wait(ctx context.Context) error {
	if p.every <= 0 {
		return ctx.Err()
	}
	if d := time.Until(p.next); d > 0 {
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
	p.next = time.Now().Add(p.every)
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// call runs one list call, retrying it after a backoff while it fails
// with a throttling error (after the SDK's own quick retries).
func (p Pacing) call(ctx context.Context, pc *pacer, st *PullStats, throttled func(error) bool, f func() error) error {
	for n := 1; ; n++ {
		if err := pc.wait(ctx); err != nil {
			return err
		}
		err := f()
		if err == nil || !throttled(err) || n > p.retries() {
			return err
		}
		st.Throttled++
		if err := sleep(ctx, p.backoff(n)); err != nil {
			return err
		}
	}
}

// RecordWriter writes records, each a JSON object, as one document ingest
// reads natively: {"Records":[…]} (a CloudTrail delivery file) or
// {"value":[…]} (the Activity Log REST list). It is safe for concurrent
// use; records are written whole, one a line, in the order Add is called.
type RecordWriter struct {
	mu    sync.Mutex
	bw    *bufio.Writer
	gz    *gzip.Writer
	key   string
	n     int
	begun bool
	err   error
}

// NewRecordWriter writes the records under key ("Records" or "value") to
// w, gzip-compressed when gz is set.
func NewRecordWriter(w io.Writer, key string, gz bool) *RecordWriter {
	rw := &RecordWriter{key: key}
	if gz {
		rw.gz = gzip.NewWriter(w)
		w = rw.gz
	}
	rw.bw = bufio.NewWriterSize(w, 256<<10)
	return rw
}

func (rw *RecordWriter) begin() {
	if !rw.begun {
		rw.begun = true
		_, rw.err = fmt.Fprintf(rw.bw, "{%q:[", rw.key)
	}
}

// Add writes records (each one compact JSON object, checked by the caller).
func (rw *RecordWriter) Add(recs ...[]byte) error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.begin()
	for _, r := range recs {
		if rw.err != nil {
			return rw.err
		}
		sep := ",\n"
		if rw.n == 0 {
			sep = "\n"
		}
		if _, err := rw.bw.WriteString(sep); err != nil {
			rw.err = err
			return err
		}
		if _, err := rw.bw.Write(r); err != nil {
			rw.err = err
			return err
		}
		rw.n++
	}
	return rw.err
}

// Close ends the document (an empty list when nothing was added) and
// flushes it; it does not close the underlying writer.
func (rw *RecordWriter) Close() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.begin()
	if rw.err == nil {
		_, rw.err = rw.bw.WriteString("\n]}\n")
	}
	if rw.err == nil {
		rw.err = rw.bw.Flush()
	}
	if rw.gz != nil {
		if err := rw.gz.Close(); rw.err == nil {
			rw.err = err
		}
	}
	return rw.err
}

// seen remembers record ids, so that a record a list API returns twice
// (on two pages, or in two regions) is written once.
type seen struct {
	mu  sync.Mutex
	ids map[string]struct{}
}

// first says whether id is new; an empty id is always new.
func (s *seen) first(id string) bool {
	if id == "" {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids == nil {
		s.ids = map[string]struct{}{}
	}
	if _, ok := s.ids[id]; ok {
		return false
	}
	s.ids[id] = struct{}{}
	return true
}

// compactObject checks that raw is one JSON object and returns it compact
// (one line).
func compactObject(raw []byte) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(len(raw))
	if err := json.Compact(&b, raw); err != nil {
		return nil, err
	}
	if b.Len() == 0 || b.Bytes()[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	return b.Bytes(), nil
}

// ScopeError is a pull's failure in one scope (a region, a subscription):
// the others went on.
type ScopeError struct {
	Scope string
	Err   error
}

func (e *ScopeError) Error() string { return e.Scope + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *ScopeError) Unwrap() error { return e.Err }

// joinScopes joins the scopes' errors, one line per distinct cause naming
// every scope it hit (a missing credential fails every region alike).
func joinScopes(kind string, errs []error) error {
	var (
		causes []string
		scopes = map[string][]string{}
	)
	for _, err := range errs {
		var se *ScopeError
		if err == nil {
			continue
		}
		if !errors.As(err, &se) {
			causes = append(causes, err.Error())
			scopes[err.Error()] = nil
			continue
		}
		msg := se.Err.Error()
		if _, ok := scopes[msg]; !ok {
			causes = append(causes, msg)
		}
		scopes[msg] = append(scopes[msg], strings.TrimPrefix(se.Scope, kind+" "))
	}
	if len(causes) == 0 {
		return nil
	}
	var out []error
	for _, c := range causes {
		switch s := scopes[c]; {
		case len(s) > 3 && len(s) == len(errs):
			out = append(out, fmt.Errorf("every %s asked (%d): %s", kind, len(s), c))
		case len(s) == 0:
			out = append(out, errors.New(c))
		case len(s) == 1:
			out = append(out, fmt.Errorf("%s %s: %s", kind, s[0], c))
		default:
			out = append(out, fmt.Errorf("%ss %s: %s", kind, strings.Join(s, ", "), c))
		}
	}
	return errors.Join(out...)
}

// serialized wraps a pull's callbacks so that they are called one at a
// time, whichever scope's goroutine calls them.
func serialized(progress Progress, note func(string)) (Progress, func(string)) {
	var mu sync.Mutex
	n := func(s string) {
		if note != nil {
			mu.Lock()
			note(s)
			mu.Unlock()
		}
	}
	if progress == nil {
		return nil, n
	}
	return func(scope string, s PullStats, done bool) {
		mu.Lock()
		progress(scope, s, done)
		mu.Unlock()
	}, n
}

// CompactObject returns raw compacted to one line when it is one JSON
// object, as the pulled documents hold their records.
func CompactObject(raw []byte) ([]byte, bool) {
	b, err := compactObject(raw)
	return b, err == nil
}

// eachScope runs pull for every scope, jobs at a time, and returns the
// totals and each scope's error (nil where it succeeded), in scope order.
func eachScope(scopes []string, jobs int, pull func(scope string) (PullStats, error)) (PullStats, []error) {
	if jobs <= 0 {
		jobs = 4
	}
	var (
		mu    sync.Mutex
		total PullStats
		errs  = make([]error, len(scopes))
		wg    sync.WaitGroup
		sem   = make(chan struct{}, jobs)
	)
	for i, scope := range scopes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			st, err := pull(scope)
			mu.Lock()
			defer mu.Unlock()
			addStats(&total, st)
			errs[i] = err
		}()
	}
	wg.Wait()
	return total, errs
}

func addStats(a *PullStats, b PullStats) {
	a.Calls += b.Calls
	a.Throttled += b.Throttled
	a.Records += b.Records
	a.Duplicates += b.Duplicates
	a.Rejected += b.Rejected
}

// page writes one page's records and tells progress.
func (rw *RecordWriter) page(recs [][]byte, st *PullStats, progress Progress, scope string) error {
	if err := rw.Add(recs...); err != nil {
		return fmt.Errorf("writing: %w", err)
	}
	st.Records += len(recs)
	if progress != nil {
		progress(scope, *st, false)
	}
	return nil
}
