package shard

import (
	"context"
	"fmt"
	"time"

	"github.com/cloudwego/kitex/client"

	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
	"github.com/copytrade/copytrade/rpc/kitexopt"
	"github.com/copytrade/copytrade/rpc/ops"
)

// Start serves the CopyTrade RPC on cfg.RPCAddr, /metrics on cfg.HTTPAddr and
// /debug/pprof/ on cfg.PprofAddr (each when set). Shutdown and Kill stop them. Addrs
// tells where they listen (a port 0 is bound to one the kernel picks).
func (n *Node) Start() error {
	if n.cfg.RPCAddr != "" {
		ln, err := kitexopt.Listen(n.cfg.RPCAddr)
		if err != nil {
			return fmt.Errorf("shard: RPC listen on %s: %w", n.cfg.RPCAddr, err)
		}
		opts := n.rpcServerOptions(ln)
		run := kitexopt.Serve(copytrade.NewServer(NewHandler(n), opts...), ln)
		n.servers = append(n.servers, func(context.Context) error {
			stop := run.Stop
			if n.killed.Load() {
				stop = run.Kill // a crash answers nothing more, on no pooled connection either
			}
			if err := stop(); err != nil {
				return fmt.Errorf("shard: stop RPC server: %w", err)
			}
			return nil
		})
		n.setAddrs(func(a *Addrs) { a.RPC = ln.Addr().String() })
		n.log.Info("serving CopyTrade", "rpc_addr", ln.Addr().String())
	}
	if n.cfg.HTTPAddr != "" {
		addr, stop, err := ops.ServeWithReadiness(n.cfg.HTTPAddr, n.metrics.Registry, n.Ready, n.log)
		if err != nil {
			return fmt.Errorf("shard: %w", err)
		}
		n.servers = append(n.servers, stop)
		n.setAddrs(func(a *Addrs) { a.HTTP = addr.String() })
	}
	if n.cfg.PprofAddr != "" {
		addr, stop, err := ops.ServePprof(n.cfg.PprofAddr, n.log)
		if err != nil {
			return fmt.Errorf("shard: %w", err)
		}
		n.servers = append(n.servers, stop)
		n.setAddrs(func(a *Addrs) { a.Pprof = addr.String() })
	}
	return nil
}

// Client is a CopyTrade client that owns its connections: Close closes them (Kitex
// alone would close them only from a GC finalizer).
type Client struct {
	copytrade.Client
	conns *kitexopt.Conns
}

// Close closes the client's connections; calls after it fail.
func (c *Client) Close() error { return c.conns.Close() }

// NewClient returns a CopyTrade client for node (or router) addresses, with the
// TTHeader transport the servers use so business errors arrive as such. Close it when
// done.
func NewClient(addrs []string, opts ...client.Option) (*Client, error) {
	conns := kitexopt.NewConns("copytrade")
	all := append(kitexopt.Client(time.Second, addrs...), conns.Option())
	c, err := copytrade.NewClient("copytrade", append(all, opts...)...)
	if err != nil {
		_ = conns.Close()
		return nil, fmt.Errorf("shard: CopyTrade client: %w", err)
	}
	return &Client{Client: c, conns: conns}, nil
}
