package raftfsm

import (
	"fmt"
	"strings"
)

// Per-command bodies of the log codec (layout in codec.go). Each command has
// an append function and a read function; both follow the struct's field
// declaration order. Adding a field to a command changes the log format:
// it needs a new LogVersion (see LogVersion for what older versions read).

// encodeBody appends cmd's body and returns its op. Values and pointers
// are both accepted; a nil pointer encodes the zero value.
func encodeBody(e *encoder, cmd Command) Op {
	switch c := cmd.(type) {
	case Noop, *Noop:
		return OpNoop
	case Bootstrap:
		e.bootstrap(&c)
		return OpBootstrap
	case *Bootstrap:
		e.bootstrap(orZero(c))
		return OpBootstrap
	case InstrumentUpsert:
		e.instrument(&c.Instrument)
		return OpInstrumentUpsert
	case *InstrumentUpsert:
		e.instrument(&orZero(c).Instrument)
		return OpInstrumentUpsert
	case RulesSet:
		e.rules(&c.Rules)
		return OpRulesSet
	case *RulesSet:
		e.rules(&orZero(c).Rules)
		return OpRulesSet
	case TraderApply:
		e.traderApply(&c)
		return OpTraderApply
	case *TraderApply:
		e.traderApply(orZero(c))
		return OpTraderApply
	case TraderUpdate:
		e.account(c.Trader)
		e.traderConfig(&c.Config)
		return OpTraderUpdate
	case *TraderUpdate:
		c = orZero(c)
		e.account(c.Trader)
		e.traderConfig(&c.Config)
		return OpTraderUpdate
	case TraderPause:
		e.account(c.Trader)
		return OpTraderPause
	case *TraderPause:
		e.account(orZero(c).Trader)
		return OpTraderPause
	case TraderResume:
		e.account(c.Trader)
		return OpTraderResume
	case *TraderResume:
		e.account(orZero(c).Trader)
		return OpTraderResume
	case TraderExit:
		e.account(c.Trader)
		e.u8(uint8(c.Policy))
		return OpTraderExit
	case *TraderExit:
		c = orZero(c)
		e.account(c.Trader)
		e.u8(uint8(c.Policy))
		return OpTraderExit
	case Follow:
		e.follow(&c)
		return OpFollow
	case *Follow:
		e.follow(orZero(c))
		return OpFollow
	case FollowUpdate:
		e.followUpdate(&c)
		return OpFollowUpdate
	case *FollowUpdate:
		e.followUpdate(orZero(c))
		return OpFollowUpdate
	case FollowPause:
		e.account(c.Copier)
		e.account(c.Trader)
		return OpFollowPause
	case *FollowPause:
		c = orZero(c)
		e.account(c.Copier)
		e.account(c.Trader)
		return OpFollowPause
	case FollowResume:
		e.account(c.Copier)
		e.account(c.Trader)
		return OpFollowResume
	case *FollowResume:
		c = orZero(c)
		e.account(c.Copier)
		e.account(c.Trader)
		return OpFollowResume
	case Unfollow:
		e.unfollow(&c)
		return OpUnfollow
	case *Unfollow:
		e.unfollow(orZero(c))
		return OpUnfollow
	case TradeFill:
		e.tradeFill(&c)
		return OpTradeFill
	case *TradeFill:
		e.tradeFill(orZero(c))
		return OpTradeFill
	case OrderResults:
		e.orderResults(&c)
		return OpOrderResults
	case *OrderResults:
		e.orderResults(orZero(c))
		return OpOrderResults
	case MarkPrices:
		e.markPrices(&c)
		return OpMarkPrices
	case *MarkPrices:
		e.markPrices(orZero(c))
		return OpMarkPrices
	case Settle:
		e.uvarint(c.Period)
		return OpSettle
	case *Settle:
		e.uvarint(orZero(c).Period)
		return OpSettle
	case SettlementPaid:
		e.settlementPaid(&c)
		return OpSettlementPaid
	case *SettlementPaid:
		e.settlementPaid(orZero(c))
		return OpSettlementPaid
	case SlotFreeze:
		e.slotFreeze(&c)
		return OpSlotFreeze
	case *SlotFreeze:
		e.slotFreeze(orZero(c))
		return OpSlotFreeze
	case SlotExport:
		e.uvarint(uint64(c.Migration))
		return OpSlotExport
	case *SlotExport:
		e.uvarint(uint64(orZero(c).Migration))
		return OpSlotExport
	case SlotImport:
		e.slotImport(&c)
		return OpSlotImport
	case *SlotImport:
		e.slotImport(orZero(c))
		return OpSlotImport
	case SlotRelease:
		e.uvarint(uint64(c.Migration))
		return OpSlotRelease
	case *SlotRelease:
		e.uvarint(uint64(orZero(c).Migration))
		return OpSlotRelease
	case SlotAbort:
		e.uvarint(uint64(c.Migration))
		return OpSlotAbort
	case *SlotAbort:
		e.uvarint(uint64(orZero(c).Migration))
		return OpSlotAbort
	case SlotUnfreeze:
		e.uvarint(uint64(c.Migration))
		return OpSlotUnfreeze
	case *SlotUnfreeze:
		e.uvarint(uint64(orZero(c).Migration))
		return OpSlotUnfreeze
	case OrderResolve:
		e.orderResults(&OrderResults{Results: []OrderResult{c.Result}})
		return OpOrderResolve
	case *OrderResolve:
		e.orderResults(&OrderResults{Results: []OrderResult{orZero(c).Result}})
		return OpOrderResolve
	case MemberUpdate:
		e.memberUpdate(&c)
		return OpMemberUpdate
	case *MemberUpdate:
		e.memberUpdate(orZero(c))
		return OpMemberUpdate
	case ActivityConfig:
		e.activityConfig(&c)
		return OpActivityConfig
	case *ActivityConfig:
		e.activityConfig(orZero(c))
		return OpActivityConfig
	case FollowEx:
		e.followEx(&c)
		return OpFollowEx
	case *FollowEx:
		e.followEx(orZero(c))
		return OpFollowEx
	case TraderInvite:
		e.traderInvite(&c)
		return OpTraderInvite
	case *TraderInvite:
		e.traderInvite(orZero(c))
		return OpTraderInvite
	case OrderResultsTimed:
		e.orderResultsTimed(&c)
		return OpOrderResultsTimed
	case *OrderResultsTimed:
		e.orderResultsTimed(orZero(c))
		return OpOrderResultsTimed
	case FollowClosePolicy:
		e.followClosePolicy(&c)
		return OpFollowClosePolicy
	case *FollowClosePolicy:
		e.followClosePolicy(orZero(c))
		return OpFollowClosePolicy
	default:
		panic(fmt.Sprintf("raftfsm: Encode of unsupported command type %T", cmd))
	}
}

