package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/revertwatch/revertwatch/finding"
)

// WebhookOptions configure a Webhook.
type WebhookOptions struct {
	URL    string
	Client *http.Client // nil: a client with a 10 s timeout
	// Attempts is how many times one finding is posted before it goes to
	// the dead-letter file (default 5).
	Attempts int
	// Backoff is the wait after the first failure, doubled after each
	// (default 500 ms), up to MaxBackoff (default 30 s).
	Backoff, MaxBackoff time.Duration
	// DeadLetter is the file that findings given up on are appended to,
	// as JSON lines with the last error. Empty: such findings are an
	// error, delivered again later.
	DeadLetter string
	// Header is added to every request (an Authorization header, say).
	Header http.Header
}

// Webhook posts each finding as one JSON document, with the finding id in
// an Idempotency-Key header so that the receiver can drop repeats. A 2xx
// answer is success; 4xx other than 408 and 429 is final (the finding goes
// to the dead-letter file at once); anything else is retried with
// exponential backoff.
type Webhook struct {
	opt WebhookOptions
	r   Render
	mu  sync.Mutex // serialises dead-letter writes
	// DeadLettered counts findings written to the dead-letter file.
	DeadLettered func()
}

// NewWebhook returns a webhook sink.
func NewWebhook(opt WebhookOptions, r Render) *Webhook {
	if opt.Client == nil {
		opt.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opt.Attempts <= 0 {
		opt.Attempts = 5
	}
	if opt.Backoff <= 0 {
		opt.Backoff = 500 * time.Millisecond
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 30 * time.Second
	}
	return &Webhook{opt: opt, r: r}
}

// Name implements Sink.
func (w *Webhook) Name() string { return "webhook " + w.opt.URL }

// Deliver implements Sink.
func (w *Webhook) Deliver(ctx context.Context, fs []finding.Finding) error {
	for i := range fs {
		body, err := w.r.JSON(&fs[i])
		if err != nil {
			return err
		}
		if err := w.post(ctx, fs[i].ID, body); err != nil {
			if w.opt.DeadLetter == "" || ctx.Err() != nil {
				return fmt.Errorf("%s: %w", w.Name(), err)
			}
			if derr := w.deadLetter(body, err); derr != nil {
				return derr
			}
		}
	}
	return nil
}

// permanent is an answer that retrying will not change.
type permanent struct{ status int }

func (p permanent) Error() string { return fmt.Sprintf("HTTP %d", p.status) }

func (w *Webhook) post(ctx context.Context, id string, body []byte) error {
	wait := w.opt.Backoff
	var last error
	for attempt := 0; attempt < w.opt.Attempts; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			wait = min(wait*2, w.opt.MaxBackoff)
		}
		last = w.once(ctx, id, body)
		if last == nil {
			return nil
		}
		if _, ok := last.(permanent); ok {
			return last
		}
	}
	return last
}

func (w *Webhook) once(ctx context.Context, id string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.opt.URL, bytes.NewReader(body))
	if err != nil {
		return permanent{}
	}
	for k, vs := range w.opt.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", id)
	resp, err := w.opt.Client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests:
		return permanent{resp.StatusCode}
	}
	return fmt.Errorf("HTTP %d", resp.StatusCode)
}

func (w *Webhook) deadLetter(body []byte, cause error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	line, err := json.Marshal(struct {
		Time    time.Time       `json:"time"`
		URL     string          `json:"url"`
		Error   string          `json:"error"`
		Finding json.RawMessage `json:"finding"`
	}{time.Now().UTC(), w.opt.URL, cause.Error(), body})
	if err != nil {
		return err
	}
	f, err := os.OpenFile(w.opt.DeadLetter, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("dead-letter file: %w", err)
	}
	_, err = f.Write(append(line, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("dead-letter file: %w", err)
	}
	if w.DeadLettered != nil {
		w.DeadLettered()
	}
	return nil
}

// Close implements Sink.
func (w *Webhook) Close() error { return nil }
