package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/ingest"
)

func TestProgressNotOnTerminal(t *testing.T) {
	// Tests run with stderr redirected: no bar, and stop returns at once.
	stop := startProgress(&ingest.Progress{}, false)
	stop()
}

func TestProgressDrawsAfterDelay(t *testing.T) {
	p := &ingest.Progress{FilesTotal: 2, BytesTotal: 1000}
	p.FilesDone.Store(1)
	p.BytesRead.Store(500)
	p.Events.Store(42)
	var buf bytes.Buffer
	ticks := make(chan time.Time)
	stop := runProgress(p, &buf, ticks, 0)
	ticks <- time.Now().Add(time.Second)
	ticks <- time.Now().Add(2 * time.Second)
	stop()
	if out := buf.String(); !strings.Contains(out, "files 1/2") {
		t.Fatalf("bar not drawn: %q", out)
	}

	// Before the delay nothing is drawn.
	buf.Reset()
	ticks = make(chan time.Time)
	stop = runProgress(p, &buf, ticks, time.Hour)
	ticks <- time.Now()
	stop()
	if buf.Len() != 0 {
		t.Fatalf("bar drawn before the delay: %q", buf.String())
	}
}
