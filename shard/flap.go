package shard

import (
	"time"

	"github.com/copytrade/copytrade/raftfsm"
)

// dispatchCommitted sends the orders a committed command planned. proposedIn is the
// term state taken before raft.Apply; leadership may have been lost and regained
// since (a flap), and then proposedIn is dead: its dispatch would only mark the
// orders failed in a table nobody reads, and the new term's takeover may have read the
// pending orders before this entry applied, so nobody would ever send them. Orders of
// a committed entry are therefore always handed to the term that is current now: the
// same term dispatches them at once; a newer term takes them as recovered orders,
// queried after its fence (another leader may have sent them meanwhile); with no term
// here the next leader finds them pending.
func (n *Node) dispatchCommitted(proposedIn *leaderState, orders []raftfsm.OrderIntent) *fanout {
	cur := n.ls.Load()
	if cur == proposedIn && cur.ctx.Err() == nil {
		return n.dispatch(cur, orders)
	}
	fo := &fanout{planned: len(orders), start: time.Now(), done: make(chan struct{})}
	fo.failed.Store(int32(len(orders)))
	if cur != nil && cur.ctx.Err() == nil {
		cur.adopt(orders)
		n.log.Warn("leadership changed during a proposal; its orders are recovered by the current term",
			"orders", len(orders), "recover_after", time.Until(cur.fenceUntil).Round(time.Millisecond))
	}
	close(fo.done)
	return fo
}

// adopt tracks orders this term did not dispatch as recovered: queried once the fence
// has passed, placed only if the gateway does not know them. Orders already tracked
// keep their state.
func (ls *leaderState) adopt(orders []raftfsm.OrderIntent) {
	ls.mu.Lock()
	for _, o := range orders {
		if ls.track[o.ClientOrderID] == nil {
			ls.track[o.ClientOrderID] = &track{state: trackRecover, due: ls.fenceUntil, intent: o}
		}
	}
	ls.mu.Unlock()
	ls.kickReconciler()
}
