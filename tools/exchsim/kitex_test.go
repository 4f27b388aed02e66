package exchsim

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cloudwego/kitex/pkg/kerrors"

	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway"
	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway/tradinggateway"
)

// serve starts a real Kitex server on a free loopback port and a client for it.
func serve(t testing.TB, s *Sim) (*Server, tradinggateway.Client) {
	t.Helper()
	srv, err := Serve(s, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	cli, err := NewClient(srv.Addr().String())
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return srv, cli
}

func wireOrders(n int, prefix string) []*gateway.OrderRequest {
	out := make([]*gateway.OrderRequest, n)
	for i := range out {
		out[i] = &gateway.OrderRequest{
			ClientOrderId: fmt.Sprintf("%s-%d", prefix, i), Account: int64(1000 + i), Instrument: "ETHUSDT",
			Side: gateway.Side_BUY, PositionSide: gateway.PositionSide_LONG, Qty: "0.01",
			OrderType: gateway.OrderType_MARKET, Leverage: 5, MarginMode: gateway.MarginMode_CROSS,
		}
	}
	return out
}

func wantBizCode(t *testing.T, err error, code int32) {
	t.Helper()
	be, ok := kerrors.FromBizStatusError(err)
	if !ok {
		t.Fatalf("want business status %d, got %v", code, err)
	}
	if be.BizStatusCode() != code {
		t.Fatalf("want business status %d, got %d (%s)", code, be.BizStatusCode(), be.BizMessage())
	}
}

func TestKitexRoundTrip(t *testing.T) {
	s := newSim(t, nil)
	_, cli := serve(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	const n = 500
	orders := wireOrders(n, "rt")
	orders[7].Qty = "0.0105"     // off the lot step: rejected by the venue
	orders[8].Qty = "1e3"        // not a decimal: refused at the edge
	orders[9].LimitPrice = "abc" // likewise
	orders[9].OrderType = gateway.OrderType_IOC_LIMIT
	resp, err := cli.PlaceOrders(ctx, &gateway.PlaceOrdersRequest{Orders: orders})
	if err != nil {
		t.Fatalf("PlaceOrders: %v", err)
	}
	if len(resp.Results) != n {
		t.Fatalf("%d results for %d orders", len(resp.Results), n)
	}
	ids := make([]string, n)
	for i, r := range resp.Results {
		ids[i] = orders[i].ClientOrderId
		if r.ClientOrderId != ids[i] {
			t.Fatalf("result %d is for %s", i, r.ClientOrderId)
		}
		switch i {
		case 7:
			if r.Status != gateway.OrderStatus_REJECTED || r.RejectReason != gateway.RejectReason_QTY_NOT_ON_LOT_STEP {
				t.Fatalf("order 7: %+v", r)
			}
		case 8:
			if r.RejectReason != gateway.RejectReason_INVALID_QTY || r.OrderId != 0 {
				t.Fatalf("order 8: %+v", r)
			}
		case 9:
			if r.RejectReason != gateway.RejectReason_INVALID_PRICE {
				t.Fatalf("order 9: %+v", r)
			}
		default:
			if r.Status != gateway.OrderStatus_FILLED || r.FilledQty != "0.01" || r.AvgPrice != "3000.3" || r.Fee != "0.01500150" && r.Fee != "0.0150015" {
				t.Fatalf("order %d: %+v", i, r)
			}
		}
	}
	// The same batch again: strict mode answers from the record.
	again, err := cli.PlaceOrders(ctx, &gateway.PlaceOrdersRequest{Orders: orders})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range again.Results {
		if i == 8 || i == 9 {
			continue // refused at the edge, never recorded
		}
		if !r.Duplicate || r.OrderId != resp.Results[i].OrderId {
			t.Fatalf("repeat %d: %+v", i, r)
		}
	}
	q, err := cli.QueryOrders(ctx, &gateway.QueryOrdersRequest{ClientOrderIds: append(ids, "unknown")})
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range q.Orders {
		wantFound := i < n && i != 8 && i != 9
		if (l.Status == gateway.LookupStatus_FOUND) != wantFound {
			t.Fatalf("lookup %d: %+v", i, l)
		}
		if wantFound && (l.Order.OrderId != resp.Results[i].OrderId || l.Order.Duplicate) {
			t.Fatalf("lookup %d: %+v vs %+v", i, l.Order, resp.Results[i])
		}
	}
	counts, err := cli.OrderCounts(ctx, &gateway.OrderCountsRequest{ClientOrderIds: ids})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range counts.Counts {
		want := int64(1)
		if i == 8 || i == 9 {
			want = 0
		}
		if c != want {
			t.Fatalf("count %d = %d, want %d", i, c, want)
		}
	}
	st, err := cli.Stats(ctx, &gateway.StatsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if st.OrdersCreated != n-2 || st.OrdersFilled != n-3 || st.DuplicatesReturned != n-2 || st.Mode != "strict" || st.Accounts != n-3 { // order 7 fails before its account is made
		t.Fatalf("stats %+v", st)
	}

	snapResp, err := cli.AccountSnapshot(ctx, &gateway.AccountSnapshotRequest{Account: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(snapResp.Positions) != 1 || snapResp.Positions[0].Qty != "0.01" || snapResp.Positions[0].EntryPrice != "3000.3" {
		t.Fatalf("snapshot %+v", snapResp)
	}
	marks, err := cli.MarkPrices(ctx, &gateway.MarkPricesRequest{Instruments: []string{"ETHUSDT"}})
	if err != nil || len(marks.Marks) != 1 || marks.Marks[0].Price != "3000" {
		t.Fatalf("marks %+v %v", marks, err)
	}
}

func TestKitexErrorsAndAdmin(t *testing.T) {
	s := newSim(t, nil)
	_, cli := serve(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	_, err := cli.PlaceOrders(ctx, &gateway.PlaceOrdersRequest{})
	wantBizCode(t, err, CodeInvalidRequest)
	_, err = cli.PlaceOrders(ctx, &gateway.PlaceOrdersRequest{Orders: wireOrders(DefaultBatchLimit+1, "big")})
	wantBizCode(t, err, CodeBatchTooLarge)
	_, err = cli.AccountSnapshot(ctx, &gateway.AccountSnapshotRequest{Account: 424242})
	wantBizCode(t, err, CodeUnknownAccount)
	_, err = cli.MarkPrices(ctx, &gateway.MarkPricesRequest{Instruments: []string{"NOPE"}})
	wantBizCode(t, err, CodeUnknownInstrument)
	_, err = cli.CreateAccount(ctx, &gateway.CreateAccountRequest{Account: 1, Balance: "x", PositionMode: gateway.PositionMode_HEDGE})
	wantBizCode(t, err, CodeInvalidRequest)

	for _, acct := range []int64{1, 2} {
		r, err := cli.CreateAccount(ctx, &gateway.CreateAccountRequest{Account: acct, Balance: "100", PositionMode: gateway.PositionMode_ONE_WAY})
		if err != nil || !r.Created || r.Snapshot.Balance != "100" || r.Snapshot.PositionMode != gateway.PositionMode_ONE_WAY {
			t.Fatalf("CreateAccount: %+v %v", r, err)
		}
	}
	tr := &gateway.TransferRequest{TransferId: "pay-1", FromAccount: 1, ToAccount: 2, Amount: "25.5", Memo: "weekly"}
	for i := range 2 {
		r, err := cli.Transfer(ctx, tr)
		if err != nil || r.Status != gateway.TransferStatus_TRANSFER_DONE || r.Duplicate != (i == 1) {
			t.Fatalf("transfer %d: %+v %v", i, r, err)
		}
	}
	r, err := cli.Transfer(ctx, &gateway.TransferRequest{TransferId: "pay-2", FromAccount: 1, ToAccount: 2, Amount: "1000"})
	if err != nil || r.RejectReason != gateway.RejectReason_INSUFFICIENT_BALANCE {
		t.Fatalf("insufficient: %+v %v", r, err)
	}
	_, err = cli.Transfer(ctx, &gateway.TransferRequest{TransferId: "pay-3", FromAccount: 1, ToAccount: 1, Amount: "1"})
	wantBizCode(t, err, CodeInvalidRequest)
	tc, err := cli.TransferCounts(ctx, &gateway.TransferCountsRequest{TransferIds: []string{"pay-1", "pay-2"}})
	if err != nil || tc.Counts[0] != 1 || tc.Counts[1] != 0 {
		t.Fatalf("transfer counts %+v %v", tc, err)
	}

	si, err := cli.SetInstrument(ctx, &gateway.SetInstrumentRequest{Instrument: &gateway.Instrument{
		Symbol: "ABCUSDT", LotStep: "1", TickSize: "0.0001", MinQty: "1", MinNotional: "1", MaxLeverage: 20, MarkPrice: "0.5"}})
	if err != nil || !si.Created {
		t.Fatalf("SetInstrument: %+v %v", si, err)
	}
	// An update without a mark keeps the mark.
	si, err = cli.SetInstrument(ctx, &gateway.SetInstrumentRequest{Instrument: &gateway.Instrument{
		Symbol: "ABCUSDT", LotStep: "1", TickSize: "0.0001", MinQty: "2", MinNotional: "1", MaxLeverage: 10}})
	if err != nil || si.Created {
		t.Fatalf("SetInstrument update: %+v %v", si, err)
	}
	if spec, _ := s.Instrument("ABCUSDT"); spec.MarkPrice != d("0.5") || spec.MaxLeverage != 10 {
		t.Fatalf("updated spec %+v", spec)
	}
	_, err = cli.SetInstrument(ctx, &gateway.SetInstrumentRequest{Instrument: &gateway.Instrument{Symbol: "BAD"}})
	wantBizCode(t, err, CodeInvalidRequest)
}

func TestListenAndServe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := ListenAndServe(ctx, testConfig()); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.ListenAddr = ""
	if err := ListenAndServe(ctx, cfg); err == nil {
		t.Fatal("served without an address")
	}
}
