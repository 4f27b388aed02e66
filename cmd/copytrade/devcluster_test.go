package main

import (
	"context"
	"testing"

	"github.com/copytrade/copytrade/tools/devcluster"
)

// startSeededDev starts a dev cluster for one test (a temporary data dir, no fsync),
// closed when the test ends, seeded with traders lead traders of copiers copiers each.
func startSeededDev(ctx context.Context, t *testing.T, traders, copiers int) (*devcluster.Cluster, *devcluster.Population) {
	t.Helper()
	opts := devcluster.DefaultOptions()
	opts.DataDir, opts.NoSync = t.TempDir(), true
	c, err := devcluster.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	so := devcluster.DefaultSeedOptions()
	so.Traders, so.CopiersPerTrader = traders, copiers
	pop, err := c.Seed(ctx, so)
	if err != nil {
		t.Fatal(err)
	}
	return c, pop
}
