package source_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/api/option"
	storage "google.golang.org/api/storage/v1"

	"github.com/revertwatch/revertwatch/source"
)

func TestParseGCSURL(t *testing.T) {
	for in, want := range map[string][2]string{
		"gs://sink":  {"sink", ""},
		"gs://sink/": {"sink", ""},
		"gs://sink/org/cloudaudit.googleapis.com/activity/": {"sink", "org/cloudaudit.googleapis.com/activity/"},
	} {
		b, p, err := source.ParseGCSURL(in)
		if err != nil || b != want[0] || p != want[1] {
			t.Errorf("ParseGCSURL(%q) = %q, %q, %v; want %q", in, b, p, err, want)
		}
		if !source.IsRemote(in) {
			t.Errorf("%q is not remote", in)
		}
	}
	for _, bad := range []string{"gs://", "gs:///p", "s3://b/p", "sink/p"} {
		if _, _, err := source.ParseGCSURL(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// FuzzParseGCSURL: any argument parses or errs without panicking; a
// parsed URL names a bucket without a slash.
func FuzzParseGCSURL(f *testing.F) {
	f.Add("gs://b/cloudaudit.googleapis.com/activity/2026/11/02/08:00:00_08:59:59_S0.json")
	f.Add("gs://b")
	f.Fuzz(func(t *testing.T, s string) {
		b, _, err := source.ParseGCSURL(s)
		if err == nil && (b == "" || strings.Contains(b, "/")) {
			t.Errorf("%q: bucket %q", s, b)
		}
		source.ParseLayout(s)
	})
}

// The Cloud Storage sink's layout: folders and hourly files are refused
// by the hours of entries they hold, at the window's exact edges.
func TestGCSLayoutClassify(t *testing.T) {
	f := &source.Filter{Since: time.Date(2026, 11, 2, 8, 30, 0, 0, time.UTC), Until: time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)}
	const base = "p/cloudaudit.googleapis.com/activity/"
	for p, want := range map[string]source.Reason{
		base + "2025/":       source.ByTime,
		base + "2026/":       source.Kept,
		base + "2026/10/":    source.ByTime,
		base + "2026/11/":    source.Kept,
		base + "2026/11/01/": source.ByTime,
		base + "2026/11/02/": source.Kept,
		base + "2026/11/02/07:00:00_07:59:59_S0.json": source.ByTime,
		base + "2026/11/02/08:00:00_08:59:59_S0.json": source.Kept,
		base + "2026/11/02/08:00:00_08:59:59_A1.json": source.Kept,
		base + "2026/11/03/09:00:00_09:59:59_S3.json": source.Kept,
		base + "2026/11/03/10:00:00_10:59:59_S0.json": source.ByTime,
		base + "2026/11/04/":                          source.ByTime,
		base + "2026/11/03/notes.txt":                 source.Kept,
		"p/cloudaudit.googleapis.com/":                source.Kept,
		"other/2026/11/01/07:00:00_07:59:59_S0.json":  source.Kept,
	} {
		if got := f.Classify(p); got != want {
			t.Errorf("Classify(%q) = %v, want %v", p, got, want)
		}
	}
	l := source.ParseLayout(base + "2026/11/02/08:00:00_08:59:59_S0.json")
	if l.Kind != "gcp" || l.Folder != "activity" || !l.Hour.Equal(time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("layout %+v", l)
	}
}

// List walks the layout with a window: only the folders of the window's
// days are listed, and the objects it returns are those Classify keeps
// of a flat listing.
func TestGCSListPrunes(t *testing.T) {
	srv := fakestorage.NewServer(nil)
	defer srv.Stop()
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "sink"})
	var all []string
	for d := 1; d <= 5; d++ {
		for h := 0; h < 24; h += 6 {
			name := fmt.Sprintf("p/cloudaudit.googleapis.com/activity/2026/11/%02d/%02d:00:00_%02d:59:59_S0.json", d, h, h)
			srv.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "sink", Name: name}, Content: []byte("{}\n")})
			all = append(all, name)
		}
	}
	svc, err := storage.NewService(context.Background(), option.WithEndpoint(srv.URL()+"/storage/v1/"), option.WithHTTPClient(srv.HTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	g := source.NewGCSClient(svc, 4)
	f := &source.Filter{Since: time.Date(2026, 11, 2, 7, 0, 0, 0, time.UTC), Until: time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)}
	objs, err := g.List(context.Background(), "sink", "", f)
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, o := range objs {
		got = append(got, o.Key)
	}
	for _, n := range all {
		if f.Classify(n) == source.Kept {
			want = append(want, n)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") || len(want) != 4 {
		t.Errorf("listed %v\nwant %v", got, want)
	}
	if p := g.Pruned(); p.Total() == 0 {
		t.Error("nothing counted as pruned")
	}
	flat, err := source.NewGCSClient(svc, 4).List(context.Background(), "sink", "", nil)
	if err != nil || len(flat) != len(all) {
		t.Errorf("unfiltered listing: %d objects, %v", len(flat), err)
	}
	if _, err := g.Open(context.Background(), "sink", "p/none.json"); err == nil || !strings.Contains(err.Error(), "gs://sink/p/none.json: no such object") {
		t.Errorf("missing object: %v", err)
	}
}

// STORAGE_EMULATOR_HOST as the client libraries read it: host:port is
// plain HTTP; a URL keeps its scheme.
func TestEmulatorEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"localhost:4443":         "http://localhost:4443/storage/v1/",
		"http://127.0.0.1:9000/": "http://127.0.0.1:9000/storage/v1/",
		"https://gcs.test":       "https://gcs.test/storage/v1/",
	} {
		if got := source.EmulatorEndpoint(in); got != want {
			t.Errorf("EmulatorEndpoint(%q) = %q, want %q", in, got, want)
		}
	}
}
