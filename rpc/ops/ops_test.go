package ops

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestPprofOwnListener: the metrics listener serves /metrics and no profiles; pprof is
// served only by ServePprof, on a listener of its own.
func TestPprofOwnListener(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "ops_test_total", Help: "a test counter"})
	reg.MustRegister(c)
	c.Add(3)
	addr, stop, err := Serve("127.0.0.1:0", reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr.String() + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "ops_test_total 3") {
		t.Errorf("/metrics: %d\n%s", code, body)
	}
	for _, p := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/heap"} {
		if code, _ := get(p); code != http.StatusNotFound {
			t.Errorf("metrics listener answers %s with %d, want 404", p, code)
		}
	}
	paddr, pstop, err := ServePprof("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pstop(context.Background()) }()
	if paddr.String() == addr.String() {
		t.Fatal("pprof shares the metrics listener")
	}
	resp, err := http.Get("http://" + paddr.String() + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "goroutine") {
		t.Errorf("pprof listener /debug/pprof/: %d", resp.StatusCode)
	}
	if resp, err := http.Get("http://" + paddr.String() + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("pprof listener serves /metrics: %d", resp.StatusCode)
		}
	}
	if err := stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + addr.String() + "/metrics"); err == nil {
		t.Error("server still answers after stop")
	}
	if _, _, err := Serve("256.0.0.1:1", reg, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("Serve on an impossible address succeeded")
	}
}
