package sink

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/revertwatch/revertwatch/finding"
)

// WebhookOptions configure a Webhook.
type WebhookOptions struct {
	URL string
	// Client posts; nil means a client with a 10 s timeout. Redirects are
	// never followed, whatever the client says: a 3xx answer is final.
	Client *http.Client
	// Attempts is how many deliveries of one finding may fail before it
	// goes to the dead-letter file (default 5). The caller waits between
	// deliveries (live.Loop backs off).
	Attempts int
	// Concurrency caps the requests in flight at once, over every caller
	// (default 4).
	Concurrency int
	// DeadLetter is the file that findings given up on are appended to,
	// as JSON lines with the last error. Empty: such findings stay an
	// error, delivered again and again.
	DeadLetter string
	// Header is added to every request (an Authorization header, say).
	Header http.Header
}

// Webhook posts each finding as one JSON document, with the finding id in
// an Idempotency-Key header so that the receiver can drop repeats. A 2xx
// answer is success; a 3xx (redirects are not followed: the credentials
// of Header must not go to another address) and a 4xx other than 408 and
// 429 are final, and the finding goes to the dead-letter file at once;
// anything else fails the delivery, and the finding goes to the
// dead-letter file once it failed Attempts deliveries.
//
// A Deliver is one attempt for each finding not yet taken, up to
// Concurrency at once, and stops starting new ones at the first failure;
// it remembers the findings taken, so that the same findings handed again
// after an error are not posted twice.
type Webhook struct {
	opt    WebhookOptions
	r      Render
	client *http.Client
	sem    chan struct{}

	mu    sync.Mutex // the maps and dead-letter writes
	tries map[string]int
	taken map[string]bool
	// DeadLettered counts findings written to the dead-letter file.
	DeadLettered func()
}

// NewWebhook returns a webhook sink.
func NewWebhook(opt WebhookOptions, r Render) *Webhook {
	client := &http.Client{Timeout: 10 * time.Second}
	if opt.Client != nil {
		c := *opt.Client
		client = &c
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if opt.Attempts <= 0 {
		opt.Attempts = 5
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = 4
	}
	return &Webhook{opt: opt, r: r, client: client, sem: make(chan struct{}, opt.Concurrency),
		tries: map[string]int{}, taken: map[string]bool{}}
}

// Name implements Sink: the scheme and host of the URL and a hash of all
// of it — stable, as what the sink owes is kept under it, and free of the
// secrets URLs of webhooks often carry in their path or query, as it goes
// to logs and metrics.
func (w *Webhook) Name() string {
	h := sha256.Sum256([]byte(w.opt.URL))
	if u, err := url.Parse(w.opt.URL); err == nil && u.Host != "" {
		return fmt.Sprintf("webhook %s://%s #%x", u.Scheme, u.Host, h[:4])
	}
	return fmt.Sprintf("webhook #%x", h[:4])
}

// Deliver implements Sink.
func (w *Webhook) Deliver(ctx context.Context, fs []finding.Finding) error {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed int
		first  error
	)
	fail := func(err error) {
		mu.Lock()
		if failed++; first == nil {
			first = err
		}
		mu.Unlock()
	}
	for i := range fs {
		f := &fs[i]
		w.mu.Lock()
		taken := w.taken[f.ID]
		w.mu.Unlock()
		if taken {
			continue
		}
		body, err := w.r.JSON(f)
		if err != nil {
			fail(err)
			continue
		}
		select {
		case w.sem <- struct{}{}:
		case <-ctx.Done():
			fail(ctx.Err())
			continue
		}
		mu.Lock()
		stop := first != nil
		if stop {
			// The receiver is failing: the rest waits for the next
			// delivery (after the caller's backoff) rather than each
			// waiting out a timeout now.
			failed += len(fs) - i
		}
		mu.Unlock()
		if stop {
			<-w.sem
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-w.sem }()
			if err := w.attempt(ctx, f.ID, body); err != nil {
				fail(err)
			}
		}()
	}
	wg.Wait()
	if failed > 0 {
		return fmt.Errorf("%s: %d of %d findings not taken: %w", w.Name(), failed, len(fs), first)
	}
	w.mu.Lock()
	for i := range fs {
		delete(w.taken, fs[i].ID)
		delete(w.tries, fs[i].ID)
	}
	w.mu.Unlock()
	return nil
}

// attempt posts one finding once; nil when it is taken or dead-lettered.
func (w *Webhook) attempt(ctx context.Context, id string, body []byte) error {
	err := w.once(ctx, id, body)
	if err != nil && ctx.Err() != nil {
		return ctx.Err() // stopped: not the receiver's failure
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		w.taken[id] = true
		return nil
	}
	w.tries[id]++
	_, final := err.(permanent)
	if !final && w.tries[id] < w.opt.Attempts || w.opt.DeadLetter == "" {
		return err
	}
	if derr := w.deadLetter(body, err); derr != nil {
		return derr
	}
	w.taken[id] = true
	return nil
}

// permanent is an answer that retrying will not change.
type permanent struct{ msg string }

func (p permanent) Error() string { return p.msg }

func (w *Webhook) once(ctx context.Context, id string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.opt.URL, bytes.NewReader(body))
	if err != nil {
		return permanent{err.Error()}
	}
	for k, vs := range w.opt.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", id)
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode/100 == 3:
		return permanent{fmt.Sprintf("HTTP %d: redirect to %q not followed", resp.StatusCode, resp.Header.Get("Location"))}
	case resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests:
		return permanent{fmt.Sprintf("HTTP %d", resp.StatusCode)}
	}
	return fmt.Errorf("HTTP %d", resp.StatusCode)
}

// deadLetter appends a finding given up on; w.mu is held.
func (w *Webhook) deadLetter(body []byte, cause error) error {
	line, err := json.Marshal(struct {
		Time    time.Time       `json:"time"`
		Sink    string          `json:"sink"`
		Error   string          `json:"error"`
		Finding json.RawMessage `json:"finding"`
	}{time.Now().UTC(), w.Name(), cause.Error(), body})
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
