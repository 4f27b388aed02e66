package router_test

// The router's cluster tests run on tools/testcluster's cluster (groups × 3 shard nodes,
// exchsim and a router on loopback). They are an external test package because
// testcluster imports router.

import (
	"os"
	"testing"

	"github.com/cloudwego/kitex/pkg/klog"

	"github.com/copytrade/copytrade/tools/testcluster"
)

func TestMain(m *testing.M) {
	klog.SetLevel(klog.LevelError)
	os.Exit(m.Run())
}

// checkExactlyOnce is testcluster's CheckExactlyOnce plus: exchsim created no order
// beyond those the machines planned for traders (the router tests' traders are all
// there are).
func checkExactlyOnce(c *testcluster.Cluster, traders []int64, copiers int) map[int64]uint64 {
	c.T.Helper()
	applied, planned := c.CheckExactlyOnce(traders, copiers)
	if st := c.Sim.Stats(); st.OrdersCreated != planned {
		c.T.Errorf("exchsim created %d orders, the machines planned %d", st.OrdersCreated, planned)
	}
	return applied
}
