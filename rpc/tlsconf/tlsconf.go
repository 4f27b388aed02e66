// Package tlsconf is copytrade's mutual TLS: one CA per deployment, certificates that
// name who holds them, and tls.Configs that check both ends against the CA and against
// what the caller expects the peer to be. Certificates and the CA are reloaded without
// a restart (Store.Reload, on SIGHUP): every handshake reads the current ones.
//
// A certificate names its holder in a URI subject alternative name:
//
//	copytrade://node/<group>/<node id>   a shard node of group <group> (raft and RPC)
//	copytrade://role/<role>/<name>       a service caller or server: router, admin,
//	                                     trading-system, gateway (the venue), ...
//
// Host names are not checked: peers are identified by these names, so a node's
// certificate keeps working when its address changes, and a certificate of another
// group's node is refused by its group however it is reached.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrNoPeerCert: the peer presented no certificate.
	ErrNoPeerCert = errors.New("tlsconf: peer presented no certificate")
	// ErrUntrusted: the peer's certificate does not chain to the deployment's CA (or is
	// expired, or not for this use).
	ErrUntrusted = errors.New("tlsconf: peer certificate not trusted")
	// ErrIdentity: the certificate names no copytrade identity, or not the one expected.
	ErrIdentity = errors.New("tlsconf: peer identity refused")
	// ErrFiles: the CA, certificate or key files do not load.
	ErrFiles = errors.New("tlsconf: cannot load TLS files")
)

const scheme = "copytrade"

// Identity is what a certificate names.
type Identity struct {
	// Group and Node name a shard node (Group > 0); zero for a role identity.
	Group uint32
	Node  string
	// Role and Name name a service identity ("router", "r1"); empty for a node.
	Role string
	Name string
}

// IsNode reports whether id names a shard node.
func (id Identity) IsNode() bool { return id.Group > 0 }

func (id Identity) String() string {
	if id.IsNode() {
		return "node " + id.Node + " of group " + strconv.FormatUint(uint64(id.Group), 10)
	}
	return id.Role + " " + id.Name
}

// URI is the URI SAN that names id.
func (id Identity) URI() *url.URL {
	if id.IsNode() {
		return &url.URL{Scheme: scheme, Host: "node", Path: "/" + strconv.FormatUint(uint64(id.Group), 10) + "/" + id.Node}
	}
	return &url.URL{Scheme: scheme, Host: "role", Path: "/" + id.Role + "/" + id.Name}
}

// NodeIdentity names node id of group g.
func NodeIdentity(g uint32, id string) Identity { return Identity{Group: g, Node: id} }

// RoleIdentity names a service caller.
func RoleIdentity(role, name string) Identity { return Identity{Role: role, Name: name} }

// IdentityOf reads the one copytrade identity a certificate names.
func IdentityOf(cert *x509.Certificate) (Identity, error) {
	var found []Identity
	for _, u := range cert.URIs {
		if u.Scheme != scheme {
			continue
		}
		parts := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
		if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
			return Identity{}, fmt.Errorf("%w: malformed %s", ErrIdentity, u)
		}
		switch u.Host {
		case "node":
			g, err := strconv.ParseUint(parts[0], 10, 32)
			if err != nil || g == 0 {
				return Identity{}, fmt.Errorf("%w: bad group in %s", ErrIdentity, u)
			}
			found = append(found, NodeIdentity(uint32(g), parts[1]))
		case "role":
			found = append(found, RoleIdentity(parts[0], parts[1]))
		default:
			return Identity{}, fmt.Errorf("%w: unknown kind in %s", ErrIdentity, u)
		}
	}
	if len(found) != 1 {
		return Identity{}, fmt.Errorf("%w: the certificate names %d copytrade identities, want 1", ErrIdentity, len(found))
	}
	return found[0], nil
}

// Files names PEM files: the deployment's CA bundle, this process's certificate chain
// and its private key.
type Files struct {
	CA, Cert, Key string
}

// Set reports whether any file is named.
func (f Files) Set() bool { return f.CA != "" || f.Cert != "" || f.Key != "" }

type material struct {
	cert *tls.Certificate
	id   Identity
	pool *x509.CertPool
}

// Store holds this process's certificate and the CA pool in force.
type Store struct {
	files Files
	cur   atomic.Pointer[material]
}

