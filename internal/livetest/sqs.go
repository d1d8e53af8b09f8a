package livetest

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// SQSServer is a small SQS server speaking the AWS JSON 1.0 protocol the
// SDK's SQS client uses (X-Amz-Target: AmazonSQS.<Operation>), written
// from the SQS API Reference because no JSON-protocol emulator can be had
// offline (sources.md §8). It keeps the semantics a consumer relies on:
// SendMessage; ReceiveMessage with long polling (WaitTimeSeconds),
// MaxNumberOfMessages and a per-call VisibilityTimeout; a received message
// is invisible until its visibility timeout ends, then delivered again
// with a new receipt handle and ApproximateReceiveCount one higher;
// DeleteMessage and ChangeMessageVisibility take only the latest receipt
// handle; after MaxReceiveCount receives a message moves to the dead-letter
// queue (the redrive policy). Time is the wall clock, which a test can
// move forward (Advance) instead of sleeping.
type SQSServer struct {
	URL string

	mu          sync.Mutex
	offset      time.Duration // the clock is the wall clock plus offset
	failDeletes int
	queues      map[string]*sqsQueue
	seq         int
	wake        chan struct{} // closed and replaced on every change
	calls       map[string]int
	polls       int // receives in progress
}

type sqsQueue struct {
	name       string
	visibility time.Duration
	maxRecv    int    // 0: no redrive
	dlq        string // dead-letter queue name
	msgs       []*sqsMsg
}

type sqsMsg struct {
	id, body  string
	receipt   string
	visibleAt time.Time
	received  int
}

