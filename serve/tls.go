package serve

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
)

// tlsFiles is the listener's TLS material, read from its files at start
// and again by ReloadTLS; each handshake uses what was read last.
type tlsFiles struct {
	cert, key, clientCA string
	current             atomic.Pointer[tls.Config]
}

// load reads the files; on error the material in use stays.
func (t *tlsFiles) load() error {
	if t.cert == "" || t.key == "" {
		return errors.New("TLS needs both a certificate (--tls-cert) and a key (--tls-key)")
	}
	pair, err := tls.LoadX509KeyPair(t.cert, t.key)
	if err != nil {
		return fmt.Errorf("TLS certificate %s, key %s: %w", t.cert, t.key, err)
	}
	c := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{pair},
		// HTTP/1.1 only: the listener is served by net/http's Serve, not
		// ServeTLS, which alone sets HTTP/2 up.
		NextProtos: []string{"http/1.1"},
	}
	if t.clientCA != "" {
		pem, err := os.ReadFile(t.clientCA)
		if err != nil {
			return fmt.Errorf("TLS client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("TLS client CA %s: no PEM certificate in it", t.clientCA)
		}
		c.ClientCAs = pool
		c.ClientAuth = tls.RequireAndVerifyClientCert
	}
	t.current.Store(c)
	return nil
}

// config is the listener's configuration: it hands each handshake the
// material loaded last.
func (t *tlsFiles) config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return t.current.Load(), nil
		},
	}
}

// ReloadTLS reads the certificate, key and client CA files again (on
// SIGHUP, after a renewal); new connections use them, open ones keep what
// they shook hands with. On error the material in use stays and the error
// says which file is wrong. Without TLS it does nothing.
func (s *Server) ReloadTLS() error {
	if s.tls == nil {
		return nil
	}
	if err := s.tls.load(); err != nil {
		return err
	}
	s.log.Info("TLS material reloaded", "cert", s.tls.cert)
	return nil
}

// TLS reports whether the listener speaks TLS.
func (s *Server) TLS() bool { return s.tls != nil }
