package livetest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// Azurite's well-known development account and key (its README).
const (
	AzuriteAccount = "devstoreaccount1"
	azuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Azurite is Microsoft's Azure Storage emulator (npm package azurite),
// its Blob service started by the test on a loopback port.
type Azurite struct {
	ConnectionString string
	Client           *azblob.Client
}

// NewAzurite starts azurite-blob in memory, or skips the test when it is
// not installed (.ci/run installs it: npm install -g azurite@3.37.0).
func NewAzurite(t testing.TB) *Azurite {
	t.Helper()
	bin, err := exec.LookPath("azurite-blob")
	if err != nil {
		t.Skip("azurite-blob is not installed (npm install -g azurite@3.37.0; .ci/run installs it): the Blob Storage tests need it")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	// --skipApiVersionCheck: the SDK sends a newer x-ms-version than
	// Azurite knows (sources.md §5).
	cmd := exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port), "--inMemoryPersistence",
		"--skipApiVersionCheck", "--silent")
	cmd.Stdout, cmd.Stderr, cmd.Dir = os.Stderr, os.Stderr, dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	a := &Azurite{ConnectionString: fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=http://127.0.0.1:%d/%s;",
		AzuriteAccount, azuriteKey, port, AzuriteAccount)}
	WaitFor(t, 30*time.Second, "azurite to listen", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	a.Client, err = azblob.NewClientFromConnectionString(a.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Container creates a container.
func (a *Azurite) Container(t testing.TB, name string) {
	t.Helper()
	if _, err := a.Client.CreateContainer(context.Background(), name, nil); err != nil {
		t.Fatalf("create container %s: %v", name, err)
	}
}

// Put writes one block blob.
func (a *Azurite) Put(t testing.TB, container, name string, body []byte) {
	t.Helper()
	if _, err := a.Client.UploadBuffer(context.Background(), container, name, body, nil); err != nil {
		t.Fatalf("put %s/%s: %v", container, name, err)
	}
}

// Upload copies the files under dir into the container, under prefix.
func (a *Azurite) Upload(t testing.TB, container, prefix, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		a.Put(t, container, prefix+filepath.ToSlash(rel), b)
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
