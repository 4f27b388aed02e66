package exchsim

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway"
)

// benchBatch is 500 copier orders on 500 accounts; odd rounds close what even rounds
// opened, so positions and margin stay bounded however long the benchmark runs.
type benchBatch struct {
	orders []Order
	seq    atomic.Int64
	prefix string
}

func newBenchBatch(prefix string, base int64) *benchBatch {
	b := &benchBatch{prefix: prefix, orders: make([]Order, 500)}
	for i := range b.orders {
		b.orders[i] = Order{Account: base + int64(i), Instrument: "BTCUSDT", PositionSide: Long,
			Qty: d("0.01"), Type: Market, Leverage: 10, MarginMode: Cross}
	}
	return b
}

// next returns the orders of one round with fresh client order IDs (unique: strict
// mode executes them all). Each caller gets its own copy.
func (b *benchBatch) next(round int64, unique bool) []Order {
	out := make([]Order, len(b.orders))
	copy(out, b.orders)
	side := Buy
	if round%2 == 1 {
		side = Sell
	}
	var buf []byte
	for i := range out {
		out[i].Side = side
		n := int64(i)
		if unique {
			n = b.seq.Add(1)
		}
		buf = strconv.AppendInt(append(buf[:0], b.prefix...), n, 36)
		out[i].ClientOrderID = string(buf)
	}
	return out
}

func checkAllFilled(b *testing.B, rs []OrderResult) {
	for i := range rs {
		if rs[i].Status != Filled {
			b.Fatalf("order %d: %+v", i, rs[i])
		}
	}
}

// BenchmarkPlaceOrders500 measures one 500-order batch (ns/op is per batch).
//   - inproc/strict: Sim.PlaceOrders, every ID new (the real dispatcher's case).
//   - inproc/nodedup: the same 500 IDs every round (no growth of the order table).
//   - inproc/parallel: GOMAXPROCS goroutines, each with its own 500 accounts.
//   - kitex: through a real Kitex client and server on loopback.
//   - kitex/parallel: 4 concurrent clients' batches on loopback.
func BenchmarkPlaceOrders500(b *testing.B) {
	ctx := context.Background()
	b.Run("inproc/strict", func(b *testing.B) {
		s := newSim(b, nil)
		batch := newBenchBatch("s", 1)
		b.ReportAllocs()
		for i := range b.N {
			rs, err := s.PlaceOrders(ctx, batch.next(int64(i), true))
			if err != nil {
				b.Fatal(err)
			}
			checkAllFilled(b, rs)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/order")
	})
	b.Run("inproc/nodedup", func(b *testing.B) {
		s := newSim(b, func(c *Config) { c.Mode = NoDedup })
		batch := newBenchBatch("n", 1)
		b.ReportAllocs()
		for i := range b.N {
			if _, err := s.PlaceOrders(ctx, batch.next(int64(i), false)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/order")
	})
	b.Run("inproc/parallel", func(b *testing.B) {
		s := newSim(b, nil)
		var worker atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			w := worker.Add(1)
			batch := newBenchBatch("p"+strconv.FormatInt(w, 10)+"-", w*1000)
			for round := int64(0); pb.Next(); round++ {
				rs, err := s.PlaceOrders(ctx, batch.next(round, true))
				if err != nil {
					b.Fatal(err)
				}
				checkAllFilled(b, rs)
			}
		})
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/order")
	})
	kitexBatch := func(batch *benchBatch, round int64) *gateway.PlaceOrdersRequest {
		orders := batch.next(round, true)
		req := &gateway.PlaceOrdersRequest{Orders: make([]*gateway.OrderRequest, len(orders))}
		for i, o := range orders {
			req.Orders[i] = &gateway.OrderRequest{
				ClientOrderId: o.ClientOrderID, Account: o.Account, Instrument: o.Instrument,
				Side: gateway.Side(o.Side), PositionSide: gateway.PositionSide(o.PositionSide), Qty: o.Qty.String(),
				OrderType: gateway.OrderType(o.Type), Leverage: o.Leverage, MarginMode: gateway.MarginMode(o.MarginMode),
			}
		}
		return req
	}
	b.Run("kitex", func(b *testing.B) {
		s := newSim(b, nil)
		_, cli := serve(b, s)
		batch := newBenchBatch("k", 1)
		b.ReportAllocs()
		for i := range b.N {
			b.StopTimer()
			req := kitexBatch(batch, int64(i))
			b.StartTimer()
			resp, err := cli.PlaceOrders(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			if r := resp.Results[499]; r.Status != gateway.OrderStatus_FILLED {
				b.Fatalf("%+v", r)
			}
		}
	})
	b.Run("kitex/parallel", func(b *testing.B) {
		s := newSim(b, nil)
		_, cli := serve(b, s)
		var worker atomic.Int64
		b.SetParallelism(2) // 2 × GOMAXPROCS client goroutines
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			w := worker.Add(1)
			batch := newBenchBatch("kp"+strconv.FormatInt(w, 10)+"-", w*1000)
			for round := int64(0); pb.Next(); round++ {
				resp, err := cli.PlaceOrders(ctx, kitexBatch(batch, round))
				if err != nil {
					b.Fatal(err)
				}
				if r := resp.Results[499]; r.Status != gateway.OrderStatus_FILLED {
					b.Fatalf("%+v", r)
				}
			}
		})
	})
}