// orZero returns p, or a pointer to a zero T when p is nil.
func orZero[T any](p *T) *T {
	if p == nil {
		return new(T)
	}
	return p
}

// sizeHint is an upper bound of cmd's encoding for the common commands, so
// Encode allocates its output once; a low guess only costs a regrowth.
func sizeHint(cmd Command) int {
	const header = 1 + 1 + 10
	switch c := cmd.(type) {
	case *OrderResults:
		if c != nil {
			return header + 10 + len(c.Results)*(2*10+36+MaxReasonLen/8+34)
		}
	case OrderResults:
		return header + 10 + len(c.Results)*(2*10+36+MaxReasonLen/8+34)
	case *MarkPrices:
		if c != nil {
			return header + 10 + len(c.Prices)*(1+MaxSymbolLen+10)
		}
	case MarkPrices:
		return header + 10 + len(c.Prices)*(1+MaxSymbolLen+10)
	case *SlotImport:
		if c != nil {
			return header + 64 + len(c.Slots)*3 + len(c.Data)
		}
	case SlotImport:
		return header + 64 + len(c.Slots)*3 + len(c.Data)
	}
	return 256 // every fixed-shape command (TradeFill <= 256 bytes)
}

// decodeBody reads the body of op (a valid op).
func decodeBody(d *decoder, op Op) Command {
	switch op {
	case OpNoop:
		return &Noop{}
	case OpBootstrap:
		c := &Bootstrap{Group: GroupID(d.uint32("Group"))}
		if n := d.count("Slots", NumSlots, 2); n > 0 {
			c.Slots = make([]SlotRange, n)
			for i := range c.Slots {
				c.Slots[i] = SlotRange{From: d.uint16("Slots.From"), To: d.uint16("Slots.To")}
			}
		}
		c.Epoch = d.uvarint("Epoch")
		return c
	case OpInstrumentUpsert:
		c := &InstrumentUpsert{}
		d.instrument(&c.Instrument)
		return c
	case OpRulesSet:
		c := &RulesSet{}
		d.rules(&c.Rules)
		return c
	case OpTraderApply:
		c := &TraderApply{Trader: d.account("Trader"), Parent: d.account("Parent")}
		c.Stats = ApplicantStats{
			WinRateBps:   d.varint("Stats.WinRateBps"),
			ROIBps:       d.varint("Stats.ROIBps"),
			ClosedTrades: d.varint("Stats.ClosedTrades"),
			Equity:       d.dec("Stats.Equity"),
		}
		d.traderConfig(&c.Config)
		return c
	case OpTraderUpdate:
		c := &TraderUpdate{Trader: d.account("Trader")}
		d.traderConfig(&c.Config)
		return c
	case OpTraderPause:
		return &TraderPause{Trader: d.account("Trader")}
	case OpTraderResume:
		return &TraderResume{Trader: d.account("Trader")}
	case OpTraderExit:
		return &TraderExit{Trader: d.account("Trader"), Policy: LiqPolicy(d.u8("Policy"))}
	case OpFollow:
		c := &Follow{Copier: d.account("Copier"), CopierParent: d.account("CopierParent"), Trader: d.account("Trader")}
		d.followSettings(&c.Settings)
		return c
	case OpFollowUpdate:
		c := &FollowUpdate{Copier: d.account("Copier"), Trader: d.account("Trader")}
		d.followSettings(&c.Settings)
		return c
	case OpFollowPause:
		return &FollowPause{Copier: d.account("Copier"), Trader: d.account("Trader")}
	case OpFollowResume:
		return &FollowResume{Copier: d.account("Copier"), Trader: d.account("Trader")}
	case OpUnfollow:
		return &Unfollow{Copier: d.account("Copier"), Trader: d.account("Trader"), ClosePositions: d.bool("ClosePositions")}
	case OpTradeFill:
		return d.tradeFill()
	case OpOrderResults:
		return d.orderResults()
	case OpMarkPrices:
		c := &MarkPrices{}
		if n := d.count("Prices", MaxBatch, 2); n > 0 {
			c.Prices = make([]MarkPrice, n)
			for i := range c.Prices {
				c.Prices[i] = MarkPrice{Instrument: d.str("Prices.Instrument", MaxSymbolLen), Price: d.dec("Prices.Price")}
			}
		}
		return c
	case OpSettle:
		return &Settle{Period: d.uvarint("Period")}
	case OpSettlementPaid:
		c := &SettlementPaid{}
		if n := d.count("Outcomes", MaxBatch, 3); n > 0 {
			c.Outcomes = make([]SettlementOutcome, n)
			for i := range c.Outcomes {
				c.Outcomes[i] = SettlementOutcome{
					SettlementID: d.str("Outcomes.SettlementID", maxSettlementIDLen),
					Paid:         d.bool("Outcomes.Paid"),
					Reason:       d.str("Outcomes.Reason", MaxReasonLen),
				}
			}
		}
		return c
	case OpSlotFreeze:
		return &SlotFreeze{
			Migration: MigrationID(d.uvarint("Migration")),
			Slots:     d.u16s("Slots", NumSlots),
			Target:    GroupID(d.uint32("Target")),
			Epoch:     d.uvarint("Epoch"),
		}
	case OpSlotExport:
		return &SlotExport{Migration: MigrationID(d.uvarint("Migration"))}
	case OpSlotImport:
		return &SlotImport{
			Migration: MigrationID(d.uvarint("Migration")),
			Source:    GroupID(d.uint32("Source")),
			Slots:     d.u16s("Slots", NumSlots),
			Epoch:     d.uvarint("Epoch"),
			Data:      d.bytes("Data", d.remaining()),
			Checksum:  d.uvarint("Checksum"),
		}
	case OpSlotRelease:
		return &SlotRelease{Migration: MigrationID(d.uvarint("Migration"))}
	case OpSlotAbort:
		return &SlotAbort{Migration: MigrationID(d.uvarint("Migration"))}
	case OpSlotUnfreeze:
		return &SlotUnfreeze{Migration: MigrationID(d.uvarint("Migration"))}
	case OpOrderResolve:
		rs := d.orderResults()
		if d.err == nil && len(rs.Results) != 1 {
			d.fail("Result", "want exactly one result")
			return nil
		}
		if d.err != nil {
			return nil
		}
		r := rs.Results[0]
		r.ClientOrderID = strings.Clone(r.ClientOrderID) // not a substring of the entry
		return &OrderResolve{Result: r}
	case OpMemberUpdate:
		return d.memberUpdate()
	case OpActivityConfig:
		return d.activityConfig()
	case OpFollowEx:
		return d.followEx()
	case OpTraderInvite:
		return d.traderInvite()
	case OpOrderResultsTimed:
		return d.orderResultsTimed()
	case OpFollowClosePolicy:
		return d.followClosePolicy()
	}
	d.fail("Op", "no body reader") // unreachable: Decode checked op against opNames
	return nil
}

