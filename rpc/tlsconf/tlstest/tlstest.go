// Package tlstest makes a throwaway certificate authority and certificates in memory
// (crypto/x509, ECDSA P-256) for tests and local tools: nothing is committed or read
// from disk. WriteFiles puts a set on disk for processes that take --tls-* files.
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/copytrade/copytrade/rpc/tlsconf"
)

// CA is a certificate authority.
type CA struct {
	Cert *x509.Certificate
	key  *ecdsa.PrivateKey
	der  []byte
}

// NewCA makes a self-signed CA valid for a day.
func NewCA(name string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, key: key, der: der}, nil
}

// MustCA is NewCA that panics (test setup).
func MustCA(name string) *CA {
	ca, err := NewCA(name)
	if err != nil {
		panic(err)
	}
	return ca
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		panic(err)
	}
	return n
}

// Pool is a pool holding only this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Issue makes a certificate naming id, for client and server use, valid for a day.
func (ca *CA) Issue(id tlsconf.Identity) (tls.Certificate, error) {
	return ca.sign(id.String(), func(c *x509.Certificate) { c.URIs = []*url.URL{id.URI()} })
}

// IssueHost makes a plain X.509 server and client certificate for host names and IP
// addresses (no copytrade identity), as a third party such as a Kafka broker holds.
func (ca *CA) IssueHost(hosts ...string) (tls.Certificate, error) {
	return ca.sign(hosts[0], func(c *x509.Certificate) {
		for _, h := range hosts {
			if ip := net.ParseIP(h); ip != nil {
				c.IPAddresses = append(c.IPAddresses, ip)
			} else {
				c.DNSNames = append(c.DNSNames, h)
			}
		}
	})
}

// sign makes a day-long client and server certificate named name, its names set by
// names, signed by ca, with a fresh P-256 key.
func (ca *CA) sign(name string, names func(*x509.Certificate)) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	names(tmpl)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// WritePEM writes ca's certificate to caPath and, when certPath is not empty, cert
// and its key to certPath and keyPath (0600).
func (ca *CA) WritePEM(caPath, certPath, keyPath string, cert tls.Certificate) error {
	if err := os.WriteFile(caPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.der}), 0o600); err != nil {
		return err
	}
	if certPath == "" {
		return nil
	}
	keyDER, err := x509.MarshalECPrivateKey(cert.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		return err
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
}

// Store is a tlsconf.Store holding a fresh certificate for id and this CA; it panics
// on error (test setup).
func (ca *CA) Store(id tlsconf.Identity) *tlsconf.Store {
	cert, err := ca.Issue(id)
	if err != nil {
		panic(err)
	}
	s, err := tlsconf.New(cert, ca.Pool())
	if err != nil {
		panic(err)
	}
	return s
}

// WriteFiles writes ca.pem, <name>.pem and <name>.key (0600) into dir for id and
// returns their names.
func (ca *CA) WriteFiles(dir, name string, id tlsconf.Identity) (tlsconf.Files, error) {
	cert, err := ca.Issue(id)
	if err != nil {
		return tlsconf.Files{}, err
	}
	keyDER, err := x509.MarshalECPrivateKey(cert.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		return tlsconf.Files{}, err
	}
	f := tlsconf.Files{CA: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, name+".pem"), Key: filepath.Join(dir, name+".key")}
	for _, w := range []struct {
		path, typ string
		der       []byte
		mode      os.FileMode
	}{
		{f.CA, "CERTIFICATE", ca.der, 0o644},
		{f.Cert, "CERTIFICATE", cert.Certificate[0], 0o644},
		{f.Key, "EC PRIVATE KEY", keyDER, 0o600},
	} {
		data := pem.EncodeToMemory(&pem.Block{Type: w.typ, Bytes: w.der})
		if err := os.WriteFile(w.path, data, w.mode); err != nil {
			return tlsconf.Files{}, fmt.Errorf("tlstest: %w", err)
		}
	}
	return f, nil
}
