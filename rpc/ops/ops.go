// Package ops serves the operational HTTP endpoints every copytrade process has:
// Prometheus metrics at /metrics with /livez and /readyz, and — on a listener of its
// own, only when asked for (--pprof ADDR) — pprof at /debug/pprof/. Profiles expose
// memory contents and cost CPU, so they are never on the metrics port a scraper reaches.
package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Serve listens on addr and serves /metrics from reg. It returns the bound address
// (addr may use port 0) and a function that shuts the server down within a second of
// its context.
func Serve(addr string, reg prometheus.Gatherer, log *slog.Logger) (net.Addr, func(context.Context) error, error) {
	return serveMetrics(addr, reg, nil, log)
}

// serveMetrics serves /metrics from reg and /livez and /readyz (ready nil: always ready).
func serveMetrics(addr string, reg prometheus.Gatherer, ready func() error, log *slog.Logger) (net.Addr, func(context.Context) error, error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	handleHealth(mux, ready) // health.go
	return serve(addr, mux, "metrics", log)
}

func serve(addr string, h http.Handler, what string, log *slog.Logger) (net.Addr, func(context.Context) error, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("ops: %s listen on %s: %w", what, addr, err)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("HTTP server stopped", "what", what, "err", err)
		}
	}()
	log.Info("serving "+what, "addr", ln.Addr().String())
	return ln.Addr(), func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return hs.Shutdown(ctx)
	}, nil
}
