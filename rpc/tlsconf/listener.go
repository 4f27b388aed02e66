package tlsconf

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"time"
)

// HandshakeTimeout bounds a server-side TLS handshake: a peer that connects and says
// nothing is dropped.
const HandshakeTimeout = 10 * time.Second

// Listener is a TLS listener that remembers the verified identity of each open
// connection's peer, by the peer's address, for servers (Kitex) that see only addresses
// in a call's context. The handshake runs on the connection's first read or write, in
// the goroutine serving it, never in Accept.
type Listener struct {
	net.Listener
	cfg   *tls.Config
	peers sync.Map // remote address → Identity
}

// NewListener serves TLS with cfg on inner.
func NewListener(inner net.Listener, cfg *tls.Config) *Listener {
	return &Listener{Listener: inner, cfg: cfg}
}

// Accept returns the next connection; its handshake is pending.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &serverConn{Conn: tls.Server(c, l.cfg), l: l}, nil
}

// Peer is the verified identity of the peer at remote (host:port), while its
// connection is open.
func (l *Listener) Peer(remote string) (Identity, bool) {
	v, ok := l.peers.Load(remote)
	if !ok {
		return Identity{}, false
	}
	return v.(Identity), true
}

type serverConn struct {
	*tls.Conn
	l    *Listener
	once sync.Once
	err  error
}

func (c *serverConn) handshake() error {
	c.once.Do(func() {
		_ = c.Conn.SetDeadline(time.Now().Add(HandshakeTimeout))
		c.err = c.Conn.Handshake()
		_ = c.Conn.SetDeadline(time.Time{})
		if c.err == nil {
			if id, ok := PeerIdentity(c.Conn.ConnectionState()); ok {
				c.l.peers.Store(c.RemoteAddr().String(), id)
			}
		}
	})
	return c.err
}

func (c *serverConn) Read(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *serverConn) Write(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

func (c *serverConn) Close() error {
	c.l.peers.Delete(c.RemoteAddr().String())
	return c.Conn.Close()
}

type peerKey struct{}

// WithPeer returns ctx carrying the verified certificate identity of a call's caller.
func WithPeer(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, peerKey{}, id)
}

// PeerFrom is the caller's certificate identity, when the call came over mutual TLS.
func PeerFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(peerKey{}).(Identity)
	return id, ok
}
