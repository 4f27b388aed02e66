package exchsim

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/server"

	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway/tradinggateway"
	"github.com/copytrade/copytrade/rpc/kitexopt"
)

// Server is a Sim served over Kitex (kitexopt's transport, TTHeader framing so
// business status errors reach the client).
type Server struct {
	sim *Sim
	run *kitexopt.Running

	stopOnce sync.Once
	stopErr  error
}

// Serve listens on addr (host:port; port 0 picks a free port), starts the Sim's mark
// ticker and serves the TradingGateway service in the background until Stop. Extra
// Kitex options (middleware, limits) are appended to the defaults.
func Serve(sim *Sim, addr string, opts ...server.Option) (*Server, error) {
	ln, err := kitexopt.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("exchsim: listen on %s: %w", addr, err)
	}
	all := append(kitexopt.Server(ln, "exchsim", time.Second), opts...)
	s := &Server{sim: sim}
	sim.Start()
	s.run = kitexopt.Serve(tradinggateway.NewServer(NewHandler(sim), all...), ln)
	sim.log.Info("exchsim serving", "addr", ln.Addr().String(), "mode", sim.cfg.Mode,
		"instruments", len(sim.instruments.Load().sorted))
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.run.Addr() }

// Sim returns the simulator behind the server.
func (s *Server) Sim() *Sim { return s.sim }

// Stop stops serving and the Sim's ticker, and waits for both. A second Stop returns
// the first one's result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		err := s.run.Stop()
		s.sim.Close()
		s.stopErr = err
		s.sim.log.Info("exchsim stopped", "addr", s.run.Addr().String(), "err", err)
	})
	return s.stopErr
}

// ListenAndServe builds a Sim from cfg, serves it on cfg.ListenAddr until ctx ends,
// then stops it. It is the body of `copytrade exchsim`.
func ListenAndServe(ctx context.Context, cfg Config) error {
	if cfg.ListenAddr == "" {
		return fmt.Errorf("%w: ListenAddr must be set to serve.", ErrInvalidConfig)
	}
	sim, err := New(cfg)
	if err != nil {
		return err
	}
	srv, err := Serve(sim, cfg.ListenAddr)
	if err != nil {
		return err
	}
	<-ctx.Done()
	return srv.Stop()
}

// ClientOptions are the Kitex client options that match Serve: TTHeader transport
// with its meta handler, so business status errors arrive as kerrors.BizStatusError.
func ClientOptions(addr string) []client.Option {
	return kitexopt.Client(time.Second, addr)
}

// NewClient returns a TradingGateway client for a server at addr (host:port), with
// ClientOptions plus opts.
func NewClient(addr string, opts ...client.Option) (tradinggateway.Client, error) {
	return tradinggateway.NewClient("exchsim", append(ClientOptions(addr), opts...)...)
}
