package exchsim

import (
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/bytedance/sonic"
	"github.com/copytrade/copytrade/raftfsm/fixed"
	"github.com/google/renameio/v2"
)

// The venue's state on disk (Config.StateFile): instruments with their marks,
// accounts with positions, every order record (result and placement count), every
// transfer, and the ID counters. A restarted venue answers QueryOrders, OrderCount,
// AccountSnapshot and repeated transfers exactly as before the restart. Not kept: the
// random walks' generator state (a restarted walk continues from the saved mark with a
// fresh generator) and orders still executing when Save runs.

const stateVersion = 1

type savedState struct {
	Version     int
	NextOrderID int64
	NextTradeID int64
	LeadSeq     int64
	Executed    int64
	Instruments []savedInstrument
	Accounts    []savedAccount
	Orders      []savedOrder
	Transfers   []savedTransfer
}

type savedInstrument struct {
	Spec     InstrumentSpec
	MarkTime int64
	TradeSeq int64
}

type savedAccount struct {
	ID                                 int64
	Mode                               PositionMode
	Balance, MarginUsed, Realized, Fee fixed.Dec
	Positions                          []savedPosition
}

type savedPosition struct {
	Instrument         string
	Side               PositionSide
	Qty, Entry, Margin fixed.Dec
	Leverage           int32
	MarginMode         MarginMode
}

type savedOrder struct {
	Count  uint32
	Result OrderResult
}

type savedTransfer struct {
	Count  int64
	Result TransferResult
}

// Save writes the venue's state to Config.StateFile atomically (a temporary file
// renamed over it). It may run while the venue serves: each account and order shard
// is read under its own lock.
func (s *Sim) Save() error {
	if s.cfg.StateFile == "" {
		return fmt.Errorf("%w: no StateFile configured", ErrInvalidArgument)
	}
	st := savedState{
		Version: stateVersion, NextOrderID: s.nextOrderID.Load(), NextTradeID: s.nextTradeID.Load(),
		LeadSeq: s.leadSeq.Load(), Executed: s.executed.Load(),
	}
	for _, in := range s.instruments.Load().byIndex {
		spec := *in.spec.Load()
		m := in.mark.Load()
		spec.MarkPrice = m.price
		st.Instruments = append(st.Instruments, savedInstrument{Spec: spec, MarkTime: m.time, TradeSeq: in.tradeSeq.Load()})
	}
	for i := range s.accounts {
		sh := &s.accounts[i]
		sh.mu.RLock()
		for _, a := range sh.m {
			a.mu.Lock()
			sa := savedAccount{ID: a.id, Mode: a.mode, Balance: a.balance, MarginUsed: a.marginUsed, Realized: a.realized, Fee: a.fees}
			for k, p := range a.positions {
				sa.Positions = append(sa.Positions, savedPosition{Instrument: k.instrument, Side: k.side,
					Qty: p.qty, Entry: p.entry, Margin: p.margin, Leverage: p.leverage, MarginMode: p.marginMode})
			}
			a.mu.Unlock()
			sort.Slice(sa.Positions, func(i, j int) bool {
				x, y := sa.Positions[i], sa.Positions[j]
				return x.Instrument < y.Instrument || (x.Instrument == y.Instrument && x.Side < y.Side)
			})
			st.Accounts = append(st.Accounts, sa)
		}
		sh.mu.RUnlock()
	}
	sort.Slice(st.Accounts, func(i, j int) bool { return st.Accounts[i].ID < st.Accounts[j].ID })
	for i := range s.orders {
		sh := &s.orders[i]
		sh.mu.Lock()
		for n := 0; n < sh.nrecs; n++ {
			r := sh.rec(n)
			if r.pending {
				continue
			}
			id := string(sh.ids[r.idOff/idChunk][r.idOff%idChunk:][:r.idLen])
			st.Orders = append(st.Orders, savedOrder{Count: r.count, Result: s.result(sh, n, id)})
		}
		sh.mu.Unlock()
	}
	sort.Slice(st.Orders, func(i, j int) bool { return st.Orders[i].Result.OrderID < st.Orders[j].Result.OrderID })
	s.transfers.mu.Lock()
	for _, e := range s.transfers.m {
		st.Transfers = append(st.Transfers, savedTransfer{Count: e.count, Result: e.result})
	}
	s.transfers.mu.Unlock()
	sort.Slice(st.Transfers, func(i, j int) bool { return st.Transfers[i].Result.ID < st.Transfers[j].Result.ID })

	data, err := sonic.Marshal(&st)
	if err != nil {
		return fmt.Errorf("exchsim: encode state: %w", err)
	}
	if err := renameio.WriteFile(s.cfg.StateFile, data, 0o600); err != nil {
		return fmt.Errorf("exchsim: save state: %w", err)
	}
	s.log.Info("venue state saved", "file", s.cfg.StateFile, "accounts", len(st.Accounts), "orders", len(st.Orders), "transfers", len(st.Transfers))
	return nil
}

// load restores a state file written by Save; a missing file is a first start.
func (s *Sim) load(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("exchsim: load state: %w", err)
	}
	var st savedState
	if err := sonic.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("exchsim: load state %s: %w", path, err)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("%w: state file %s has version %d, want %d", ErrInvalidConfig, path, st.Version, stateVersion)
	}
	for _, si := range st.Instruments {
		if _, err := s.SetInstrument(si.Spec); err != nil {
			return fmt.Errorf("exchsim: load state: %w", err)
		}
		in := s.instrument(si.Spec.Symbol)
		in.setMark(si.Spec.MarkPrice, si.MarkTime)
		in.tradeSeq.Store(si.TradeSeq)
	}
	for _, sa := range st.Accounts {
		a, _ := s.createAccount(sa.ID, sa.Balance, sa.Mode)
		a.marginUsed, a.realized, a.fees = sa.MarginUsed, sa.Realized, sa.Fee
		for _, p := range sa.Positions {
			a.positions[posKey{p.Instrument, p.Side}] = &position{qty: p.Qty, entry: p.Entry, margin: p.Margin,
				leverage: p.Leverage, marginMode: p.MarginMode}
		}
	}
	for i := range st.Orders {
		o := &st.Orders[i]
		sh, h := s.orderShardFor(o.Result.ClientOrderID)
		sh.mu.Lock()
		n, _ := sh.findOrInsert(h, o.Result.ClientOrderID)
		sh.rec(n).count = o.Count
		sh.mu.Unlock()
		s.complete(sh, n, &o.Result)
		switch o.Result.Status {
		case Filled:
			s.nFilled.Add(1)
		case PartiallyFilled:
			s.nPartial.Add(1)
		case Rejected:
			s.nRejected.Add(1)
		}
	}
	for _, t := range st.Transfers {
		s.transfers.m[t.Result.ID] = &transferEntry{result: t.Result, count: t.Count}
		s.nTransfers.Add(1)
	}
	s.nextOrderID.Store(st.NextOrderID)
	s.nextTradeID.Store(st.NextTradeID)
	s.leadSeq.Store(st.LeadSeq)
	s.executed.Store(st.Executed)
	s.log.Info("venue state loaded", "file", path, "accounts", len(st.Accounts), "orders", len(st.Orders), "transfers", len(st.Transfers))
	return nil
}
