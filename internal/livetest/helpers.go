package livetest

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/revertwatch/revertwatch/finding"
)

// MemSink collects the findings delivered to it; with Gate set, a
// delivery waits until Gate gives way (or its context ends).
type MemSink struct {
	Gate chan struct{}
	mu   sync.Mutex
	fs   []finding.Finding
}

// Name names the sink.
func (m *MemSink) Name() string { return "memory" }

// Close does nothing.
func (m *MemSink) Close() error { return nil }

// Deliver keeps the findings.
func (m *MemSink) Deliver(ctx context.Context, fs []finding.Finding) error {
	if len(fs) == 0 {
		return nil
	}
	if m.Gate != nil {
		select {
		case <-m.Gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fs = append(m.fs, fs...)
	return nil
}

// IDs returns the ids delivered, sorted.
func (m *MemSink) IDs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, len(m.fs))
	for i, f := range m.fs {
		out[i] = f.ID
	}
	sort.Strings(out)
	return out
}

// Len is the number of findings delivered.
func (m *MemSink) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.fs)
}

// Findings returns the findings delivered, in delivery order.
func (m *MemSink) Findings() []finding.Finding {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]finding.Finding(nil), m.fs...)
}

// WaitFor polls cond until it holds, failing the test when d passes
// first: tests wait for what they expect, never for a time. Time during
// which the go command is still building other packages (see goBuilding)
// does not count towards d, and on a busy machine time counts at the
// share of a CPU the test can get (see cpuShare).
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	var waited, paused time.Duration
	last := time.Now()
	var nextCheck time.Time
	building, share := false, 1.0
	for !cond() {
		now := time.Now()
		if now.After(nextCheck) {
			building, share, nextCheck = goBuilding(), cpuShare(), now.Add(buildCheckEvery)
		}
		if building {
			paused += now.Sub(last)
		} else {
			counted := time.Duration(float64(now.Sub(last)) * share)
			waited += counted
			paused += now.Sub(last) - counted
		}
		last = now
		if waited > d {
			msg := ""
			if paused > 0 {
				msg = fmt.Sprintf(" (and %s more while go was building other packages or the machine was busy)", paused.Round(time.Millisecond))
			}
			t.Fatalf("timed out after %s waiting for %s%s", d, what, msg)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// NATSServer runs a JetStream server on a random loopback port, storing
// in a temporary directory, until the test ends.
func NATSServer(t testing.TB) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(s.Shutdown)
	return s
}