func (e *encoder) account(a AccountID) { e.varint(int64(a)) }

func (e *encoder) bootstrap(c *Bootstrap) {
	e.uvarint(uint64(c.Group))
	e.uvarint(uint64(len(c.Slots)))
	for _, r := range c.Slots {
		e.uvarint(uint64(r.From))
		e.uvarint(uint64(r.To))
	}
	e.uvarint(c.Epoch)
}

func (e *encoder) instrument(in *Instrument) {
	e.str(in.Symbol)
	e.dec(in.LotStep)
	e.dec(in.TickSize)
	e.dec(in.MinQty)
	e.dec(in.MinNotional)
	e.varint(int64(in.MaxLeverage))
	e.varint(in.PriceBandBps)
	e.dec(in.MaxOrderQty)
}

func (d *decoder) instrument(in *Instrument) {
	in.Symbol = d.str("Instrument.Symbol", MaxSymbolLen)
	in.LotStep = d.dec("Instrument.LotStep")
	in.TickSize = d.dec("Instrument.TickSize")
	in.MinQty = d.dec("Instrument.MinQty")
	in.MinNotional = d.dec("Instrument.MinNotional")
	in.MaxLeverage = d.int32("Instrument.MaxLeverage")
	in.PriceBandBps = d.varint("Instrument.PriceBandBps")
	in.MaxOrderQty = d.dec("Instrument.MaxOrderQty")
}

