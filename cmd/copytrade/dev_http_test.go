package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/copytrade/copytrade/tools/devcluster"
	"github.com/copytrade/copytrade/tools/testcluster"
)

// TestDevHTTPMetrics: `dev --http` serves every node's series labelled with its group
// and node, the router's, and the build info on one listener, and /readyz turns 200
// once every node and the router are ready.
func TestDevHTTPMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	opts := devcluster.DefaultOptions()
	opts.DataDir, opts.NoSync, opts.Logger = t.TempDir(), true, testcluster.Logger()
	c, err := devcluster.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addr, stop, err := serveDevHTTP("127.0.0.1:0", c, opts.Groups, testcluster.Logger())
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
	waitFor(t, 20*time.Second, func() bool { code, _ := get("/readyz"); return code == http.StatusOK },
		func() string { _, body := get("/readyz"); return "/readyz: " + body })
	code, body := get("/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`copytrade_is_leader{group="1",node="g1n1"}`, `copytrade_is_leader{group="2",node="g2n3"}`,
		`copytrade_slots{group="2",node="g2n1",state="owned"} 8192`,
		`copytrade_router_redirects_total{reason="moved"} 0`, "copytrade_build_info{",
		`copytrade_copier_orders_total{group="1",node="g1n1",outcome="placed"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
