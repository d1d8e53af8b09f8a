package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/internal/livetest"
)

// A secret given as a flag's value is refused, naming where it goes
// instead; so are credentials in a NATS URL.
func TestSecretFlagsRefused(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--state-dir", dir, "--webhook", "http://127.0.0.1:1/x", "--webhook-authorization", "Bearer s3cret"}, "--webhook-authorization-file"},
		{[]string{"watch", "--state-dir", dir, "--webhook", "http://127.0.0.1:1/x", "--webhook-authorization", "Bearer s3cret", dir}, "$REVERTWATCH_WEBHOOK_AUTHORIZATION"},
		{[]string{"serve", "--state-dir", dir, "--findings-nats", "nats://user:s3cret@127.0.0.1:1"}, "$REVERTWATCH_NATS_CREDS"},
		{[]string{"serve", "--state-dir", dir, "--nats", "nats://s3cret@127.0.0.1:1"}, "credentials in the URL are refused"},
		{[]string{"serve", "--state-dir", dir, "--webhook", "http://127.0.0.1:1/x", "--webhook-authorization-file", filepath.Join(dir, "missing")}, "--webhook-authorization-file"},
	} {
		_, err := run(t, c.args...)
		if exitCode(err) != exitUsage || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v (exit %d), want a usage error naming %s", c.args, err, exitCode(err), c.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%v: the error repeats the secret: %v", c.args, err)
		}
	}
}

// freeAddr is a loopback address free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serve from the command line: TLS from --tls-cert/--tls-key, read again
// on SIGHUP; the webhook's Authorization from
// --webhook-authorization-file; a finding delivered end to end.
func TestServeTLSHangupAndWebhookSecret(t *testing.T) {
	dir := t.TempDir()
	ca := livetest.NewCA(t, "test CA")
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	put := func(serial int64) {
		c, k := ca.Issue(t, serial, false)
		for path, b := range map[string][]byte{certFile: c, keyFile: k} {
			if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(path+".tmp", path); err != nil {
				t.Fatal(err)
			}
		}
	}
	put(201)
	authFile := filepath.Join(dir, "webhook-auth")
	if err := os.WriteFile(authFile, []byte("Bearer hook-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var auths []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
	}))
	defer hook.Close()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		root := newRootCmd()
		root.SetArgs([]string{"serve", "--listen", addr, "--state-dir", filepath.Join(dir, "st"), "--token-file", tokenFile,
			"--tls-cert", certFile, "--tls-key", keyFile, "--webhook", hook.URL, "--webhook-authorization-file", authFile,
			"--lateness", "1h", "--idle-flush", "100ms"})
		done <- root.ExecuteContext(ctx)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	serialNow := func() int64 {
		resp, err := client.Get("https://" + addr + "/readyz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return 0
		}
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
	}
	livetest.WaitFor(t, 20*time.Second, "serve ready on TLS", func() bool { return serialNow() == 201 })

	acct := livetest.Account(1)
	inst := livetest.Instance(acct, "web")
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	body := livetest.Lines(livetest.Record(acct, "us-east-1", "StopInstances", inst, at), livetest.Record(acct, "us-east-1", "StartInstances", inst, at.Add(3*time.Minute)))
	req, _ := http.NewRequest(http.MethodPost, "https://"+addr+"/v1/ingest", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := client.Do(req)
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("ingest: %v %v", resp, err)
	}
	resp.Body.Close()
	livetest.WaitFor(t, 20*time.Second, "the finding at the webhook", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(auths) > 0
	})
	mu.Lock()
	if auths[0] != "Bearer hook-secret" {
		t.Errorf("webhook Authorization %q, want the file's", auths[0])
	}
	mu.Unlock()

	put(202)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	livetest.WaitFor(t, 20*time.Second, "the new certificate after SIGHUP", func() bool { return serialNow() == 202 })
}

// serve warns about a listener in clear unless it is on loopback only.
func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:8080": true, "[::1]:8080": true, "localhost:8080": true,
		":8080": false, "0.0.0.0:8080": false, "10.0.0.5:8080": false, "example.com:8080": false, "nonsense": false} {
		if got := loopback(addr); got != want {
			t.Errorf("loopback(%q) = %v, want %v", addr, got, want)
		}
	}
}
