package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/revertwatch/revertwatch/ingest"
)

// progressDelay is how long a run must take before a bar appears: short
// runs finish without flicker.
const progressDelay = time.Second

// startProgress shows a progress bar on stderr for p — files and bytes
// done, events/s, time left — once the run has taken progressDelay, and
// only when stderr is a terminal and quiet is false. stop removes it.
func startProgress(p *ingest.Progress, quiet bool) (stop func()) {
	fd := int(os.Stderr.Fd())
	if quiet || !term.IsTerminal(fd) {
		return func() {}
	}
	return runProgress(p, os.Stderr, time.NewTicker(200*time.Millisecond).C, progressDelay)
}

// runProgress drives the bar from ticks; it is separate from startProgress
// so that a test can drive it without a terminal or a clock.
func runProgress(p *ingest.Progress, w io.Writer, ticks <-chan time.Time, delay time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		start := time.Now()
		var bar *progressbar.ProgressBar
		for {
			select {
			case <-done:
				if bar != nil {
					bar.Clear()
				}
				return
			case now := <-ticks:
				elapsed := now.Sub(start)
				if bar == nil {
					if elapsed < delay {
						continue
					}
					bar = progressbar.NewOptions64(max(p.BytesTotal, 1),
						progressbar.OptionSetWriter(w),
						progressbar.OptionShowBytes(true),
						progressbar.OptionSetPredictTime(true),
						progressbar.OptionThrottle(100*time.Millisecond),
						progressbar.OptionClearOnFinish(),
						progressbar.OptionSetWidth(30),
					)
				}
				rate := 0.0
				if s := elapsed.Seconds(); s > 0 {
					rate = float64(p.Events.Load()) / s
				}
				bar.Describe(fmt.Sprintf("files %d/%d, %.0f events/s", p.FilesDone.Load(), p.FilesTotal, rate))
				bar.Set64(min(p.BytesRead.Load(), max(p.BytesTotal, 1)))
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
