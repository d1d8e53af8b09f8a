package blob_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/internal/livetest"
	"github.com/revertwatch/revertwatch/live"
	"github.com/revertwatch/revertwatch/live/blob"
	"github.com/revertwatch/revertwatch/live/sink"
)

// BenchmarkBlobRead reads one hour's append blob of 20,000 records (one
// in a hundred a reimage, the rest an operation no rule uses) from
// Azurite: download, the ranged reads of DefaultChunk alone; watch, into
// a fresh state through decoding, detection and the checkpoint, as watch
// azblob:// does at its first poll.
func BenchmarkBlobRead(b *testing.B) {
	az := livetest.NewAzurite(b)
	az.Container(b, exports)
	hour := time.Date(2026, 11, 2, 14, 0, 0, 0, time.UTC)
	name := livetest.ExportBlob(sub, hour)
	az.CreateAppend(b, exports, name)
	var all, block []byte
	const n = 20000
	for i := range n {
		r := livetest.AzureReimage(sub, fmt.Sprint("vm-", i), hour.Add(time.Duration(i)*100*time.Millisecond))
		if i%100 != 0 {
			r = bytes.Replace(r, []byte("VIRTUALMACHINES/REIMAGE/ACTION"), []byte("VIRTUALMACHINES/READ"), 1)
		}
		block = append(append(block, r...), '\n')
		if len(block) > 3<<20 || i == n-1 {
			az.Append(b, exports, name, block)
			all = append(all, block...)
			block = nil
		}
	}
	b.Setenv("AZURE_STORAGE_CONNECTION_STRING", az.ConnectionString)
	// download: the ranged reads alone, what the emulator costs.
	b.Run("download", func(b *testing.B) {
		w := newBenchWatcher(b, az)
		b.SetBytes(int64(len(all)))
		for range b.N {
			for off := int64(0); off < int64(len(all)); off += blob.DefaultChunk {
				r, err := w.b.OpenRange(context.Background(), w.u, name, off, blob.DefaultChunk)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, r.Body); err != nil {
					b.Fatal(err)
				}
				r.Body.Close()
			}
		}
	})
	b.Run("watch", func(b *testing.B) { benchWatch(b, az, all, n) })
}

func benchWatch(b *testing.B, az *livetest.Azurite, all []byte, n int) {
	b.SetBytes(int64(len(all)))
	for range b.N {
		w := newBenchWatcher(b, az)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		started := make(chan *blob.Input, 1)
		go func() {
			done <- blob.Run(ctx, blob.RunOptions{
				Input:    blob.Options{URL: w.u, Blob: w.b, Polls: make(chan struct{})},
				StateDir: b.TempDir(), Sinks: sink.NewFanout(w.mem),
				Processor: live.Options{Lateness: time.Hour},
				OnStart:   func(in *blob.Input) { started <- in },
			})
		}()
		in := <-started
		livetest.WaitFor(b, time.Minute, "the blob read", func() bool { return in.Stats().Bytes == int64(len(all)) })
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}
