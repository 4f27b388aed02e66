package shard

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/raftfsm/fixed"
	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway"
)

// echoGateway answers every order FILLED at once, from reports built in advance, so a
// benchmark sees only the node's side of a fan-out.
type echoGateway struct {
	Gateway
	reports []*gateway.OrderReport
}

func (g *echoGateway) PlaceOrders(_ context.Context, req *gateway.PlaceOrdersRequest) (*gateway.PlaceOrdersResponse, error) {
	resp := &gateway.PlaceOrdersResponse{Results: g.reports[:len(req.Orders)]}
	for i, o := range req.Orders {
		resp.Results[i].ClientOrderId = o.ClientOrderId
	}
	return resp, nil
}

// BenchmarkDispatch500 is the leader's own work for one 500-order fan-out, without raft
// or a network: mark in flight, build the PlaceOrders requests, read the answers and
// hand them to the results batcher (drained here). ns/op and allocs/op are per fan-out.
func BenchmarkDispatch500(b *testing.B) {
	const n = 500
	gw := &echoGateway{}
	for range n {
		gw.reports = append(gw.reports, &gateway.OrderReport{Status: gateway.OrderStatus_FILLED,
			FilledQty: "0.016", AvgPrice: "60006.1", Fee: "0.384039", RealizedPnl: "0"})
	}
	cfg := DefaultConfig()
	node := &Node{cfg: cfg, gw: gw, metrics: newMetrics(), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ls := &leaderState{ctx: ctx, cancel: cancel, results: make(chan []raftfsm.OrderResult, 1024),
		kick: make(chan struct{}, 1), track: make(map[string]*track)}
	orders := make([]raftfsm.OrderIntent, n)
	seq := 0
	b.ReportAllocs()
	for b.Loop() {
		for i := range orders {
			seq++
			orders[i] = raftfsm.OrderIntent{ClientOrderID: "c" + strconv.FormatInt(int64(seq), 36), Copier: raftfsm.AccountID(7_000_000 + i),
				Trader: 1_000_001, Instrument: "BTCUSDT", Side: raftfsm.Buy, PosSide: raftfsm.Long,
				Qty: fixed.MustParse("0.016"), Leverage: 10, MarginMode: raftfsm.Cross}
		}
		fo := node.dispatch(ls, orders)
		<-fo.done
		for got := 0; got < n; {
			rs := <-ls.results
			got += len(rs)
		}
		clear(ls.track)
	}
}
