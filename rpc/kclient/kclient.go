// Package kclient holds the Kitex client options every copytrade client shares, so
// the router, the nodes, the gateway client and the tools dial alike.
package kclient

import (
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/connpool"
	"github.com/cloudwego/kitex/pkg/transmeta"
	"github.com/cloudwego/kitex/transport"
)

// Pool sizes for long-lived connections. Kitex keeps 10 idle connections per address
// by default; under a few hundred concurrent calls every call past that dialled a
// fresh TCP connection, which capped Noop through the router near 1.7k calls/s
// (5.4k/s straight to the leader) on a 2-core machine.
const (
	MaxIdlePerAddress = 512
	MaxIdleGlobal     = 4096
	MaxIdleTimeout    = time.Minute
)

// Options are the client options for servers at addrs: TTHeader transport with its
// meta handler (business status errors and metainfo such as the auth token travel in
// it), a connect timeout, and a pool of long connections sized for fan-out.
func Options(connectTimeout time.Duration, addrs ...string) []client.Option {
	return []client.Option{
		client.WithHostPorts(addrs...),
		client.WithTransportProtocol(transport.TTHeader),
		client.WithMetaHandler(transmeta.ClientTTHeaderHandler),
		client.WithConnectTimeout(connectTimeout),
		client.WithLongConnection(connpool.IdleConfig{
			MaxIdlePerAddress: MaxIdlePerAddress,
			MaxIdleGlobal:     MaxIdleGlobal,
			MaxIdleTimeout:    MaxIdleTimeout,
		}),
	}
}
