package ingest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// FuzzConsoleCSV feeds the decoder console CSV downloads (the fixtures,
// and rows with open quotes, odd widths and odd times), plain and
// gzipped, and checks the invariants of fuzzDecode: no panic or hang,
// stats that agree with what was handed out, every event and diagnostic
// placed inside the input, each row's event at the start of its line.
//
//	go test -run='^$' -fuzz=FuzzConsoleCSV -fuzztime=30s ./ingest/
func FuzzConsoleCSV(f *testing.F) {
	for _, name := range []string{"cloudtrail-event-history.csv", "azure-activity-log.csv"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "formats", "console", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
		// the header and the first rows only, for short mutations
		lines := bytes.SplitAfterN(b, []byte("\n"), 4)
		f.Add(bytes.Join(lines[:3], nil), false)
	}
	for _, s := range []string{
		"Event name,Event time\nStopInstances,\"2026-03-02T10:02:40Z\nStartInstances,2026-03-02T10:03:40Z\n",
		"Operation name,Time stamp,Caller\n\"Create or Update Disk\"\"x\",Tue Mar 03 2026 15:05:00 GMT+0100 (CET),a\n,,\n\n",
		"\ufeffEvent name,Event time,Resources\nCreateVolume,1700000000000,\"[{\"\"ResourceType\"\":1}]\"\r\n",
		"Event name,Event time,CloudTrail event\nX,2026-03-02T10:02:40Z,\"{\"\"eventName\"\":\"\"x\"\"}\"\n",
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, gz bool) {
		if gz {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(data)
			zw.Close()
			data = z.Bytes()
		}
		fuzzDecode(t, data, Options{MaxRecordSize: 512})
	})
}
