package livetest

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"
)

// GCS is fake-gcs-server's in-process Cloud Storage, over HTTP on a
// loopback port, reached by the client library through
// STORAGE_EMULATOR_HOST (which NewGCS sets for the test).
type GCS struct {
	Server *fakestorage.Server
	URL    string // http://127.0.0.1:PORT
}

// NewGCS starts the server and points STORAGE_EMULATOR_HOST at it for the
// rest of the test.
func NewGCS(t *testing.T) *GCS {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", NoListener: false})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	g := &GCS{Server: srv, URL: srv.URL()}
	t.Setenv("STORAGE_EMULATOR_HOST", g.URL)
	return g
}

// Upload creates bucket (if new) and writes every file under dir into it
// as prefix + its slash-separated path under dir, returning the count.
func (g *GCS) Upload(t *testing.T, bucket, prefix, dir string) int {
	t.Helper()
	g.Server.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: bucket})
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		g.Server.CreateObject(fakestorage.Object{
			ObjectAttrs: fakestorage.ObjectAttrs{BucketName: bucket, Name: prefix + filepath.ToSlash(rel)},
			Content:     data,
		})
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
