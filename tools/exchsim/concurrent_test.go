package exchsim

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentBatches runs overlapping batches on shared accounts from several
// goroutines, with IDs repeated across goroutines, transfers and queries alongside,
// then checks exactly-once counts and the account invariants. Run it with -race.
func TestConcurrentBatches(t *testing.T) {
	for _, mode := range []Mode{Strict, NoDedup} {
		t.Run(mode.String(), func(t *testing.T) {
			s := newSim(t, func(c *Config) { c.Mode, c.PartialFillEveryN = mode, 7 })
			const workers, rounds, perBatch, accounts = 6, 20, 100, 40
			ctx := context.Background()
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for r := range rounds {
						batch := make([]Order, perBatch)
						for i := range batch {
							side, ps := Buy, Long
							if (i+r)%3 == 0 {
								side = Sell
							}
							if i%2 == 0 {
								ps = Short
							}
							batch[i] = Order{
								// Workers w and w^1 send the same IDs.
								ClientOrderID: fmt.Sprintf("c-%d-%d-%d", w/2, r, i), Account: int64(i % accounts),
								Instrument: "ETHUSDT", Side: side, PositionSide: ps, Qty: d("0.01"),
								Type: Market, Leverage: 5, MarginMode: Cross,
							}
						}
						if _, err := s.PlaceOrders(ctx, batch); err != nil {
							t.Error(err)
							return
						}
						if _, err := s.QueryOrders(ctx, []string{batch[0].ClientOrderID}); err != nil {
							t.Error(err)
						}
						if _, err := s.Transfer(Transfer{ID: fmt.Sprintf("tr-%d", r), From: int64(r % accounts),
							To: int64((r + 1) % accounts), Amount: d("1")}); err != nil {
							t.Error(err)
						}
						s.StepMarks(1)
					}
				})
			}
			wg.Wait()
			want := int64(1)
			if mode == NoDedup {
				want = 2
			}
			for p := range workers / 2 {
				for r := range rounds {
					for i := range perBatch {
						if n := s.OrderCount(fmt.Sprintf("c-%d-%d-%d", p, r, i)); n != want {
							t.Fatalf("OrderCount = %d, want %d", n, want)
						}
					}
				}
			}
			st := s.Stats()
			if st.OrdersCreated != int64(workers*rounds*perBatch)*want/2 {
				t.Fatalf("stats %+v", st)
			}
			if err := s.checkInvariants(); err != nil {
				t.Fatal(err)
			}
			for r := range rounds {
				if s.TransferCount(fmt.Sprintf("tr-%d", r)) != 1 {
					t.Fatalf("transfer tr-%d executed %d times", r, s.TransferCount(fmt.Sprintf("tr-%d", r)))
				}
			}
		})
	}
}
