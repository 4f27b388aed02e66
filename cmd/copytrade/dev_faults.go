package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/tools/devcluster"
)

// printVenueFaults reports what the hostile venue did and where it left the copy loop:
// the faults exchsim injected, the orders it refused as expired, and the orders a
// contract-breaking report put in quarantine (answered, so counted as placed above;
// they wait for `ctl orders resolve`). Pending orders are reconciled after the fence;
// it waits up to 10 s for them.
func printVenueFaults(ctx context.Context, w io.Writer, c *devcluster.Cluster) {
	st := c.Sim().Stats()
	var pending int
	deadline := time.Now().Add(10 * time.Second)
	for {
		pending = 0
		for g := 1; ; g++ {
			if g > len(c.Topology().Groups) {
				break
			}
			if n := c.Leader(g); n != nil {
				n.Read(func(m *raftfsm.Machine) { pending += len(m.PendingOrders()) })
			}
		}
		if pending == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	q := 0
	cctx, cancel := context.WithTimeout(c.AdminContext(ctx), 5*time.Second)
	defer cancel()
	if resp, err := c.Client().ListOrders(cctx, &ct.ListOrdersRequest{QuarantinedOnly: true, Limit: 10000, ReadOpts: &ct.ReadOptions{}}); err == nil {
		q = len(resp.GetOrders())
	} else {
		fmt.Fprintf(w, "dev: quarantined orders: %v\n", err)
	}
	fmt.Fprintf(w, "dev: venue faults=%d expired=%d bad_reports=%d; afterwards: %d pending, %d quarantined (of the placed; ctl orders --quarantined)\n",
		st.FaultsInjected, st.OrdersExpired, st.BadReports, pending, q)
}
