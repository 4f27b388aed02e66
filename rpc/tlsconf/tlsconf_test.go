package tlsconf_test

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/copytrade/copytrade/rpc/tlsconf"
	"github.com/copytrade/copytrade/rpc/tlsconf/tlstest"
)

// handshake runs a TLS handshake between server and client configs over loopback TCP
// and returns the server's and the client's errors.
func handshake(server, client *tls.Config) (error, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err, err
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		s := tls.Server(c, server)
		err = s.Handshake()
		if err == nil {
			_, err = s.Write([]byte{1}) // TLS 1.3: the client learns of a refusal on read
		}
		done <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	tc := tls.Client(c, client)
	cerr := tc.Handshake()
	if cerr == nil {
		_, cerr = tc.Read(make([]byte, 1))
	}
	return <-done, cerr
}

// trusting is s's client config that accepts any server (an attacker's).
func trusting(s *tlsconf.Store) *tls.Config {
	c := s.ClientConfig(nil)
	c.VerifyConnection = nil
	return c
}

// TestMutualTLSAndReload: both ends check the chain and the identity; the files are
// reloaded in place (a new CA takes effect without a restart), a key others can read
// is refused, and a failed reload keeps the material in force.
func TestMutualTLSAndReload(t *testing.T) {
	ca := tlstest.MustCA("ca1")
	dir := t.TempDir()
	files, err := ca.WriteFiles(dir, "node", tlsconf.NodeIdentity(1, "n1"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := tlsconf.Load(files)
	if err != nil {
		t.Fatal(err)
	}
	if s.Identity() != tlsconf.NodeIdentity(1, "n1") {
		t.Fatalf("identity %v", s.Identity())
	}
	onlyGroup1 := func(id tlsconf.Identity) error {
		if id.Group != 1 {
			return errors.New("not group 1")
		}
		return nil
	}
	peer := ca.Store(tlsconf.NodeIdentity(1, "n2"))
	if se, ce := handshake(s.ServerConfig(onlyGroup1), peer.ClientConfig(onlyGroup1)); se != nil || ce != nil {
		t.Fatalf("members: %v / %v", se, ce)
	}
	if se, _ := handshake(s.ServerConfig(onlyGroup1), ca.Store(tlsconf.NodeIdentity(2, "n2")).ClientConfig(nil)); !errors.Is(se, tlsconf.ErrIdentity) {
		t.Errorf("group 2 client: %v, want ErrIdentity", se)
	}
	if _, ce := handshake(ca.Store(tlsconf.NodeIdentity(2, "n9")).ServerConfig(nil), s.ClientConfig(onlyGroup1)); !errors.Is(ce, tlsconf.ErrIdentity) {
		t.Errorf("group 2 server: %v, want ErrIdentity", ce)
	}
	if se, ce := handshake(s.ServerConfig(nil), &tls.Config{InsecureSkipVerify: true}); se == nil || ce == nil {
		t.Errorf("no client certificate: %v / %v, want refused", se, ce)
	}
	other := tlstest.MustCA("ca2")
	if se, _ := handshake(s.ServerConfig(nil), trusting(other.Store(tlsconf.NodeIdentity(1, "n2")))); !errors.Is(se, tlsconf.ErrUntrusted) {
		t.Errorf("other CA: %v, want ErrUntrusted", se)
	}

	// Rotate to ca2 in place: the same Store now trusts ca2 and presents a ca2 cert.
	if _, err := other.WriteFiles(dir, "node", tlsconf.NodeIdentity(1, "n1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if se, _ := handshake(s.ServerConfig(nil), trusting(peer)); !errors.Is(se, tlsconf.ErrUntrusted) {
		t.Errorf("after the rotation a ca1 client: %v, want ErrUntrusted", se)
	}
	if se, ce := handshake(s.ServerConfig(nil), other.Store(tlsconf.NodeIdentity(1, "n2")).ClientConfig(nil)); se != nil || ce != nil {
		t.Errorf("after the rotation a ca2 client: %v / %v", se, ce)
	}
	// A key others may read: refused, and the material in force stays.
	if err := os.Chmod(files.Key, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(); !errors.Is(err, tlsconf.ErrFiles) {
		t.Errorf("key with mode 0644: %v, want ErrFiles", err)
	}
	if _, err := tlsconf.Load(files); !errors.Is(err, tlsconf.ErrFiles) {
		t.Errorf("Load with a key of mode 0644: %v", err)
	}
	if se, ce := handshake(s.ServerConfig(nil), other.Store(tlsconf.NodeIdentity(1, "n2")).ClientConfig(nil)); se != nil || ce != nil {
		t.Errorf("after a refused reload: %v / %v", se, ce)
	}
}
