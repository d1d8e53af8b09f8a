package serve

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
)

// stdout is where findings go without a sink configured.
var stdout io.Writer = os.Stdout

// maxDiagnostics caps the diagnostics returned in one answer.
const maxDiagnostics = 20

// retryAfter is the Retry-After of a 503, in seconds.
const retryAfter = 1

// Answer is the JSON body of an ingest response.
type Answer struct {
	Accepted    int           `json:"accepted"`
	Rejected    int           `json:"rejected"`
	Skipped     int           `json:"skipped"`
	Error       string        `json:"error,omitempty"`
	Reason      string        `json:"reason,omitempty"`
	Diagnostics []ingest.Diag `json:"diagnostics,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func hashToken(t string) [32]byte { return sha256.Sum256([]byte(t)) }

// authorized compares the bearer token in constant time: both sides are
// hashed first, so neither the content nor the length leaks.
func (s *Server) authorized(r *http.Request) bool {
	if s.cfg.Token == "" {
		return true
	}
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return false
	}
	got := hashToken(strings.TrimSpace(h[len(prefix):]))
	return subtle.ConstantTimeCompare(got[:], s.tokenH[:]) == 1
}

// fail answers with a JSON error and counts it.
func (s *Server) fail(w http.ResponseWriter, code int, reason, msg string, a Answer) {
	s.m.Rejects.WithLabelValues(reason).Inc()
	s.m.Requests.WithLabelValues(strconv.Itoa(code)).Inc()
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	a.Error, a.Reason = msg, reason
	writeJSON(w, code, a)
}

// ingestOptions are the decoding options of a request, the same when the
// journal replays it.
func (s *Server) ingestOptions(category, host string) ingest.Options {
	return ingest.Options{MaxRecordSize: s.cfg.MaxRecordSize, SourceCategory: category, SourceHost: host}
}

// readBody reads a request's body as sent (http.MaxBytesReader caps it)
// into one buffer after head. It grows by pieces, never copying what
// arrived until the end, where the body is copied once into a buffer of
// its size; so a request holds about twice its body at most while it is
// read, and what it holds is what the client sent, not what it announced.
func readBody(r io.Reader, head []byte, announced int64) ([]byte, error) {
	size := 64 << 10
	if announced > 0 && announced < int64(size) {
		size = int(announced) + 1 // +1: the EOF comes without a second piece
	}
	var pieces [][]byte
	total := 0
	for {
		piece := make([]byte, size)
		n, err := io.ReadFull(r, piece)
		pieces = append(pieces, piece[:n])
		total += n
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, err
		}
		size = min(2*size, 4<<20)
	}
	out := make([]byte, 0, len(head)+total)
	out = append(out, head...)
	for _, p := range pieces {
		out = append(out, p...)
	}
	return out, nil
}

// ingest is POST /v1/ingest. The body is read first, under the body
// timeout and without a slot, so that slow clients cannot hold the
// in-flight slots; then, holding one, it is checked in one streaming pass
// that keeps no event (the local journal stores the body and decodes it
// again), and stored.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request) {
	received := time.Now()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.fail(w, http.StatusMethodNotAllowed, "method", "use POST", Answer{})
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="revertwatch"`)
		s.fail(w, http.StatusUnauthorized, "unauthorized", "missing or wrong bearer token", Answer{})
		return
	}
	if s.isClosing() {
		s.fail(w, http.StatusServiceUnavailable, "shutting down", "shutting down", Answer{})
		return
	}
	if r.ContentLength > s.cfg.MaxBodyBytes {
		s.fail(w, http.StatusRequestEntityTooLarge, "too large", fmt.Sprintf("body over %d bytes", s.cfg.MaxBodyBytes), Answer{})
		return
	}
	body := Body{Name: r.Header.Get("X-Sumo-Name"), Category: r.Header.Get("X-Sumo-Category"), Host: r.Header.Get("X-Sumo-Host"),
		Encoding: r.Header.Get("Content-Encoding")}
	if body.Name == "" {
		body.Name = "http"
	}
	if err := checkEncoding(body.Encoding); err != nil {
		s.fail(w, http.StatusUnsupportedMediaType, "encoding", err.Error(), Answer{})
		return
	}
	if s.cfg.BodyTimeout > 0 {
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout))
	}
	// The body is read after the backend's journal head, so that the local
	// journal stores it without another copy of the body.
	head, err := s.be.JournalHead(received, body)
	if err != nil {
		s.log.Error("journal head", "err", err)
		s.fail(w, http.StatusServiceUnavailable, "store", "could not store the events (the server log says why)", Answer{})
		return
	}
	entry, err := readBody(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes), head, r.ContentLength)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		s.fail(w, http.StatusRequestEntityTooLarge, "too large", fmt.Sprintf("body over %d bytes", s.cfg.MaxBodyBytes), Answer{})
		return
	case errors.Is(err, os.ErrDeadlineExceeded):
		w.Header().Set("Connection", "close")
		s.fail(w, http.StatusRequestTimeout, "timeout", fmt.Sprintf("body not received within %s", s.cfg.BodyTimeout), Answer{})
		return
	case err != nil:
		s.fail(w, http.StatusBadRequest, "read", "reading the body: "+err.Error(), Answer{})
		return
	}
	body.Data = entry[len(head):]
	// Only now is a slot taken; the time it is held is bounded by the
	// decoded size and StoreTimeout, not by the client.
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	default:
		s.fail(w, http.StatusServiceUnavailable, "overloaded", "too many requests in flight", Answer{})
		return
	}
	if !s.enter() {
		s.fail(w, http.StatusServiceUnavailable, "shutting down", "shutting down", Answer{})
		return
	}
	defer s.inflight.Done()

	c, err := s.check(r.Context(), body, s.cfg.MaxQueue, s.be.KeepEvents())
	a := c.answer
	var be *badEncoding
	switch {
	case errors.As(err, &be):
		s.fail(w, http.StatusBadRequest, "bad gzip", be.msg, Answer{})
		return
	case errors.Is(err, errDecodedTooLarge):
		s.fail(w, http.StatusRequestEntityTooLarge, "too large", fmt.Sprintf("body over %d bytes decompressed, every gzip layer counted", s.cfg.MaxDecodedBytes), Answer{})
		return
	case errors.Is(err, errTooManyEvents):
		s.fail(w, http.StatusRequestEntityTooLarge, "too large", fmt.Sprintf("more than %d events in one request: the queue holds %d", s.cfg.MaxQueue, s.cfg.MaxQueue), a)
		return
	case err != nil:
		s.fail(w, http.StatusBadRequest, "read", "reading the body: "+err.Error(), a)
		return
	}
	st := c.stats
	a.Rejected, a.Skipped = st.NRejected(), st.NSkipped()
	if c.events == 0 {
		if st.Error != "" || a.Rejected > 0 {
			msg := st.Error
			if msg == "" {
				msg = fmt.Sprintf("no event in the body: %d record(s) rejected", a.Rejected)
			}
			s.fail(w, http.StatusBadRequest, "bad body", msg, a)
			return
		}
		s.m.Requests.WithLabelValues("202").Inc()
		writeJSON(w, http.StatusAccepted, a)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.StoreTimeout)
	defer cancel()
	in := &Intake{Received: received, Body: body, Entry: entry, Events: c.events, Decoded: c.kept, handed: c.handed, DecodedCost: c.keptCost,
		Decode: func(ctx context.Context, fn func(*event.Event) error) error {
			_, err := decodeBody(ctx, body, s.ingestOptions(body.Category, body.Host), nil, ingest.Handlers{Event: fn})
			return err
		}}
	if err := s.be.Accept(ctx, in); err != nil {
		if errors.Is(err, ErrOverloaded) {
			s.fail(w, http.StatusServiceUnavailable, "overloaded", err.Error(), a)
			return
		}
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			s.fail(w, http.StatusServiceUnavailable, "overloaded", fmt.Sprintf("not stored within %s", s.cfg.StoreTimeout), a)
			return
		}
		// The error names the state file; that is for the log, not for
		// whoever can reach the port.
		s.log.Error("accepting input", "err", err)
		s.fail(w, http.StatusServiceUnavailable, "store", "could not store the events (the server log says why)", a)
		return
	}
	for _, f := range sortedFormats(c.formats) {
		s.m.EventsIn.WithLabelValues("http", string(f)).Add(float64(c.formats[f]))
	}
	a.Accepted = c.events
	s.m.Requests.WithLabelValues("202").Inc()
	writeJSON(w, http.StatusAccepted, a)
}

// sortedFormats lists the formats counted, in order.
func sortedFormats(m map[event.Format]int) []event.Format {
	out := make([]event.Format, 0, len(m))
	for f := range m {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}