func (e *encoder) rules(r *EligibilityRules) {
	e.varint(r.MinWinRateBps)
	e.varint(r.MinROIBps)
	e.varint(r.MinClosedTrades)
	e.dec(r.MinEquity)
}

func (d *decoder) rules(r *EligibilityRules) {
	r.MinWinRateBps = d.varint("Rules.MinWinRateBps")
	r.MinROIBps = d.varint("Rules.MinROIBps")
	r.MinClosedTrades = d.varint("Rules.MinClosedTrades")
	r.MinEquity = d.dec("Rules.MinEquity")
}

func (e *encoder) traderApply(c *TraderApply) {
	e.account(c.Trader)
	e.account(c.Parent)
	e.varint(c.Stats.WinRateBps)
	e.varint(c.Stats.ROIBps)
	e.varint(c.Stats.ClosedTrades)
	e.dec(c.Stats.Equity)
	e.traderConfig(&c.Config)
}

func (e *encoder) traderConfig(c *TraderConfig) {
	e.strs(c.Instruments)
	e.varint(c.ProfitShareBps)
	e.varint(int64(c.MaxCopiers))
	e.dec(c.MinCopyAmount)
	e.dec(c.MaxCopyAmount)
	e.u8(uint8(c.LiquidationPolicy))
	e.varint(c.SignalMaxAgeMs)
}

