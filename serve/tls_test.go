package serve

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/internal/livetest"
)

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	// Written beside, then renamed, as a certificate manager does.
	if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// serial is the serial number of the certificate the server shows to a
// new connection.
func serial(t *testing.T, c *http.Client, url string) int64 {
	t.Helper()
	resp, err := c.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body) // so that the connection is kept
	resp.Body.Close()
	if resp.Proto != "HTTP/1.1" {
		t.Fatalf("protocol %s, want HTTP/1.1", resp.Proto)
	}
	return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
}

func tlsClient(roots *x509.CertPool, certs ...tls.Certificate) *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs}}}
}

// --tls-cert/--tls-key serve TLS only; ReloadTLS (what SIGHUP calls)
// makes new connections use the files as they are now, and a broken file
// leaves the certificate in use.
func TestTLSReload(t *testing.T) {
	dir := t.TempDir()
	ca := livetest.NewCA(t, "test CA")
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	c1, k1 := ca.Issue(t, 101, false)
	writeFile(t, certFile, c1)
	writeFile(t, keyFile, k1)
	roots := ca.Pool()
	client := tlsClient(roots)
	r := start(t, Config{StateDir: t.TempDir(), TLSCert: certFile, TLSKey: keyFile, Token: "tok", Sinks: sinks(&livetest.MemSink{})})
	if got := serial(t, client, r.url); got != 101 {
		t.Fatalf("serial %d, want 101", got)
	}
	plain := "http" + strings.TrimPrefix(r.url, "https")
	if resp, err := http.Get(plain + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP answered 200 on a TLS listener")
		}
	}
	req, _ := http.NewRequest(http.MethodPost, r.url+"/v1/ingest", strings.NewReader(string(livetest.Lines(livetest.Record(livetest.Account(1), "us-east-1", "StopInstances", "i-1", t0)))))
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := client.Do(req)
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("ingest over TLS: %v %v", resp, err)
	}
	resp.Body.Close()

	// A connection kept alive across the reload keeps its certificate.
	kept := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	defer kept.CloseIdleConnections()
	if got := serial(t, kept, r.url); got != 101 {
		t.Fatalf("serial %d, want 101", got)
	}
	c2, k2 := ca.Issue(t, 102, false)
	writeFile(t, certFile, c2)
	writeFile(t, keyFile, k2)
	if got := serial(t, client, r.url); got != 101 {
		t.Fatalf("serial %d before the reload, want 101 still", got)
	}
	if err := r.s.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	if got := serial(t, client, r.url); got != 102 {
		t.Fatalf("serial %d after the reload, want 102", got)
	}
	if got := serial(t, kept, r.url); got != 101 {
		t.Fatalf("serial %d on a connection open before the reload, want 101", got)
	}
	writeFile(t, keyFile, []byte("not a key"))
	if err := r.s.ReloadTLS(); err == nil || !strings.Contains(err.Error(), keyFile) {
		t.Fatalf("a broken key: %v, want an error naming %s", err, keyFile)
	}
	if got := serial(t, client, r.url); got != 102 {
		t.Fatalf("serial %d after a failed reload, want 102 still", got)
	}
}

// --tls-client-ca requires a client certificate its CA signed; the CA
// bundle is reloaded with the rest.
func TestTLSClientCertificates(t *testing.T) {
	dir := t.TempDir()
	serverCA, clientCA, otherCA := livetest.NewCA(t, "server CA"), livetest.NewCA(t, "client CA"), livetest.NewCA(t, "other CA")
	certFile, keyFile, caFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "clients.pem")
	c, k := serverCA.Issue(t, 1, false)
	writeFile(t, certFile, c)
	writeFile(t, keyFile, k)
	writeFile(t, caFile, clientCA.PEM)
	roots := serverCA.Pool()
	pair := func(ca *livetest.CA) tls.Certificate {
		c, k := ca.Issue(t, 7, true)
		p, err := tls.X509KeyPair(c, k)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, other := tlsClient(roots, pair(clientCA)), tlsClient(roots, pair(otherCA))
	r := start(t, Config{StateDir: t.TempDir(), TLSCert: certFile, TLSKey: keyFile, TLSClientCA: caFile, Sinks: sinks(&livetest.MemSink{})})
	get := func(c *http.Client) error {
		resp, err := c.Get(r.url + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(good); err != nil {
		t.Fatalf("a client the CA signed: %v", err)
	}
	if err := get(tlsClient(roots)); err == nil {
		t.Fatal("a client without a certificate was let in")
	}
	if err := get(other); err == nil {
		t.Fatal("a client another CA signed was let in")
	}
	writeFile(t, caFile, otherCA.PEM)
	if err := r.s.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	if err := get(other); err != nil {
		t.Fatalf("after the CA bundle changed: %v", err)
	}
	if err := get(good); err == nil {
		t.Fatal("a client the old CA signed is still let in after the reload")
	}
}

// Half a TLS configuration is refused at start, naming what is missing.
func TestTLSNeedsCertAndKey(t *testing.T) {
	_, err := New(Config{StateDir: t.TempDir(), TLSCert: "cert.pem", Listen: "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "--tls-key") {
		t.Fatalf("a certificate without a key: %v", err)
	}
}
