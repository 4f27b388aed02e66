package router

import (
	"fmt"
	"net"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/server"

	"github.com/copytrade/copytrade/rpc/convert"
	"github.com/copytrade/copytrade/rpc/kitexopt"
	"github.com/copytrade/copytrade/rpc/tlsconf"
)

// serverOptions are the router's CopyTrade server options on ln: with TLS, mutual TLS
// (any certificate of the deployment's CA: service callers are identified by it, and
// accounts by their tokens) and the caller-identity middleware, before the guard's.
func (r *Router) serverOptions(ln *kitexopt.Listener) []server.Option {
	// Declared exceptions for callers not on TTHeader (any Thrift client): outermost,
	// so the guard's refusals are converted too.
	exc := server.WithMiddleware(convert.ExceptionMiddleware)
	if r.cfg.TLS == nil {
		return append(kitexopt.Server(ln, "copytrade-router", 200*time.Millisecond), exc)
	}
	tl := kitexopt.TLSListener(ln, r.cfg.TLS, nil)
	return append(append(kitexopt.Server(tl, "copytrade-router", 200*time.Millisecond), exc), kitexopt.TLSServer(tl)...)
}

// memberTLS are the client options for a member's RPC address: mutual TLS, and the
// server must be the node the topology lists at that address (or, for an address the
// topology does not list — a leader hint — a node of a group the topology lists).
func (r *Router) memberTLS() func(addr string) []client.Option {
	if r.cfg.TLS == nil {
		return nil
	}
	return func(addr string) []client.Option {
		return kitexopt.TLSClient(r.cfg.TLS, func(id tlsconf.Identity) error {
			if !id.IsNode() {
				return fmt.Errorf("not a shard node")
			}
			known := false
			for _, g := range r.topo.Load().Groups {
				for _, m := range g.Members {
					if m.RPCAddr == addr {
						if id != tlsconf.NodeIdentity(g.ID, m.ID) {
							return fmt.Errorf("the topology lists node %s of group %d at %s", m.ID, g.ID, addr)
						}
						return nil
					}
				}
				known = known || g.ID == id.Group
			}
			if !known {
				return fmt.Errorf("group %d is not in the topology", id.Group)
			}
			return nil
		})
	}
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
