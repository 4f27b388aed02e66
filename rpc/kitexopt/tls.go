package kitexopt

import (
	"context"
	"crypto/tls"
	"net"
	"sync/atomic"
	"time"

	"github.com/cloudwego/gopkg/bufiox"
	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/endpoint"
	"github.com/cloudwego/kitex/pkg/remote/trans/gonet"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/server"

	"github.com/copytrade/copytrade/rpc/tlsconf"
)

// Kitex over mutual TLS. Kitex's default transport (netpoll) has no TLS; its Go-net
// transport does: servers are on Go-net already (Server), and take a TLS listener
// (TLSListener) in place of the plain one; a TLS client takes Go-net's client handler
// and a dialer whose connections expose bufiox Reader()/Writer() (Go-net's codec
// requires them and panics on a bare *tls.Conn).
//
//	ln, _ := kitexopt.Listen(addr)
//	tl := kitexopt.TLSListener(ln, store, nil)
//	opts := append(kitexopt.Server(tl, service, wait), kitexopt.TLSServer(tl)...)
//	run := kitexopt.Serve(NewServer(handler, opts...), ln) // Stop/Kill close ln and its conns

// TLSClient are the client options of a caller over mutual TLS: this process's
// certificate from store, and a server accepted only if its certificate chains to the
// CA and check accepts its identity.
func TLSClient(store *tlsconf.Store, check tlsconf.Check) []client.Option {
	return []client.Option{
		client.WithTransHandlerFactory(gonet.NewCliTransHandlerFactory()),
		client.WithDialer(&tlsDialer{cfg: store.ClientConfig(check)}),
	}
}

// TLSListener serves mutual TLS on ln: a client must present a certificate that
// chains to store's CA and that check accepts (nil: any).
func TLSListener(ln net.Listener, store *tlsconf.Store, check tlsconf.Check) *tlsconf.Listener {
	return tlsconf.NewListener(ln, store.ServerConfig(check))
}

// TLSServer are the options to add to Server's for a service on a TLS listener: a
// middleware that puts the caller's verified certificate identity in each call's
// context (tlsconf.PeerFrom), where rpc/auth finds service callers. Add them before
// the guard's.
func TLSServer(ln *tlsconf.Listener) []server.Option {
	return []server.Option{server.WithMiddleware(PeerMiddleware(ln))}
}

// PeerMiddleware adds the caller's certificate identity, as ln verified it, to ctx.
func PeerMiddleware(ln *tlsconf.Listener) endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req, resp interface{}) error {
			if ri := rpcinfo.GetRPCInfo(ctx); ri != nil && ri.From() != nil && ri.From().Address() != nil {
				if id, ok := ln.Peer(ri.From().Address().String()); ok {
					ctx = tlsconf.WithPeer(ctx, id)
				}
			}
			return next(ctx, req, resp)
		}
	}
}

// tlsDialer is a remote.Dialer that dials TLS and completes the handshake (so a
// refused server is an error of the call, not of the codec).
type tlsDialer struct{ cfg *tls.Config }

func (d *tlsDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := (&tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: d.cfg}).DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &bufConn{Conn: c, r: bufiox.NewDefaultReader(c), w: bufiox.NewDefaultWriter(c)}, nil
}

// bufConn is a client connection with the bufiox reader and writer Go-net reads.
type bufConn struct {
	net.Conn
	r      *bufiox.DefaultReader
	w      *bufiox.DefaultWriter
	closed atomic.Bool
}

func (c *bufConn) Reader() *bufiox.DefaultReader { return c.r }
func (c *bufConn) Writer() *bufiox.DefaultWriter { return c.w }
func (c *bufConn) Read(b []byte) (int, error)    { return c.r.Read(b) }

func (c *bufConn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return net.ErrClosed
	}
	_ = c.r.Release(nil)
	return c.Conn.Close()
}
