package serve

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
	"github.com/revertwatch/revertwatch/live"
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

// errDecodedTooLarge marks a body over MaxDecodedBytes once gunzipped.
var errDecodedTooLarge = errors.New("body too large once decompressed")

// capReader returns errDecodedTooLarge past n bytes.
type capReader struct {
	r    io.Reader
	n    int64
	over bool
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		// One byte more tells a body of exactly the cap from a larger one.
		var one [1]byte
		if k, _ := c.r.Read(one[:]); k > 0 {
			c.over = true
			return 0, errDecodedTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	k, err := c.r.Read(p)
	c.n -= int64(k)
	return k, err
}

// ingestOptions are the decoding options of a request, the same when the
// journal replays it.
func (s *Server) ingestOptions(category, host string) ingest.Options {
	return ingest.Options{MaxRecordSize: s.cfg.MaxRecordSize, SourceCategory: category, SourceHost: host}
}

// ingest is POST /v1/ingest.
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
	if s.closing.Load() {
		s.fail(w, http.StatusServiceUnavailable, "shutting down", "shutting down", Answer{})
		return
	}
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	default:
		s.fail(w, http.StatusServiceUnavailable, "overloaded", "too many requests in flight", Answer{})
		return
	}
	if r.ContentLength > s.cfg.MaxBodyBytes {
		s.fail(w, http.StatusRequestEntityTooLarge, "too large", fmt.Sprintf("body over %d bytes", s.cfg.MaxBodyBytes), Answer{})
		return
	}
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	// The body as read goes to the journal; it is at most MaxBodyBytes.
	var raw bytes.Buffer
	br := bufio.NewReaderSize(io.TeeReader(body, &raw), 64<<10)
	var src io.Reader = br
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	magic, _ := br.Peek(2)
	gz := len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b
	switch {
	case enc == "gzip" || enc == "x-gzip" || gz:
		zr, err := gzip.NewReader(br)
		if err != nil {
			s.fail(w, http.StatusBadRequest, "bad gzip", "gzip body unreadable: "+err.Error(), Answer{})
			return
		}
		defer zr.Close()
		src = zr
	case enc != "" && enc != "identity":
		s.fail(w, http.StatusUnsupportedMediaType, "encoding", "unsupported Content-Encoding "+enc+" (gzip or none)", Answer{})
		return
	}
	capped := &capReader{r: src, n: s.cfg.MaxDecodedBytes}

	name := r.Header.Get("X-Sumo-Name")
	if name == "" {
		name = "http"
	}
	category, host := r.Header.Get("X-Sumo-Category"), r.Header.Get("X-Sumo-Host")
	opt := s.ingestOptions(category, host)
	var evs []*event.Event
	var a Answer
	st, err := ingest.DecodeStream(r.Context(), name, capped, opt, ingest.Handlers{
		Event: func(ev *event.Event) error { evs = append(evs, ev); return nil },
		Diag: func(d ingest.Diag) {
			if d.Severity == ingest.Rejected {
				s.m.Rejects.WithLabelValues("record: " + d.Reason).Inc()
			}
			if len(a.Diagnostics) < maxDiagnostics && d.Severity != ingest.Notice {
				a.Diagnostics = append(a.Diagnostics, d)
			}
		},
	})
	var mbe *http.MaxBytesError
	switch {
	case capped.over || errors.As(err, &mbe) || strings.Contains(st.Error, "http: request body too large"):
		s.fail(w, http.StatusRequestEntityTooLarge, "too large", fmt.Sprintf("body over %d bytes (%d decompressed)", s.cfg.MaxBodyBytes, s.cfg.MaxDecodedBytes), Answer{})
		return
	case err != nil:
		s.fail(w, http.StatusBadRequest, "read", "reading the body: "+err.Error(), a)
		return
	}
	a.Rejected, a.Skipped = st.NRejected(), st.NSkipped()
	if len(evs) == 0 {
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
	if int64(len(evs)) > s.cfg.MaxQueue {
		s.fail(w, http.StatusRequestEntityTooLarge, "too large", fmt.Sprintf("%d events in one request; the queue holds %d", len(evs), s.cfg.MaxQueue), a)
		return
	}
	b := Body{Name: name, Category: category, Host: host, Data: raw.Bytes()}
	if err := s.be.Accept(r.Context(), &live.Batch{Received: received, Source: "http", Events: evs}, b); err != nil {
		if errors.Is(err, ErrOverloaded) {
			s.fail(w, http.StatusServiceUnavailable, "overloaded", err.Error(), a)
			return
		}
		s.log.Error("accepting input", "err", err)
		s.fail(w, http.StatusServiceUnavailable, "store", "could not store the events: "+err.Error(), a)
		return
	}
	for _, ev := range evs {
		s.m.EventsIn.WithLabelValues("http", string(ev.Format)).Inc()
	}
	a.Accepted = len(evs)
	s.m.Requests.WithLabelValues("202").Inc()
	writeJSON(w, http.StatusAccepted, a)
}
