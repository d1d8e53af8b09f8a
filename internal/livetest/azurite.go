package livetest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
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

// CreateAppend creates an empty append blob, as the Activity Log export
// does at the first record of an hour.
func (a *Azurite) CreateAppend(t testing.TB, container, name string) {
	t.Helper()
	c := a.Client.ServiceClient().NewContainerClient(container).NewAppendBlobClient(name)
	if _, err := c.Create(context.Background(), nil); err != nil {
		t.Fatalf("create append blob %s/%s: %v", container, name, err)
	}
}

// Append appends data to an append blob, as one block.
func (a *Azurite) Append(t testing.TB, container, name string, data []byte) {
	t.Helper()
	c := a.Client.ServiceClient().NewContainerClient(container).NewAppendBlobClient(name)
	if _, err := c.AppendBlock(context.Background(), streaming.NopCloser(bytes.NewReader(data)), nil); err != nil {
		t.Fatalf("append to %s/%s: %v", container, name, err)
	}
}

// Delete deletes a blob.
func (a *Azurite) Delete(t testing.TB, container, name string) {
	t.Helper()
	if _, err := a.Client.DeleteBlob(context.Background(), container, name, nil); err != nil {
		t.Fatalf("delete %s/%s: %v", container, name, err)
	}
}

// ExportBlob is the name of the Activity Log export's blob of a
// subscription and an hour (sources.md §5), in container
// insights-activity-logs.
func ExportBlob(subscription string, hour time.Time) string {
	return fmt.Sprintf("resourceId=/SUBSCRIPTIONS/%s/y=%04d/m=%02d/d=%02d/h=%02d/m=00/PT1H.json",
		strings.ToUpper(subscription), hour.Year(), hour.Month(), hour.Day(), hour.Hour())
}

// AzureReimage is one Activity Log record, as the export writes it (one
// line, no newline), of a successful reimage of a VM: a finding of its
// own.
func AzureReimage(subscription, vm string, at time.Time) []byte {
	sub := strings.ToUpper(subscription)
	return fmt.Appendf(nil, `{"time":"%s","resourceId":"/SUBSCRIPTIONS/%s/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/%s","operationName":"MICROSOFT.COMPUTE/VIRTUALMACHINES/REIMAGE/ACTION","category":"Administrative","resultType":"Success","resultSignature":"Succeeded.","callerIpAddress":"203.0.113.77","correlationId":"%s","identity":{"claims":{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"mallory@contoso.example","idtyp":"user"}},"level":"Information","location":"global","properties":{"eventCategory":"Administrative"}}`,
		at.UTC().Format("2006-01-02T15:04:05.0000000Z"), sub, strings.ToUpper(vm), uuid(sub, vm, at.Format(time.RFC3339Nano)))
}