// Load reads files; all three are required.
func Load(files Files) (*Store, error) {
	s := &Store{files: files}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// New is a Store of an in-memory certificate and CA pool (tests, tools); Reload keeps
// them.
func New(cert tls.Certificate, pool *x509.CertPool) (*Store, error) {
	m, err := newMaterial(cert, pool)
	if err != nil {
		return nil, err
	}
	s := &Store{}
	s.cur.Store(m)
	return s, nil
}

func newMaterial(cert tls.Certificate, pool *x509.CertPool) (*material, error) {
	if len(cert.Certificate) == 0 {
		return nil, fmt.Errorf("%w: no certificate", ErrFiles)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFiles, err)
	}
	cert.Leaf = leaf
	id, err := IdentityOf(leaf)
	if err != nil {
		return nil, fmt.Errorf("%w: own certificate: %w", ErrFiles, err)
	}
	return &material{cert: &cert, id: id, pool: pool}, nil
}

// Reload reads the files again. On any error the material in force stays.
func (s *Store) Reload() error {
	if !s.files.Set() {
		return nil
	}
	f := s.files
	if f.CA == "" || f.Cert == "" || f.Key == "" {
		return fmt.Errorf("%w: the CA, certificate and key files are all required", ErrFiles)
	}
	caPEM, err := os.ReadFile(f.CA)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrFiles, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("%w: %s holds no PEM certificate", ErrFiles, f.CA)
	}
	if st, err := os.Stat(f.Key); err != nil {
		return fmt.Errorf("%w: %w", ErrFiles, err)
	} else if st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %#o: group and others must have no access (chmod 600)", ErrFiles, f.Key, st.Mode().Perm())
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrFiles, err)
	}
	m, err := newMaterial(cert, pool)
	if err != nil {
		return err
	}
	s.cur.Store(m)
	return nil
}

// Identity is what this process's certificate names.
func (s *Store) Identity() Identity { return s.cur.Load().id }

// Check decides whether a verified peer identity is acceptable; nil accepts.
type Check func(Identity) error

// verify checks the peer's chain against the current CA pool for usage, then check.
func (s *Store) verify(cs tls.ConnectionState, usage x509.ExtKeyUsage, check Check) (Identity, error) {
	if len(cs.PeerCertificates) == 0 {
		return Identity{}, ErrNoPeerCert
	}
	m := s.cur.Load()
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	leaf := cs.PeerCertificates[0]
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: m.pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrUntrusted, err)
	}
	id, err := IdentityOf(leaf)
	if err != nil {
		return Identity{}, err
	}
	if check != nil {
		if err := check(id); err != nil {
			return id, fmt.Errorf("%w: %s: %w", ErrIdentity, id, err)
		}
	}
	return id, nil
}

// ServerConfig is a TLS 1.3 server config that requires a client certificate chaining
// to the CA (client-auth usage) whose identity check accepts.
func (s *Store) ServerConfig(check Check) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return s.cur.Load().cert, nil
		},
		// The chain is verified in VerifyConnection against the CA in force (reloadable),
		// not against a pool fixed in this config.
		ClientAuth: tls.RequireAnyClientCert,
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, err := s.verify(cs, x509.ExtKeyUsageClientAuth, check)
			return err
		},
	}
}

// ClientConfig is a TLS 1.3 client config that presents this process's certificate
// and accepts a server whose certificate chains to the CA (server-auth usage) and
// whose identity check accepts.
func (s *Store) ClientConfig(check Check) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return s.cur.Load().cert, nil
		},
		// Host names are not what identifies a peer (see the package comment): the
		// chain and the identity are verified in VerifyConnection, always.
		InsecureSkipVerify: true, //nolint:gosec // verified in VerifyConnection
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, err := s.verify(cs, x509.ExtKeyUsageServerAuth, check)
			return err
		},
	}
}

// PeerIdentity is the verified identity of a TLS connection's peer (after the
// handshake), for servers that identify callers by certificate.
func PeerIdentity(cs tls.ConnectionState) (Identity, bool) {
	if !cs.HandshakeComplete || len(cs.PeerCertificates) == 0 {
		return Identity{}, false
	}
	id, err := IdentityOf(cs.PeerCertificates[0])
	return id, err == nil
}