func (d *decoder) traderConfig(c *TraderConfig) {
	c.Instruments = d.strs("Config.Instruments", MaxInstrumentsLed, MaxSymbolLen)
	c.ProfitShareBps = d.varint("Config.ProfitShareBps")
	c.MaxCopiers = d.int32("Config.MaxCopiers")
	c.MinCopyAmount = d.dec("Config.MinCopyAmount")
	c.MaxCopyAmount = d.dec("Config.MaxCopyAmount")
	c.LiquidationPolicy = LiqPolicy(d.u8("Config.LiquidationPolicy"))
	c.SignalMaxAgeMs = d.varint("Config.SignalMaxAgeMs")
}

func (e *encoder) follow(c *Follow) {
	e.account(c.Copier)
	e.account(c.CopierParent)
	e.account(c.Trader)
	e.followSettings(&c.Settings)
}

func (e *encoder) followUpdate(c *FollowUpdate) {
	e.account(c.Copier)
	e.account(c.Trader)
	e.followSettings(&c.Settings)
}

func (e *encoder) followSettings(s *FollowSettings) {
	e.u8(uint8(s.Mode))
	e.dec(s.FixedMargin)
	e.dec(s.Multiplier)
	e.dec(s.Allocation)
	e.u8(uint8(s.LeveragePolicy))
	e.varint(int64(s.Leverage))
	e.u8(uint8(s.MarginPolicy))
	e.u8(uint8(s.PositionMode))
	e.u8(uint8(s.AccountMode))
	e.strs(s.Instruments)
	e.dec(s.MaxOrderNotional)
	e.dec(s.MaxFollowNotional)
	e.varint(s.SlippageBps)
	e.varint(s.StopLossBps)
	e.varint(s.TakeProfitBps)
	e.u8(uint8(s.LiquidationPolicy))
}

func (d *decoder) followSettings(s *FollowSettings) {
	s.Mode = CopyMode(d.u8("Settings.Mode"))
	s.FixedMargin = d.dec("Settings.FixedMargin")
	s.Multiplier = d.dec("Settings.Multiplier")
	s.Allocation = d.dec("Settings.Allocation")
	s.LeveragePolicy = LeveragePolicy(d.u8("Settings.LeveragePolicy"))
	s.Leverage = d.int32("Settings.Leverage")
	s.MarginPolicy = MarginPolicy(d.u8("Settings.MarginPolicy"))
	s.PositionMode = PositionMode(d.u8("Settings.PositionMode"))
	s.AccountMode = AccountMode(d.u8("Settings.AccountMode"))
	s.Instruments = d.strs("Settings.Instruments", MaxInstrumentsLed, MaxSymbolLen)
	s.MaxOrderNotional = d.dec("Settings.MaxOrderNotional")
	s.MaxFollowNotional = d.dec("Settings.MaxFollowNotional")
	s.SlippageBps = d.varint("Settings.SlippageBps")
	s.StopLossBps = d.varint("Settings.StopLossBps")
	s.TakeProfitBps = d.varint("Settings.TakeProfitBps")
	s.LiquidationPolicy = LiqPolicy(d.u8("Settings.LiquidationPolicy"))
}

func (e *encoder) unfollow(c *Unfollow) {
	e.account(c.Copier)
	e.account(c.Trader)
	e.bool(c.ClosePositions)
}

func (e *encoder) tradeFill(c *TradeFill) {
	e.account(c.Trader)
	e.varint(c.TradeID)
	e.str(c.Instrument)
	e.u8(uint8(c.Side))
	e.u8(uint8(c.PosSide))
	e.dec(c.Qty)
	e.dec(c.Price)
	e.varint(int64(c.Leverage))
	e.u8(uint8(c.MarginMode))
	e.dec(c.Equity)
	e.bool(c.Liquidation)
	e.dec(c.MarkPrice)
	e.dec(c.PositionAfter)
	e.dec(c.Fee)
	e.str(c.VenueOrderID)
	e.str(c.ClientOrderID)
	e.varint(c.EventTimeUnixNano)
}

