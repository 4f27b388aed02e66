package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/copytrade/copytrade/rpc/tlsconf/tlstest"
)

// TestKafkaTLSReload: ingest's TLS to the brokers takes a new CA and client certificate
// on reload (SIGHUP) without a new tls.Config — the one the Kafka client holds dials
// with the material in force — and a reload that fails keeps the old material.
func TestKafkaTLSReload(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile, keyFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	caA, caB := tlstest.MustCA("brokers A"), tlstest.MustCA("brokers B")
	issue := func(ca *tlstest.CA) tls.Certificate {
		c, err := ca.IssueHost("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// The broker: serves a certificate of the CA in force and requires a client
	// certificate of either CA; it remembers which CA the last client's came from.
	var serverCert atomic.Pointer[tls.Certificate]
	a := issue(caA)
	serverCert.Store(&a)
	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(caA.Cert)
	clientCAs.AddCert(caB.Cert)
	issuers := make(chan string, 1) // per accepted connection: the client certificate's issuer, "" on a failed handshake
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return serverCert.Load(), nil },
		ClientAuth:     tls.RequireAndVerifyClientCert, ClientCAs: clientCAs,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc := c.(*tls.Conn)
				issuer := ""
				if tc.Handshake() == nil {
					issuer = tc.ConnectionState().PeerCertificates[0].Issuer.CommonName
				}
				issuers <- issuer
			}()
		}
	}()

	if err := caA.WritePEM(caFile, certFile, keyFile, issue(caA)); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	load := kafkaTLSFlags(fs)
	if err := fs.Parse([]string{"--kafka-tls-ca", caFile, "--kafka-tls-cert", certFile, "--kafka-tls-key", keyFile}); err != nil {
		t.Fatal(err)
	}
	k, err := load()
	if err != nil || k == nil {
		t.Fatalf("load: %v %v", k, err)
	}
	cfg := k.Config() // what the Kafka client keeps for every dial
	// dial connects once and returns the issuer of the client certificate the broker
	// verified ("" when its side failed) and the client's error.
	dial := func() (string, error) {
		c, err := tls.DialWithDialer(&net.Dialer{}, "tcp", ln.Addr().String(), cfg)
		if err == nil {
			_, _ = c.Read(make([]byte, 1)) // until the broker closes: its side of the handshake is done
			c.Close()
		}
		return <-issuers, err
	}
	if issuer, err := dial(); err != nil || issuer != "brokers A" {
		t.Fatalf("CA A: %v, client certificate issued by %q, want brokers A", err, issuer)
	}

	// The brokers move to CA B: the old material refuses them until the reload.
	b := issue(caB)
	serverCert.Store(&b)
	if _, err := dial(); err == nil {
		t.Fatal("a broker certificate of CA B was accepted with CA A in force")
	}
	if err := caB.WritePEM(caFile, certFile, keyFile, issue(caB)); err != nil {
		t.Fatal(err)
	}
	reloadKafkaTLS(k, slog.New(slog.DiscardHandler))
	if issuer, err := dial(); err != nil || issuer != "brokers B" {
		t.Fatalf("after reload: %v, client certificate issued by %q, want brokers B", err, issuer)
	}

	// A reload that fails (the CA file is not PEM) keeps CA B and its certificate.
	if err := os.WriteFile(caFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := k.Reload(); err == nil {
		t.Fatal("a CA file without a certificate was accepted")
	}
	if issuer, err := dial(); err != nil || issuer != "brokers B" {
		t.Fatalf("after a failed reload: %v, client certificate issued by %q", err, issuer)
	}
}
