// Package kitexopt holds the Kitex options every copytrade endpoint shares, so the
// router, the nodes, the gateway client, exchsim and the tools serve and dial alike
// (TTHeader with its meta handler; servers on the Go-net transport, clients on
// netpoll), and the one way a server is run and stopped (Serve, Running).
//
// Why servers use Go-net: netpoll's listener closes its descriptor number up to three
// times on Stop, the last one 100–150 ms after the number was freed, by which time the
// kernel has handed it to whatever the process opened next (a raft.db, a socket): the
// late close destroyed it. Go-net closes a listener through net.Listener only. And
// Kitex's Stop before its Run has built the transport did nothing, after which Run
// served forever; Running closes the listener itself, which ends such a Run.
package kitexopt

import (
	"net"
	"sync"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/connpool"
	remoteconnpool "github.com/cloudwego/kitex/pkg/remote/connpool"
	"github.com/cloudwego/kitex/pkg/remote/trans/gonet"
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

// Server are the server options for service on ln: the Go-net transport, the TTHeader
// meta handler, exitWait for in-flight calls on Stop, and no exit signals: Kitex's
// default stops the server on SIGINT, SIGTERM and SIGHUP, but the process owns its
// signals (SIGHUP reloads keys and topology) and stops its servers through Running.
// Run it with Serve.
func Server(ln net.Listener, service string, exitWait time.Duration) []server.Option {
	return []server.Option{
		server.WithTransServerFactory(gonet.NewTransServerFactory()),
		server.WithTransHandlerFactory(gonet.NewSvrTransHandlerFactory()),
		server.WithExitSignal(noExitSignal),
		server.WithListener(ln),
		server.WithServiceAddr(ln.Addr()),
		server.WithMetaHandler(transmeta.ServerTTHeaderHandler),
		server.WithServerBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: service}),
		server.WithExitWaitTime(exitWait),
	}
}

// noExitSignal never fires: a nil channel blocks forever in Kitex's select.
func noExitSignal() <-chan error { return nil }

// Conns is the long-connection pool of one Kitex client, made by the code that builds
// the client so it can close the connections when it shuts down. Without it Kitex
// closes a client's pool only from a GC finalizer or the idle timeout, any time later.
type Conns struct {
	pool *remoteconnpool.LongPool
	once sync.Once
}

// NewConns returns a pool sized like Client's for a client of service.
func NewConns(service string) *Conns {
	return &Conns{pool: remoteconnpool.NewLongPool(service, connpool.IdleConfig{
		MaxIdlePerAddress: MaxIdlePerAddress,
		MaxIdleGlobal:     MaxIdleGlobal,
		MaxIdleTimeout:    MaxIdleTimeout,
	})}
}

// Option makes a client use the pool.
func (c *Conns) Option() client.Option { return client.WithConnPool(c.pool) }

// Close closes every pooled connection; later calls are a no-op.
func (c *Conns) Close() error {
	var err error
	c.once.Do(func() { err = c.pool.Close() })
	return err
}
