package convert

import (
	"slices"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/raftfsm/fixed"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

func s(d fixed.Dec) string { return d.String() }

// TraderConfigView is the Thrift form of a trader config.
func TraderConfigView(c *raftfsm.TraderConfig) *ct.TraderConfig {
	return &ct.TraderConfig{
		Instruments:       slices.Clone(c.Instruments),
		ProfitShareBps:    c.ProfitShareBps,
		MaxCopiers:        c.MaxCopiers,
		MinCopyAmount:     s(c.MinCopyAmount),
		MaxCopyAmount:     s(c.MaxCopyAmount),
		LiquidationPolicy: ct.LiqPolicy(c.LiquidationPolicy),
		SignalMaxAgeMs:    c.SignalMaxAgeMs,
	}
}

// TraderView is the Thrift form of a trader.
func TraderView(t *raftfsm.TraderView) *ct.Trader {
	out := &ct.Trader{
		Trader: int64(t.ID), Parent: int64(t.Parent), Slot: int32(t.Slot),
		Status: ct.TraderStatus(t.Status), Reason: t.Reason,
		Config:     TraderConfigView(&t.Config),
		ShareBps:   t.ShareBps,
		Positions:  make([]*ct.TraderPosition, len(t.Positions)),
		Equity:     s(t.Equity),
		Followers:  int32(t.Followers),
		Signals:    int64(t.SignalSeq),
		InviteOnly: t.InviteOnly,
		Stats: &ct.TraderStats{
			Days: make([]*ct.DayStat, len(t.Stats.Days)), Wins: t.Stats.Wins, Losses: t.Stats.Losses,
			PeakEquity: s(t.Stats.PeakEquity), MaxDrawdownBps: t.Stats.MaxDrawdownBps,
			CopierPnl: s(t.Stats.CopierPnL),
		},
	}
	for i, p := range t.Positions {
		out.Positions[i] = &ct.TraderPosition{Instrument: p.Instrument, Side: ct.PositionSide(p.Side), Qty: s(p.Qty), AvgEntry: s(p.AvgEntry)}
	}
	for i, d := range t.Stats.Days {
		out.Stats.Days[i] = &ct.DayStat{Day: d.Day, RealizedPnl: s(d.RealizedPnL), Equity: s(d.Equity)}
	}
	return out
}

// FollowSettingsView is the Thrift form of follow settings.
func FollowSettingsView(st *raftfsm.FollowSettings) *ct.FollowSettings {
	return &ct.FollowSettings{
		Mode: ct.CopyMode(st.Mode), FixedMargin: s(st.FixedMargin), Multiplier: s(st.Multiplier),
		Allocation: s(st.Allocation), LeveragePolicy: ct.LeveragePolicy(st.LeveragePolicy),
		Leverage: st.Leverage, MarginPolicy: ct.MarginPolicy(st.MarginPolicy),
		PositionMode: ct.PositionMode(st.PositionMode), AccountMode: ct.AccountMode(st.AccountMode),
		Instruments: slices.Clone(st.Instruments), MaxOrderNotional: s(st.MaxOrderNotional),
		MaxFollowNotional: s(st.MaxFollowNotional), SlippageBps: st.SlippageBps,
		StopLossBps: st.StopLossBps, TakeProfitBps: st.TakeProfitBps,
		LiquidationPolicy: ct.LiqPolicy(st.LiquidationPolicy),
	}
}

// PositionsView is the Thrift form of attributed positions.
func PositionsView(ps []raftfsm.Position) []*ct.Position {
	out := make([]*ct.Position, len(ps))
	for i, p := range ps {
		out[i] = &ct.Position{
			Instrument: p.Instrument, Side: ct.PositionSide(p.Side), Qty: s(p.Qty),
			AvgEntry: s(p.AvgEntry), Margin: s(p.Margin), PendingClose: s(p.PendingClose),
			PendingOpen: s(p.PendingOpen), Leverage: p.Leverage,
		}
	}
	return out
}

// FollowView is the Thrift form of a follow.
func FollowView(f *raftfsm.FollowState) *ct.FollowView {
	return &ct.FollowView{
		Trader: int64(f.Trader), Copier: int64(f.Copier), CopierParent: int64(f.CopierParent),
		Status: ct.FollowStatus(f.Status), StopReason: f.StopReason,
		Settings:  FollowSettingsView(&f.Settings),
		Positions: PositionsView(f.Positions), Detached: PositionsView(f.Detached),
		MarginInUse: s(f.MarginInUse), RealizedPnl: s(f.RealizedPnL), Fees: s(f.Fees),
		PendingOrders: f.Pending,
		Share: &ct.ProfitShare{
			CumNetPnl: s(f.Share.CumNetPnL), Hwm: s(f.Share.HWM),
			Accrued: s(f.Share.Accrued), Settled: s(f.Share.Settled),
		},
		UnrealizedPnl:       s(f.UnrealizedPnL),
		ConsecutiveFailures: f.Failures,
		ClosePolicy:         ct.ClosePolicy(f.ClosePolicy),
	}
}

// OrderView is the Thrift form of a pending order.
func OrderView(o *raftfsm.OrderState) *ct.Order {
	return &ct.Order{
		ClientOrderId: o.ClientOrderID, Copier: int64(o.Copier), Trader: int64(o.Trader),
		Instrument: o.Instrument, Side: ct.Side(o.Side), PositionSide: ct.PositionSide(o.PosSide),
		Qty: s(o.Qty), LimitPrice: s(o.LimitPrice), ReduceOnly: o.ReduceOnly, Leverage: o.Leverage,
		MarginMode: ct.MarginMode(o.MarginMode), AccountMode: ct.AccountMode(o.AccountMode),
		Effect: ct.OrderEffect(o.Effect), AttrSide: ct.PositionSide(o.AttrSide),
		Status: ct.OrderStatus_PENDING, Signal: o.Signal, ReservedMargin: s(o.ReservedMargin),
	}
}

// SettlementView is the Thrift form of a settlement record.
func SettlementView(r *raftfsm.SettlementRecord) *ct.SettlementEntry {
	e := SettlementEntryView(&r.SettlementEntry)
	e.Paid, e.Attempts, e.Reason = r.Paid, r.Attempts, r.Reason
	return e
}

// SettlementEntryView is the Thrift form of a settlement entry created by Settle.
func SettlementEntryView(e *raftfsm.SettlementEntry) *ct.SettlementEntry {
	return &ct.SettlementEntry{
		SettlementId: e.SettlementID, Period: int64(e.Period), Trader: int64(e.Trader),
		Copier: int64(e.Copier), Amount: s(e.Amount),
	}
}
