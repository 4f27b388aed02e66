package shard

import (
	"context"
	"fmt"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/client/callopt"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/raftfsm/fixed"
	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway"
	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway/tradinggateway"
	"github.com/copytrade/copytrade/rpc/kitexopt"
)

// Gateway is the part of the TradingGateway service a node uses. The generated
// server interface (gateway.TradingGateway) satisfies it, so an in-process simulator
// handler works as well as KitexGateway.
type Gateway interface {
	PlaceOrders(ctx context.Context, req *gateway.PlaceOrdersRequest) (*gateway.PlaceOrdersResponse, error)
	QueryOrders(ctx context.Context, req *gateway.QueryOrdersRequest) (*gateway.QueryOrdersResponse, error)
	MarkPrices(ctx context.Context, req *gateway.MarkPricesRequest) (*gateway.MarkPricesResponse, error)
	Transfer(ctx context.Context, req *gateway.TransferRequest) (*gateway.TransferResponse, error)
	// ApplicantStats is an applicant's track record (eligibility.go).
	ApplicantStats(ctx context.Context, req *gateway.ApplicantStatsRequest) (*gateway.ApplicantStatsResponse, error)
}

// KitexGateway is a Gateway over a Kitex client (TTHeader, so business errors arrive
// as such). Each call's RPC timeout is the time left on its context. Close closes its
// connections.
type KitexGateway struct {
	c     tradinggateway.Client
	conns *kitexopt.Conns
}

// NewKitexGateway dials the gateway endpoints (host:port; the client balances over them).
func NewKitexGateway(addrs []string, opts ...client.Option) (*KitexGateway, error) {
	if len(addrs) == 0 {
		return nil, fmt.Errorf("shard: gateway client: no address")
	}
	conns := kitexopt.NewConns("tradinggateway")
	all := append(kitexopt.Client(200*time.Millisecond, addrs...), conns.Option())
	c, err := tradinggateway.NewClient("tradinggateway", append(all, opts...)...)
	if err != nil {
		_ = conns.Close()
		return nil, fmt.Errorf("shard: gateway client: %w", err)
	}
	return &KitexGateway{c: c, conns: conns}, nil
}

// Close closes the client's connections; calls after it fail.
func (g *KitexGateway) Close() error { return g.conns.Close() }

func timeout(ctx context.Context) []callopt.Option {
	if d, ok := ctx.Deadline(); ok {
		left := time.Until(d)
		if left < time.Millisecond {
			left = time.Millisecond
		}
		return []callopt.Option{callopt.WithRPCTimeout(left)}
	}
	return nil
}

func (g *KitexGateway) PlaceOrders(ctx context.Context, req *gateway.PlaceOrdersRequest) (*gateway.PlaceOrdersResponse, error) {
	return g.c.PlaceOrders(ctx, req, timeout(ctx)...)
}

func (g *KitexGateway) QueryOrders(ctx context.Context, req *gateway.QueryOrdersRequest) (*gateway.QueryOrdersResponse, error) {
	return g.c.QueryOrders(ctx, req, timeout(ctx)...)
}

func (g *KitexGateway) MarkPrices(ctx context.Context, req *gateway.MarkPricesRequest) (*gateway.MarkPricesResponse, error) {
	return g.c.MarkPrices(ctx, req, timeout(ctx)...)
}

func (g *KitexGateway) Transfer(ctx context.Context, req *gateway.TransferRequest) (*gateway.TransferResponse, error) {
	return g.c.Transfer(ctx, req, timeout(ctx)...)
}

// orderRequests is the gateway form of a batch of planned orders: the requests come
// from one slab and their decimal strings from one buffer (three allocations per
// batch instead of two or three per order).
func orderRequests(batch []raftfsm.OrderIntent) []*gateway.OrderRequest {
	slab := make([]gateway.OrderRequest, len(batch))
	out := make([]*gateway.OrderRequest, len(batch))
	buf := make([]byte, 0, 12*len(batch))
	ends := make([]int, 0, 2*len(batch))
	for i := range batch {
		o := &batch[i]
		buf = o.Qty.AppendTo(buf)
		ends = append(ends, len(buf))
		if o.LimitPrice > 0 {
			buf = o.LimitPrice.AppendTo(buf)
			ends = append(ends, len(buf))
		}
	}
	text := string(buf) // one string; every field is a substring of it
	start, e := 0, 0
	next := func() string {
		s := text[start:ends[e]]
		start = ends[e]
		e++
		return s
	}
	for i := range batch {
		o := &batch[i]
		r := &slab[i]
		*r = gateway.OrderRequest{
			ClientOrderId: o.ClientOrderID,
			Account:       int64(o.Copier),
			Instrument:    o.Instrument,
			Side:          gateway.Side(o.Side),
			PositionSide:  gateway.PositionSide(o.PosSide),
			Qty:           next(),
			OrderType:     gateway.OrderType_MARKET,
			ReduceOnly:    o.ReduceOnly,
			Leverage:      o.Leverage,
			MarginMode:    gateway.MarginMode(o.MarginMode),
		}
		if o.LimitPrice > 0 {
			r.OrderType = gateway.OrderType_IOC_LIMIT
			r.LimitPrice = next()
		}
		out[i] = r
	}
	return out
}

// orderResult converts a gateway report into the machine's result. A report that does
// not parse is an error: the order is then treated as unknown and queried again.
func orderResult(r *gateway.OrderReport) (raftfsm.OrderResult, error) {
	out := raftfsm.OrderResult{ClientOrderID: r.ClientOrderId, VenueTimeUnixNano: max(r.TimeUnixNano, 0)}
	switch r.Status {
	case gateway.OrderStatus_FILLED:
		out.Status = raftfsm.OrderFilled
	case gateway.OrderStatus_PARTIALLY_FILLED:
		out.Status = raftfsm.OrderPartiallyFilled
	case gateway.OrderStatus_REJECTED:
		out.Status = raftfsm.OrderRejected
		out.Reason = r.RejectReason.String()
		if len(out.Reason) > raftfsm.MaxReasonLen {
			out.Reason = out.Reason[:raftfsm.MaxReasonLen]
		}
		return out, nil
	default:
		return out, fmt.Errorf("shard: order %s: gateway status %d", r.ClientOrderId, r.Status)
	}
	var err error
	if out.FilledQty, err = parseDec(r.FilledQty); err != nil {
		return out, fmt.Errorf("shard: order %s: filled_qty: %w", r.ClientOrderId, err)
	}
	if out.AvgPrice, err = parseDec(r.AvgPrice); err != nil {
		return out, fmt.Errorf("shard: order %s: avg_price: %w", r.ClientOrderId, err)
	}
	if out.Fee, err = parseDec(r.Fee); err != nil {
		return out, fmt.Errorf("shard: order %s: fee: %w", r.ClientOrderId, err)
	}
	return out, nil
}

func parseDec(s string) (fixed.Dec, error) {
	if s == "" {
		return 0, nil
	}
	return fixed.Parse(s)
}
