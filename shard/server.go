package shard

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/cloudwego/kitex/client"

	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
	"github.com/copytrade/copytrade/rpc/kitexopt"
	"github.com/copytrade/copytrade/rpc/ops"
)

// Start serves the CopyTrade RPC on cfg.RPCAddr and /metrics and /debug/pprof/ on
// cfg.HTTPAddr (each when set). Shutdown and Kill stop them.
func (n *Node) Start() error {
	if n.cfg.RPCAddr != "" {
		ln, err := net.Listen("tcp", n.cfg.RPCAddr)
		if err != nil {
			return fmt.Errorf("shard: RPC listen on %s: %w", n.cfg.RPCAddr, err)
		}
		opts := append(kitexopt.Server(ln, "copytrade", 200*time.Millisecond), n.cfg.ServerOptions...)
		svr := copytrade.NewServer(NewHandler(n), opts...)
		done := make(chan error, 1)
		go func() { done <- svr.Run() }()
		n.servers = append(n.servers, func(context.Context) error {
			err := svr.Stop()
			if runErr := <-done; err == nil && runErr != nil {
				err = runErr
			}
			if err != nil {
				return fmt.Errorf("shard: stop RPC server: %w", err)
			}
			return nil
		})
		n.log.Info("serving CopyTrade", "rpc_addr", ln.Addr().String())
	}
	if n.cfg.HTTPAddr != "" {
		_, stop, err := ops.ServeWithReadiness(n.cfg.HTTPAddr, n.metrics.Registry, n.Ready, n.log)
		if err != nil {
			return fmt.Errorf("shard: %w", err)
		}
		n.servers = append(n.servers, stop)
	}
	return nil
}

// NewClient returns a CopyTrade client for node (or router) addresses, with the
// TTHeader transport the servers use so business errors arrive as such.
func NewClient(addrs []string, opts ...client.Option) (copytrade.Client, error) {
	all := append(kitexopt.Client(time.Second, addrs...), opts...)
	c, err := copytrade.NewClient("copytrade", all...)
	if err != nil {
		return nil, fmt.Errorf("shard: CopyTrade client: %w", err)
	}
	return c, nil
}
