package ops

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestLivezReadyz: /livez answers 200 while serving; /readyz follows the readiness
// function: 503 with its reason, then 200.
func TestLivezReadyz(t *testing.T) {
	var notReady atomic.Pointer[error]
	reason := errors.New("no leader known")
	notReady.Store(&reason)
	ready := func() error {
		if e := notReady.Load(); e != nil {
			return *e
		}
		return nil
	}
	addr, stop, err := ServeWithReadiness("127.0.0.1:0", prometheus.NewRegistry(), ready, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer stop(context.Background())
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr.String() + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/livez"); code != http.StatusOK {
		t.Fatalf("/livez: %d", code)
	}
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "no leader known") {
		t.Fatalf("/readyz not ready: %d %q", code, body)
	}
	notReady.Store(nil)
	if code, body := get("/readyz"); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Fatalf("/readyz ready: %d %q", code, body)
	}
}
