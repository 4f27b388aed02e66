package convert

import (
	"github.com/copytrade/copytrade/raftfsm"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// Instrument validates an instrument upsert.
func Instrument(req *ct.UpsertInstrumentRequest) (raftfsm.InstrumentUpsert, error) {
	var out raftfsm.InstrumentUpsert
	if req == nil || req.Instrument == nil {
		return out, fieldErr("instrument", "is required")
	}
	in := req.Instrument
	var err error
	if err = symbol("instrument.symbol", in.Symbol); err != nil {
		return out, err
	}
	i := &out.Instrument
	i.Symbol = in.Symbol
	if i.LotStep, err = positive("instrument.lot_step", in.LotStep); err != nil {
		return out, err
	}
	if i.TickSize, err = positive("instrument.tick_size", in.TickSize); err != nil {
		return out, err
	}
	if i.MinQty, err = positive("instrument.min_qty", in.MinQty); err != nil {
		return out, err
	}
	if i.MinQty < i.LotStep {
		return out, fieldErr("instrument.min_qty", "must be >= lot_step (%s), got %s", i.LotStep, i.MinQty)
	}
	if i.MinNotional, err = optNonNegative("instrument.min_notional", in.MinNotional); err != nil {
		return out, err
	}
	if err = intRange("instrument.max_leverage", int64(in.MaxLeverage), 1, raftfsm.MaxLeverage); err != nil {
		return out, err
	}
	i.MaxLeverage = in.MaxLeverage
	if err = intRange("instrument.price_band_bps", in.PriceBandBps, 0, raftfsm.MaxPriceBandBps); err != nil {
		return out, err
	}
	i.PriceBandBps = in.PriceBandBps
	if i.MaxOrderQty, err = optNonNegative("instrument.max_order_qty", in.MaxOrderQty); err != nil {
		return out, err
	}
	if i.MaxOrderQty > 0 && i.MaxOrderQty < i.MinQty {
		return out, fieldErr("instrument.max_order_qty", "must be 0 (none) or >= min_qty (%s), got %s", i.MinQty, i.MaxOrderQty)
	}
	return out, nil
}

// Rules validates eligibility rules.
func Rules(req *ct.SetRulesRequest) (raftfsm.RulesSet, error) {
	var out raftfsm.RulesSet
	if req == nil || req.Rules == nil {
		return out, fieldErr("rules", "is required")
	}
	r := req.Rules
	if err := intRange("rules.min_win_rate_bps", r.MinWinRateBps, 0, MaxBps); err != nil {
		return out, err
	}
	if err := intRange("rules.min_roi_bps", r.MinRoiBps, -MaxAbsROIBps, MaxAbsROIBps); err != nil {
		return out, err
	}
	if err := intRange("rules.min_closed_trades", r.MinClosedTrades, 0, 1<<40); err != nil {
		return out, err
	}
	eq, err := optNonNegative("rules.min_equity", r.MinEquity)
	if err != nil {
		return out, err
	}
	out.Rules = raftfsm.EligibilityRules{
		MinWinRateBps: r.MinWinRateBps, MinROIBps: r.MinRoiBps,
		MinClosedTrades: r.MinClosedTrades, MinEquity: eq,
	}
	return out, nil
}

// TraderConfig validates a trader's config.
func TraderConfig(field string, c *ct.TraderConfig) (raftfsm.TraderConfig, error) {
	var out raftfsm.TraderConfig
	if c == nil {
		return out, fieldErr(field, "is required")
	}
	var err error
	if out.Instruments, err = symbols(field+".instruments", c.Instruments); err != nil {
		return out, err
	}
	if err = intRange(field+".profit_share_bps", c.ProfitShareBps, 0, raftfsm.MaxProfitShareBps); err != nil {
		return out, err
	}
	out.ProfitShareBps = c.ProfitShareBps
	if err = intRange(field+".max_copiers", int64(c.MaxCopiers), 0, raftfsm.MaxCopiersLimit); err != nil {
		return out, err
	}
	out.MaxCopiers = c.MaxCopiers
	if out.MinCopyAmount, err = optNonNegative(field+".min_copy_amount", c.MinCopyAmount); err != nil {
		return out, err
	}
	if out.MaxCopyAmount, err = optNonNegative(field+".max_copy_amount", c.MaxCopyAmount); err != nil {
		return out, err
	}
	if out.MaxCopyAmount > 0 && out.MinCopyAmount > out.MaxCopyAmount {
		return out, fieldErr(field+".min_copy_amount", "must be <= max_copy_amount (%s), got %s", out.MaxCopyAmount, out.MinCopyAmount)
	}
	if err = enum(field+".liquidation_policy", c.LiquidationPolicy, int64(raftfsm.LiqInherit), int64(raftfsm.LiqDetach)); err != nil {
		return out, err
	}
	out.LiquidationPolicy = raftfsm.LiqPolicy(c.LiquidationPolicy)
	if err = intRange(field+".signal_max_age_ms", c.SignalMaxAgeMs, 0, raftfsm.MaxSignalMaxAgeMs); err != nil {
		return out, err
	}
	out.SignalMaxAgeMs = c.SignalMaxAgeMs
	return out, nil
}

// ApplyTrader validates an application to lead.
func ApplyTrader(req *ct.ApplyTraderRequest) (raftfsm.TraderApply, error) {
	var out raftfsm.TraderApply
	if req == nil {
		return out, fieldErr("req", "is required")
	}
	var err error
	if out.Trader, err = account("trader", req.Trader); err != nil {
		return out, err
	}
	if out.Parent, err = optAccount("parent", req.Parent); err != nil {
		return out, err
	}
	if out.Parent == out.Trader {
		return out, fieldErr("parent", "must differ from trader")
	}
	// Without stats the shard leader asks the venue and stamps its answer in before
	// Raft; only an admin may state them (rpc/auth refuses an account that does).
	if StatsStated(req.Stats) {
		if out.Stats, err = ApplicantStats("stats", req.Stats); err != nil {
			return out, err
		}
	}
	out.Config, err = TraderConfig("config", req.Config)
	return out, err
}

// StatsStated reports whether an application states statistics: a Thrift struct field
// is always on the wire, so absent and all-zero (equity "" or "0") both mean "not
// stated: ask the venue".
func StatsStated(s *ct.ApplicantStats) bool {
	return s != nil && (s.WinRateBps != 0 || s.RoiBps != 0 || s.ClosedTrades != 0 || s.Equity != "" && s.Equity != "0")
}

// ApplicantStats validates an applicant's statistics (field names the struct, e.g.
// "stats"): from an admin's request or from the venue's ApplicantStats answer.
func ApplicantStats(field string, s *ct.ApplicantStats) (raftfsm.ApplicantStats, error) {
	var out raftfsm.ApplicantStats
	if s == nil {
		return out, fieldErr(field, "is required")
	}
	var err error
	if err = intRange(field+".win_rate_bps", s.WinRateBps, 0, MaxBps); err != nil {
		return out, err
	}
	if err = intRange(field+".roi_bps", s.RoiBps, -MaxAbsROIBps, MaxAbsROIBps); err != nil {
		return out, err
	}
	if err = intRange(field+".closed_trades", s.ClosedTrades, 0, 1<<40); err != nil {
		return out, err
	}
	out = raftfsm.ApplicantStats{WinRateBps: s.WinRateBps, ROIBps: s.RoiBps, ClosedTrades: s.ClosedTrades}
	if out.Equity, err = optNonNegative(field+".equity", s.Equity); err != nil {
		return out, err
	}
	return out, nil
}

// UpdateTrader validates a config change.
func UpdateTrader(req *ct.UpdateTraderRequest) (raftfsm.TraderUpdate, error) {
	var out raftfsm.TraderUpdate
	if req == nil {
		return out, fieldErr("req", "is required")
	}
	var err error
	if out.Trader, err = account("trader", req.Trader); err != nil {
		return out, err
	}
	out.Config, err = TraderConfig("config", req.Config)
	return out, err
}

// TraderID validates the trader of a pause or resume.
func TraderID(v int64) (raftfsm.AccountID, error) { return account("trader", v) }

// ExitTrader validates an exit.
func ExitTrader(req *ct.ExitTraderRequest) (raftfsm.TraderExit, error) {
	var out raftfsm.TraderExit
	if req == nil {
		return out, fieldErr("req", "is required")
	}
	var err error
	if out.Trader, err = account("trader", req.Trader); err != nil {
		return out, err
	}
	if err = enum("policy", req.Policy, int64(raftfsm.LiqInherit), int64(raftfsm.LiqDetach)); err != nil {
		return out, err
	}
	out.Policy = raftfsm.LiqPolicy(req.Policy)
	if err = Wait("wait", req.Wait); err != nil {
		return out, err
	}
	return out, TimeoutMs("timeout_ms", req.TimeoutMs)
}

// FollowSettings validates a copier's settings for one trader.
func FollowSettings(field string, s *ct.FollowSettings) (raftfsm.FollowSettings, error) {
	var out raftfsm.FollowSettings
	if s == nil {
		return out, fieldErr(field, "is required")
	}
	var err error
	if err = enum(field+".mode", s.Mode, int64(raftfsm.FixedAmount), int64(raftfsm.Proportional)); err != nil {
		return out, err
	}
	out.Mode = raftfsm.CopyMode(s.Mode)
	if out.Mode == raftfsm.FixedAmount {
		out.FixedMargin, err = positive(field+".fixed_margin", s.FixedMargin)
	} else {
		out.FixedMargin, err = optNonNegative(field+".fixed_margin", s.FixedMargin)
	}
	if err != nil {
		return out, err
	}
	if out.Mode == raftfsm.Multiplier {
		out.Multiplier, err = positive(field+".multiplier", s.Multiplier)
	} else {
		out.Multiplier, err = optNonNegative(field+".multiplier", s.Multiplier)
	}
	if err != nil {
		return out, err
	}
	if out.Allocation, err = positive(field+".allocation", s.Allocation); err != nil {
		return out, err
	}
	if err = enum(field+".leverage_policy", s.LeveragePolicy, int64(raftfsm.LeverageFollowTrader), int64(raftfsm.LeverageFixed)); err != nil {
		return out, err
	}
	out.LeveragePolicy = raftfsm.LeveragePolicy(s.LeveragePolicy)
	lo := int64(0)
	if out.LeveragePolicy == raftfsm.LeverageFixed {
		lo = 1
	}
	if err = intRange(field+".leverage", int64(s.Leverage), lo, raftfsm.MaxLeverage); err != nil {
		return out, err
	}
	out.Leverage = s.Leverage
	if err = enum(field+".margin_policy", s.MarginPolicy, int64(raftfsm.MarginFollowTrader), int64(raftfsm.MarginForceIsolated)); err != nil {
		return out, err
	}
	out.MarginPolicy = raftfsm.MarginPolicy(s.MarginPolicy)
	if err = enum(field+".position_mode", s.PositionMode, int64(raftfsm.Hedge), int64(raftfsm.OneWay)); err != nil {
		return out, err
	}
	out.PositionMode = raftfsm.PositionMode(s.PositionMode)
	if err = enum(field+".account_mode", s.AccountMode, int64(raftfsm.AccountModeDefault), int64(raftfsm.AccountModePortfolio)); err != nil {
		return out, err
	}
	out.AccountMode = raftfsm.AccountMode(s.AccountMode)
	if out.Instruments, err = symbols(field+".instruments", s.Instruments); err != nil {
		return out, err
	}
	if out.MaxOrderNotional, err = optNonNegative(field+".max_order_notional", s.MaxOrderNotional); err != nil {
		return out, err
	}
	if out.MaxFollowNotional, err = optNonNegative(field+".max_follow_notional", s.MaxFollowNotional); err != nil {
		return out, err
	}
	if err = intRange(field+".slippage_bps", s.SlippageBps, 0, MaxBps); err != nil {
		return out, err
	}
	out.SlippageBps = s.SlippageBps
	if err = intRange(field+".stop_loss_bps", s.StopLossBps, 0, MaxBps); err != nil {
		return out, err
	}
	out.StopLossBps = s.StopLossBps
	if err = intRange(field+".take_profit_bps", s.TakeProfitBps, 0, MaxTakeProfitBps); err != nil {
		return out, err
	}
	out.TakeProfitBps = s.TakeProfitBps
	if err = enum(field+".liquidation_policy", s.LiquidationPolicy, int64(raftfsm.LiqInherit), int64(raftfsm.LiqDetach)); err != nil {
		return out, err
	}
	out.LiquidationPolicy = raftfsm.LiqPolicy(s.LiquidationPolicy)
	return out, nil
}

// pair validates a (trader, copier) pair; an account never follows itself.
func pair(trader, copier int64) (t, c raftfsm.AccountID, err error) {
	if t, err = account("trader", trader); err != nil {
		return
	}
	if c, err = account("copier", copier); err != nil {
		return
	}
	if t == c {
		err = fieldErr("copier", "must differ from trader")
	}
	return
}

// Follow validates a new follow.
func Follow(req *ct.FollowRequest) (raftfsm.Follow, error) {
	var out raftfsm.Follow
	if req == nil {
		return out, fieldErr("req", "is required")
	}
	var err error
	if out.Trader, out.Copier, err = pair(req.Trader, req.Copier); err != nil {
		return out, err
	}
	if out.CopierParent, err = optAccount("copier_parent", req.CopierParent); err != nil {
		return out, err
	}
	out.Settings, err = FollowSettings("settings", req.Settings)
	return out, err
}

// UpdateFollow validates a settings change.
func UpdateFollow(req *ct.UpdateFollowRequest) (raftfsm.FollowUpdate, error) {
	var out raftfsm.FollowUpdate
	if req == nil {
		return out, fieldErr("req", "is required")
	}
	var err error
	if out.Trader, out.Copier, err = pair(req.Trader, req.Copier); err != nil {
		return out, err
	}
	out.Settings, err = FollowSettings("settings", req.Settings)
	return out, err
}

// FollowPause validates a pause.
func FollowPause(trader, copier int64) (raftfsm.FollowPause, error) {
	t, c, err := pair(trader, copier)
	return raftfsm.FollowPause{Copier: c, Trader: t}, err
}

// FollowResume validates a resume.
func FollowResume(trader, copier int64) (raftfsm.FollowResume, error) {
	t, c, err := pair(trader, copier)
	return raftfsm.FollowResume{Copier: c, Trader: t}, err
}

// Unfollow validates an unfollow.
func Unfollow(req *ct.UnfollowRequest) (raftfsm.Unfollow, error) {
	var out raftfsm.Unfollow
	if req == nil {
		return out, fieldErr("req", "is required")
	}
	var err error
	if out.Trader, out.Copier, err = pair(req.Trader, req.Copier); err != nil {
		return out, err
	}
	out.ClosePositions = req.ClosePositions
	if err = Wait("wait", req.Wait); err != nil {
		return out, err
	}
	return out, TimeoutMs("timeout_ms", req.TimeoutMs)
}

// Settle validates a settle request.
func Settle(req *ct.SettleRequest) (raftfsm.Settle, error) {
	if req == nil || req.Period <= 0 {
		var p int64
		if req != nil {
			p = req.Period
		}
		return raftfsm.Settle{}, fieldErr("period", "must be > 0, got %d", p)
	}
	return raftfsm.Settle{Period: uint64(req.Period)}, nil
}