// NewSQSServer starts the server with its clock at the wall clock.
func NewSQSServer(t testing.TB) *SQSServer {
	t.Helper()
	s := &SQSServer{queues: map[string]*sqsQueue{}, wake: make(chan struct{}), calls: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Queue creates a queue and returns its URL. visibility is its default
// visibility timeout; with maxReceives > 0, a message received that many
// times without being deleted moves to dlq (created if needed).
func (s *SQSServer) Queue(name string, visibility time.Duration, maxReceives int, dlq string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queues[name] = &sqsQueue{name: name, visibility: visibility, maxRecv: maxReceives, dlq: dlq}
	if dlq != "" && s.queues[dlq] == nil {
		s.queues[dlq] = &sqsQueue{name: dlq, visibility: visibility}
	}
	return s.URL + "/000000000000/" + name
}

// Advance moves the server's clock forward: visibility timeouts that end
// meanwhile make their messages visible again.
func (s *SQSServer) Advance(d time.Duration) {
	s.mu.Lock()
	s.offset += d
	s.changed()
	s.mu.Unlock()
}

func (s *SQSServer) now() time.Time { return time.Now().Add(s.offset) }

// FailDeletes makes the next n DeleteMessage calls fail (InternalError),
// as a crash between a checkpoint and the delete would leave the message.
func (s *SQSServer) FailDeletes(n int) {
	s.mu.Lock()
	s.failDeletes = n
	s.mu.Unlock()
}

// Counts returns, for a queue, the messages visible now, in flight
// (received, not deleted, invisible) and in total.
func (s *SQSServer) Counts(name string) (visible, inFlight int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[name]
	if q == nil {
		return 0, 0
	}
	for _, m := range q.msgs {
		if m.visibleAt.After(s.now()) {
			inFlight++
		} else {
			visible++
		}
	}
	return visible, inFlight
}

// Calls says how many times an operation (DeleteMessage, ...) was called.
func (s *SQSServer) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Polling says whether a ReceiveMessage is in progress. A client that
// went away in the middle of a long poll may still be answered, taking a
// message: a test that stops a consumer waits for this to be false.
func (s *SQSServer) Polling() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.polls > 0
}

// Send puts a message on a queue, as SendMessage does.
func (s *SQSServer) Send(name, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.send(s.queues[name], body)
}

func (s *SQSServer) send(q *sqsQueue, body string) string {
	s.seq++
	id := fmt.Sprintf("%08d-0000-4000-8000-%012d", s.seq, s.seq)
	q.msgs = append(q.msgs, &sqsMsg{id: id, body: body, visibleAt: s.now()})
	s.changed()
	return id
}

func (s *SQSServer) changed() {
	close(s.wake)
	s.wake = make(chan struct{})
}

func (s *SQSServer) queue(url string) *sqsQueue {
	i := strings.LastIndexByte(url, '/')
	return s.queues[url[i+1:]]
}

type sqsError struct {
	code, msg string
}

func (s *SQSServer) serve(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	if r.Method != http.MethodPost || !ok {
		writeSQS(w, nil, &sqsError{"InvalidAction", "want POST with X-Amz-Target: AmazonSQS.<Operation>"})
		return
	}
	var in struct {
		QueueURL                    string `json:"QueueUrl"`
		MessageBody                 string
		MaxNumberOfMessages         int
		WaitTimeSeconds             int
		VisibilityTimeout           *int
		ReceiptHandle               string
		MessageSystemAttributeNames []string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeSQS(w, nil, &sqsError{"InvalidParameterValue", err.Error()})
		return
	}
	s.mu.Lock()
	s.calls[op]++
	q := s.queue(in.QueueURL)
	s.mu.Unlock()
	if q == nil {
		writeSQS(w, nil, &sqsError{"QueueDoesNotExist", "The specified queue does not exist."})
		return
	}
	switch op {
	case "SendMessage":
		s.mu.Lock()
		id := s.send(q, in.MessageBody)
		s.mu.Unlock()
		sum := md5.Sum([]byte(in.MessageBody))
		writeSQS(w, map[string]any{"MessageId": id, "MD5OfMessageBody": hex.EncodeToString(sum[:])}, nil)
	case "ReceiveMessage":
		writeSQS(w, s.receive(r, q, in.MaxNumberOfMessages, in.WaitTimeSeconds, in.VisibilityTimeout), nil)
	case "DeleteMessage":
		s.mu.Lock()
		if s.failDeletes > 0 {
			s.failDeletes--
			s.mu.Unlock()
			writeSQS(w, nil, &sqsError{"InternalError", "injected by the test"})
			return
		}
		err := s.find(q, in.ReceiptHandle, func(i int) { q.msgs = append(q.msgs[:i], q.msgs[i+1:]...) })
		s.mu.Unlock()
		writeSQS(w, map[string]any{}, err)
	case "ChangeMessageVisibility":
		if in.VisibilityTimeout == nil || *in.VisibilityTimeout < 0 || *in.VisibilityTimeout > 43200 {
			writeSQS(w, nil, &sqsError{"InvalidParameterValue", "VisibilityTimeout must be 0 to 43200"})
			return
		}
		s.mu.Lock()
		err := s.find(q, in.ReceiptHandle, func(i int) {
			q.msgs[i].visibleAt = s.now().Add(time.Duration(*in.VisibilityTimeout) * time.Second)
			s.changed()
		})
		s.mu.Unlock()
		writeSQS(w, map[string]any{}, err)
	default:
		writeSQS(w, nil, &sqsError{"UnsupportedOperation", op + " is not implemented by the test server"})
	}
}

// find calls f with the index of the message whose latest receipt handle
// is h; a handle of an earlier receive, or of a deleted message, is
// invalid.
func (s *SQSServer) find(q *sqsQueue, h string, f func(i int)) *sqsError {
	for i, m := range q.msgs {
		if m.receipt == h && h != "" {
			f(i)
			return nil
		}
	}
	return &sqsError{"ReceiptHandleIsInvalid", "The input receipt handle is invalid."}
}

func (s *SQSServer) receive(r *http.Request, q *sqsQueue, max, wait int, vis *int) map[string]any {
	if max <= 0 {
		max = 1
	}
	deadline := time.NewTimer(time.Duration(min(wait, 20)) * time.Second)
	defer deadline.Stop()
	s.mu.Lock()
	s.polls++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.polls--
		s.mu.Unlock()
	}()
	for {
		if r.Context().Err() != nil {
			return map[string]any{}
		}
		s.mu.Lock()
		var out []map[string]any
		kept := q.msgs[:0]
		for _, m := range q.msgs {
			if len(out) == max || m.visibleAt.After(s.now()) {
				kept = append(kept, m)
				continue
			}
			if q.maxRecv > 0 && m.received >= q.maxRecv {
				// Redrive: received maxReceiveCount times, not deleted.
				if d := s.queues[q.dlq]; d != nil {
					m.visibleAt, m.receipt = s.now(), ""
					d.msgs = append(d.msgs, m)
				}
				continue
			}
			m.received++
			m.receipt = fmt.Sprintf("%s#%d", m.id, m.received)
			v := q.visibility
			if vis != nil {
				v = time.Duration(*vis) * time.Second
			}
			m.visibleAt = s.now().Add(v)
			sum := md5.Sum([]byte(m.body))
			out = append(out, map[string]any{
				"MessageId": m.id, "ReceiptHandle": m.receipt, "Body": m.body, "MD5OfBody": hex.EncodeToString(sum[:]),
				"Attributes": map[string]string{"ApproximateReceiveCount": strconv.Itoa(m.received)},
			})
			kept = append(kept, m)
		}
		q.msgs = kept
		wake := s.wake
		// The next message to become visible again wakes the poll too.
		next := time.Duration(1 << 62)
		for _, m := range q.msgs {
			if d := m.visibleAt.Sub(s.now()); d > 0 && d < next {
				next = d
			}
		}
		s.mu.Unlock()
		if len(out) > 0 {
			return map[string]any{"Messages": out}
		}
		if wait <= 0 {
			return map[string]any{}
		}
		visible := time.NewTimer(next)
		select {
		case <-wake:
		case <-visible.C:
		case <-deadline.C:
			visible.Stop()
			return map[string]any{}
		case <-r.Context().Done():
			visible.Stop()
			return map[string]any{}
		}
		visible.Stop()
	}
}

func writeSQS(w http.ResponseWriter, out any, err *sqsError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	if err != nil {
		w.Header().Set("x-amzn-query-error", err.code+";Sender")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + err.code, "message": err.msg})
		return
	}
	json.NewEncoder(w).Encode(out)
}
