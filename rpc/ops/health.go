package ops

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// ServeWithReadiness is Serve with /readyz answered by ready: 200 "ok" when it returns
// nil, 503 with its error otherwise. /livez answers 200 while the process serves HTTP.
func ServeWithReadiness(addr string, reg prometheus.Gatherer, ready func() error, log *slog.Logger) (net.Addr, func(context.Context) error, error) {
	return serveMetrics(addr, reg, ready, log)
}

// handleHealth registers /livez and /readyz on mux (ready nil: always ready).
func handleHealth(mux *http.ServeMux, ready func() error) {
	mux.HandleFunc("/livez", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if ready != nil {
			if err := ready(); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintln(w, "not ready:", err)
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
}
