// Package ops serves the operational HTTP endpoints every copytrade process has:
// Prometheus metrics at /metrics, pprof at /debug/pprof/, and /livez and /readyz.
package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Serve listens on addr and serves /metrics from reg and /debug/pprof/. It returns
// the bound address (addr may use port 0) and a function that shuts the server down
// within a second of its context.
func Serve(addr string, reg prometheus.Gatherer, log *slog.Logger) (net.Addr, func(context.Context) error, error) {
	return serve(addr, reg, nil, log)
}

func serve(addr string, reg prometheus.Gatherer, ready func() error, log *slog.Logger) (net.Addr, func(context.Context) error, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("ops: HTTP listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	handleHealth(mux, ready) // health.go
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("HTTP server stopped", "err", err)
		}
	}()
	log.Info("serving metrics and pprof", "http_addr", ln.Addr().String())
	return ln.Addr(), func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return hs.Shutdown(ctx)
	}, nil
}