func (d *decoder) tradeFill() *TradeFill {
	c := &TradeFill{}
	c.Trader = d.account("Trader")
	c.TradeID = d.varint("TradeID")
	c.Instrument = d.str("Instrument", MaxSymbolLen)
	c.Side = Side(d.u8("Side"))
	c.PosSide = PosSide(d.u8("PosSide"))
	c.Qty = d.dec("Qty")
	c.Price = d.dec("Price")
	c.Leverage = d.int32("Leverage")
	c.MarginMode = MarginMode(d.u8("MarginMode"))
	c.Equity = d.dec("Equity")
	c.Liquidation = d.bool("Liquidation")
	c.MarkPrice = d.dec("MarkPrice")
	c.PositionAfter = d.dec("PositionAfter")
	c.Fee = d.dec("Fee")
	// The two order IDs share one allocation: the rest of the body.
	if d.err == nil && d.remaining() >= 2 && (d.buf[d.off] != 0 || d.buf[d.off+1] != 0) {
		d.arena, d.arenaOff = string(d.buf[d.off:]), d.off
	}
	c.VenueOrderID = d.arenaStr("VenueOrderID", MaxVenueOrderIDLen)
	c.ClientOrderID = d.arenaStr("ClientOrderID", MaxClientOrderIDLen)
	d.arena = ""
	c.EventTimeUnixNano = d.varint("EventTimeUnixNano")
	return c
}

func (e *encoder) orderResults(c *OrderResults) {
	e.uvarint(uint64(len(c.Results)))
	for i := range c.Results {
		r := &c.Results[i]
		e.str(r.ClientOrderID)
		e.u8(uint8(r.Status))
		e.dec(r.FilledQty)
		e.dec(r.AvgPrice)
		e.dec(r.Fee)
		e.str(r.Reason)
	}
}

// orderResultMinBytes is the smallest encoded OrderResult (empty strings,
// zero amounts).
const orderResultMinBytes = 6

func (d *decoder) orderResults() *OrderResults {
	c := &OrderResults{}
	n := d.count("Results", MaxBatch, orderResultMinBytes)
	if n == 0 {
		return c
	}
	// One string for the batch's client order IDs (see Decode).
	d.arena, d.arenaOff = string(d.buf[d.off:]), d.off
	c.Results = make([]OrderResult, n)
	for i := range c.Results {
		r := &c.Results[i]
		r.ClientOrderID = d.arenaStr("Results.ClientOrderID", MaxClientOrderIDLen)
		r.Status = OrderStatus(d.u8("Results.Status"))
		r.FilledQty = d.dec("Results.FilledQty")
		r.AvgPrice = d.dec("Results.AvgPrice")
		r.Fee = d.dec("Results.Fee")
		r.Reason = d.str("Results.Reason", MaxReasonLen)
	}
	d.arena = ""
	return c
}

func (e *encoder) markPrices(c *MarkPrices) {
	e.uvarint(uint64(len(c.Prices)))
	for _, p := range c.Prices {
		e.str(p.Instrument)
		e.dec(p.Price)
	}
}

func (e *encoder) settlementPaid(c *SettlementPaid) {
	e.uvarint(uint64(len(c.Outcomes)))
	for _, o := range c.Outcomes {
		e.str(o.SettlementID)
		e.bool(o.Paid)
		e.str(o.Reason)
	}
}

func (e *encoder) slotFreeze(c *SlotFreeze) {
	e.uvarint(uint64(c.Migration))
	e.u16s(c.Slots)
	e.uvarint(uint64(c.Target))
	e.uvarint(c.Epoch)
}

func (e *encoder) slotImport(c *SlotImport) {
	e.uvarint(uint64(c.Migration))
	e.uvarint(uint64(c.Source))
	e.u16s(c.Slots)
	e.uvarint(c.Epoch)
	e.bytes(c.Data)
	e.uvarint(c.Checksum)
}
