// Package kitexopt holds the Kitex options every copytrade endpoint shares, so the
// router, the nodes, the gateway client, exchsim and the tools serve and dial alike
// (netpoll transport, TTHeader with its meta handler).
package kitexopt

import (
	"net"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/connpool"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/pkg/transmeta"
	"github.com/cloudwego/kitex/server"
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

// Client are the client options for servers at addrs: TTHeader
// with its meta handler (business status errors and metainfo such as the auth token
// travel in it), a connect timeout, and a pool of long connections sized for fan-out.
func Client(connectTimeout time.Duration, addrs ...string) []client.Option {
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

// Server are the server options for service on ln: the TTHeader meta handler, and
// exitWait for in-flight calls on Stop.
func Server(ln net.Listener, service string, exitWait time.Duration) []server.Option {
	return []server.Option{
		server.WithListener(ln),
		server.WithServiceAddr(ln.Addr()),
		server.WithMetaHandler(transmeta.ServerTTHeaderHandler),
		server.WithServerBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: service}),
		server.WithExitWaitTime(exitWait),
	}
}
