package shard

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/server"
	"github.com/hashicorp/raft"

	"github.com/copytrade/copytrade/rpc/convert"
	"github.com/copytrade/copytrade/rpc/kitexopt"
	"github.com/copytrade/copytrade/rpc/tlsconf"
)

// Raft over mutual TLS. hashicorp/raft's TCP transport authenticates nothing: anyone
// who reaches the port can send TimeoutNow (move leadership), AppendEntries or
// InstallSnapshot (raft checks only the term). With Config.TLS the transport's stream
// layer is TLS 1.3 both ways, and a peer is accepted only if its certificate chains to
// the deployment's CA and names a node of this group that is a member: in the latest
// raft configuration, or — before this node has one (a fresh replacement) — in
// Config.Members. A removed member's certificate is refused from then on.

// tlsStream is a raft.StreamLayer over mutual TLS. Its listener completes each
// handshake, under a deadline, on the connection's first read, in the transport's
// goroutine for that connection (never in Accept): a refused peer's first read fails
// and raft drops the connection without decoding a byte from it.
type tlsStream struct {
	*tlsconf.Listener
	advertise net.Addr
	client    *tls.Config
}

func (s *tlsStream) Addr() net.Addr { return s.advertise }

func (s *tlsStream) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout}
	return tls.DialWithDialer(d, "tcp", string(address), s.client)
}

// newTransport is the raft transport on ln (bound by openRaft): TLS with cfg.TLS, else
// plain TCP.
func (n *Node) newTransport(ln net.Listener, adv net.Addr) *raft.NetworkTransport {
	cfg := &n.cfg
	tc := n.transportConfig(newHCLogger("raft-net", n.log, cfg.RaftLogLevel), adv.String())
	if cfg.TLS == nil {
		tc.Stream = &tcpStream{Listener: ln, advertise: adv}
	} else {
		check := func(id tlsconf.Identity) error { return n.checkPeer(id) }
		tc.Stream = &tlsStream{Listener: tlsconf.NewListener(ln, cfg.TLS.ServerConfig(check)), advertise: adv, client: cfg.TLS.ClientConfig(check)}
	}
	return raft.NewNetworkTransportWithConfig(tc)
}

// errNotMember: a certificate of this group names a node that is not a member.
var errNotMember = errors.New("not a member of the group")

// checkPeer accepts a node of this group that is a member (see the file comment).
func (n *Node) checkPeer(id tlsconf.Identity) error {
	if !id.IsNode() || id.Group != uint32(n.cfg.Group) {
		return fmt.Errorf("not a node of group %d", n.cfg.Group)
	}
	if r := n.raftRef.Load(); r != nil {
		if servers := r.GetConfiguration().Configuration().Servers; len(servers) > 0 {
			for _, s := range servers {
				if string(s.ID) == id.Node {
					return nil
				}
			}
			return errNotMember
		}
	}
	for _, m := range n.cfg.Members {
		if m.ID == id.Node {
			return nil
		}
	}
	return errNotMember
}

// validateTransport: TLS names this node; without TLS, raft and RPC only on loopback
// unless Insecure.
func (c *Config) validateTransport() []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if c.TLS != nil {
		if want := tlsconf.NodeIdentity(uint32(c.Group), c.NodeID); c.TLS.Identity() != want {
			bad("the TLS certificate names %s, not %s.", c.TLS.Identity(), want)
		}
		return errs
	}
	if c.Insecure {
		return nil
	}
	for _, a := range []struct{ name, addr string }{{"RaftBindAddr", c.RaftBindAddr}, {"RPCAddr", c.RPCAddr}} {
		if a.addr != "" && !loopback(a.addr) {
			bad("%s %s is not a loopback address: serving raft or RPC there needs TLS (or Insecure, for development).", a.name, a.addr)
		}
	}
	return errs
}

// loopback reports whether host:port listens on loopback only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// rpcServerOptions are the CopyTrade server's options on ln: with TLS, mutual TLS on
// ln (any certificate of the deployment's CA; service callers are identified by it,
// accounts by their tokens) and the caller-identity middleware before the configured
// options (the guard).
func (n *Node) rpcServerOptions(ln *kitexopt.Listener) []server.Option {
	// Declared exceptions for callers not on TTHeader: outermost, so the guard's
	// refusals are converted too.
	exc := server.WithMiddleware(convert.ExceptionMiddleware)
	if n.cfg.TLS == nil {
		return append(append(kitexopt.Server(ln, "copytrade", 200*time.Millisecond), exc), n.cfg.ServerOptions...)
	}
	tl := kitexopt.TLSListener(ln, n.cfg.TLS, nil)
	opts := append(append(kitexopt.Server(tl, "copytrade", 200*time.Millisecond), exc), kitexopt.TLSServer(tl)...)
	return append(opts, n.cfg.ServerOptions...)
}

// gatewayClientOptions are the gateway client's extra options: with TLS, mutual TLS
// to a server whose certificate names the gateway role.
func gatewayClientOptions(store *tlsconf.Store) []client.Option {
	if store == nil {
		return nil
	}
	return kitexopt.TLSClient(store, func(id tlsconf.Identity) error {
		if id.IsNode() || id.Role != GatewayRole {
			return fmt.Errorf("not the trading gateway (role %s)", GatewayRole)
		}
		return nil
	})
}

// GatewayRole is the role the trading gateway's (exchsim's) certificate names.
const GatewayRole = "gateway"
