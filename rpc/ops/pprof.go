package ops

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
)

// ServePprof listens on addr and serves /debug/pprof/ only, like Serve. Call it only
// when the operator asked for profiles (--pprof ADDR); bind it to loopback or an admin
// network.
func ServePprof(addr string, log *slog.Logger) (net.Addr, func(context.Context) error, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return serve(addr, mux, "pprof", log)
}
