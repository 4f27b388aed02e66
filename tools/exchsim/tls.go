package exchsim

import (
	"fmt"
	"time"

	"github.com/cloudwego/kitex/server"

	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway/tradinggateway"
	"github.com/copytrade/copytrade/rpc/kitexopt"
	"github.com/copytrade/copytrade/rpc/tlsconf"
)

// ServeTLS is Serve over mutual TLS: store is exchsim's certificate (role gateway, the
// name nodes expect) and the deployment's CA; a client must present a certificate of
// that CA.
func ServeTLS(sim *Sim, addr string, store *tlsconf.Store, opts ...server.Option) (*Server, error) {
	ln, err := kitexopt.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("exchsim: listen on %s: %w", addr, err)
	}
	tl := kitexopt.TLSListener(ln, store, nil)
	all := append(append(kitexopt.Server(tl, "exchsim", time.Second), kitexopt.TLSServer(tl)...), opts...)
	s := &Server{sim: sim}
	sim.Start()
	s.run = kitexopt.Serve(tradinggateway.NewServer(NewHandler(sim), all...), ln)
	sim.log.Info("exchsim serving over mutual TLS", "addr", ln.Addr().String(), "identity", store.Identity().String())
	return s, nil
}
