package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/copytrade/copytrade/rpc/ops"
	"github.com/copytrade/copytrade/tools/devcluster"
)

// serveDevHTTP serves the embedded cluster's metrics on one listener: every node's
// registry (each series labelled with its group and node) and the router's, gathered
// together; /readyz is ready when every node and the router are.
func serveDevHTTP(addr string, c *devcluster.Cluster, groups int, log *slog.Logger) (net.Addr, func(context.Context) error, error) {
	gs := prometheus.Gatherers{c.Router().Metrics().Registry}
	var ready []func() error
	for g := 1; g <= groups; g++ {
		for _, n := range c.Nodes(g) {
			gs = append(gs, n.Metrics().Registry)
			ready = append(ready, func() error {
				if err := n.Ready(); err != nil {
					return fmt.Errorf("node %s: %w", n.ID(), err)
				}
				return nil
			})
		}
	}
	ready = append(ready, func() error {
		if err := c.Router().Ready(); err != nil {
			return fmt.Errorf("router: %w", err)
		}
		return nil
	})
	return ops.ServeWithReadiness(addr, gs, func() error {
		var errs []error
		for _, r := range ready {
			if err := r(); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}, log)
}
