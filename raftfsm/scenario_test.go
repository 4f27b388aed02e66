package raftfsm

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

var rewrite = flag.Bool("rewrite", false, "rewrite testdata/*.txt with the actual output")

// TestScenarios runs the scripted golden scenarios in testdata/*.txt.
//
// A file is a list of cases separated by blank lines; '#' lines are
// comments. A case is one command line, a "----" line, and the expected
// output (no blank lines). With -rewrite the expected outputs are replaced
// by the actual ones; review the diff. Every case applies one log entry
// (except state/orders, which only print) through the harness, which checks
// every invariant and the venue ledger after it.
//
// Commands (key=value arguments; decimals as strings):
//
//	instrument sym= lot= tick= minqty= [minnotional=] maxlev= [band=bps] [maxqty=]
//	rules [winrate=] [roi=] [trades=] [equity=]
//	apply trader= [parent=] [winrate=] [roi=] [trades=] [equity=] <config>
//	update trader= <config>         config: [insts=A,B] [share=] [maxcopiers=] [mincopy=] [maxcopy=] [liq=close|detach] [maxage=ms]
//	tpause|tresume trader=
//	exit trader= [policy=close|detach]
//	follow copier= trader= [parent=] <settings>
//	fupdate copier= trader= <settings>
//	                                settings: mode=fixed|mult|prop [margin=] [k=] alloc= [lev=N (fixed; absent: trader's)]
//	                                [mpol=follow|cross|isolated] [pmode=hedge|oneway] [acct=N] [insts=]
//	                                [maxorder=] [maxfollow=] [slip=] [sl=] [tp=] [liq=close|detach]
//	fpause|fresume copier= trader=
//	unfollow copier= trader= [close=true]
//	fill trader= trade= inst= side=buy|sell pos=long|short|both qty= price= [lev=] [mm=cross|isolated] [equity=] [liq=true]
//	     [after=] [fee=] [void=] [coid=] [age=ms]
//	                                fill v2: after = the venue's position after (absent: the machine's
//	                                tracked position ± qty); age = venue time this many ms before the stamp
//	result id= status=filled|partial|rejected [qty=] [price=] [fee=] [reason=]   (qty defaults to the order's)
//	fill-all [price=] [fee=]        fill every pending order in full (price 0: at its limit)
//	marks SYM=price ...
//	noop
//	state                           trader positions and every follow's ledger
//	orders                          pending orders
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) { runScenarioFile(t, file) })
	}
}

func runScenarioFile(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	var out strings.Builder
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			out.WriteString(line + "\n")
			continue
		}
		cmdLine, cmdNo := line, i+1
		i++
		if i >= len(lines) || lines[i] != "----" {
			t.Fatalf("%s:%d: want ---- after the command", file, cmdNo)
		}
		var want []string
		for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
			i++
			want = append(want, lines[i])
		}
		got, err := runScenarioCmd(h, cmdLine)
		if err != nil {
			t.Fatalf("%s:%d: %s: %v", file, cmdNo, cmdLine, err)
		}
		out.WriteString(cmdLine + "\n----\n" + got)
		if !*rewrite && strings.Join(want, "\n")+"\n" != got {
			t.Errorf("%s:%d: %s\n--- want\n%s\n--- got\n%s", file, cmdNo, cmdLine, strings.Join(want, "\n"), got)
		}
	}
	if *rewrite {
		s := strings.TrimRight(out.String(), "\n") + "\n"
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// args are a command line's key=value arguments.
type args struct {
	kv   map[string]string
	used map[string]bool
	err  error
}

func parseArgs(fields []string) *args {
	a := &args{kv: map[string]string{}, used: map[string]bool{}}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			a.err = fmt.Errorf("argument %q is not key=value", f)
		}
		a.kv[k] = v
	}
	return a
}

func (a *args) has(k string) bool { _, ok := a.kv[k]; return ok }

func (a *args) str(k, def string) string {
	a.used[k] = true
	if v, ok := a.kv[k]; ok {
		return v
	}
	return def
}

func (a *args) int(k string, def int64) int64 {
	v := a.str(k, "")
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil && a.err == nil {
		a.err = fmt.Errorf("%s: %v", k, err)
	}
	return n
}

func (a *args) dec(k string) fixed.Dec {
	v := a.str(k, "")
	if v == "" {
		return 0
	}
	d, err := fixed.Parse(v)
	if err != nil && a.err == nil {
		a.err = fmt.Errorf("%s: %v", k, err)
	}
	return d
}

func (a *args) acct(k string) AccountID { return AccountID(a.int(k, 0)) }

func (a *args) list(k string) []string {
	v := a.str(k, "")
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

func (a *args) enum(k string, names map[string]int, def int) int {
	v := a.str(k, "")
	if v == "" {
		return def
	}
	n, ok := names[v]
	if !ok && a.err == nil {
		a.err = fmt.Errorf("%s: unknown value %q", k, v)
	}
	return n
}

// done reports unused arguments (typos) and parse errors.
func (a *args) done() error {
	if a.err != nil {
		return a.err
	}
	for k := range a.kv {
		if !a.used[k] {
			return fmt.Errorf("unknown argument %q", k)
		}
	}
	return nil
}

var liqNames = map[string]int{"inherit": int(LiqInherit), "close": int(LiqClose), "detach": int(LiqDetach)}

func (a *args) traderConfig() TraderConfig {
	return TraderConfig{
		Instruments:       a.list("insts"),
		ProfitShareBps:    a.int("share", 0),
		MaxCopiers:        int32(a.int("maxcopiers", 0)),
		MinCopyAmount:     a.dec("mincopy"),
		MaxCopyAmount:     a.dec("maxcopy"),
		LiquidationPolicy: LiqPolicy(a.enum("liq", liqNames, 0)),
		SignalMaxAgeMs:    a.int("maxage", 0),
	}
}

func (a *args) settings() FollowSettings {
	s := FollowSettings{
		Mode:              CopyMode(a.enum("mode", map[string]int{"fixed": 1, "mult": 2, "prop": 3}, 0)),
		FixedMargin:       a.dec("margin"),
		Multiplier:        a.dec("k"),
		Allocation:        a.dec("alloc"),
		LeveragePolicy:    LeverageFollowTrader,
		MarginPolicy:      MarginPolicy(a.enum("mpol", map[string]int{"follow": 1, "cross": 2, "isolated": 3}, 1)),
		PositionMode:      PositionMode(a.enum("pmode", map[string]int{"hedge": 1, "oneway": 2}, 1)),
		AccountMode:       AccountMode(a.int("acct", 0)),
		Instruments:       a.list("insts"),
		MaxOrderNotional:  a.dec("maxorder"),
		MaxFollowNotional: a.dec("maxfollow"),
		SlippageBps:       a.int("slip", 0),
		StopLossBps:       a.int("sl", 0),
		TakeProfitBps:     a.int("tp", 0),
		LiquidationPolicy: LiqPolicy(a.enum("liq", liqNames, 0)),
	}
	if a.has("lev") {
		s.LeveragePolicy, s.Leverage = LeverageFixed, int32(a.int("lev", 0))
	}
	return s
}

// runScenarioCmd runs one command line and renders its outcome.
func runScenarioCmd(h *harness, line string) (string, error) {
	fields := strings.Fields(line)
	name, a := fields[0], parseArgs(fields[1:])
	var cmd Command
	switch name {
	case "state":
		if err := a.done(); err != nil {
			return "", err
		}
		return renderState(h.m), nil
	case "orders":
		if err := a.done(); err != nil {
			return "", err
		}
		var b strings.Builder
		for _, o := range h.m.PendingOrders() {
			renderOrder(&b, &o.OrderIntent)
		}
		if b.Len() == 0 {
			return "no pending orders\n", nil
		}
		return b.String(), nil
	case "noop":
		cmd = &Noop{}
	case "instrument":
		cmd = &InstrumentUpsert{Instrument: Instrument{
			Symbol: a.str("sym", ""), LotStep: a.dec("lot"), TickSize: a.dec("tick"),
			MinQty: a.dec("minqty"), MinNotional: a.dec("minnotional"), MaxLeverage: int32(a.int("maxlev", 0)),
			PriceBandBps: a.int("band", 0), MaxOrderQty: a.dec("maxqty"),
		}}
	case "rules":
		cmd = &RulesSet{Rules: EligibilityRules{
			MinWinRateBps: a.int("winrate", 0), MinROIBps: a.int("roi", 0),
			MinClosedTrades: a.int("trades", 0), MinEquity: a.dec("equity"),
		}}
	case "apply":
		cmd = &TraderApply{
			Trader: a.acct("trader"), Parent: a.acct("parent"),
			Stats: ApplicantStats{
				WinRateBps: a.int("winrate", 6000), ROIBps: a.int("roi", 2000),
				ClosedTrades: a.int("trades", 100), Equity: a.dec("equity"),
			},
			Config: a.traderConfig(),
		}
	case "update":
		cmd = &TraderUpdate{Trader: a.acct("trader"), Config: a.traderConfig()}
	case "tpause":
		cmd = &TraderPause{Trader: a.acct("trader")}
	case "tresume":
		cmd = &TraderResume{Trader: a.acct("trader")}
	case "exit":
		cmd = &TraderExit{Trader: a.acct("trader"), Policy: LiqPolicy(a.enum("policy", liqNames, 0))}
	case "follow":
		cmd = &Follow{Copier: a.acct("copier"), CopierParent: a.acct("parent"), Trader: a.acct("trader"), Settings: a.settings()}
	case "fupdate":
		cmd = &FollowUpdate{Copier: a.acct("copier"), Trader: a.acct("trader"), Settings: a.settings()}
	case "fpause":
		cmd = &FollowPause{Copier: a.acct("copier"), Trader: a.acct("trader")}
	case "fresume":
		cmd = &FollowResume{Copier: a.acct("copier"), Trader: a.acct("trader")}
	case "unfollow":
		cmd = &Unfollow{Copier: a.acct("copier"), Trader: a.acct("trader"), ClosePositions: a.str("close", "") == "true"}
	case "fill":
		cmd = &TradeFill{
			Trader: a.acct("trader"), TradeID: a.int("trade", 0), Instrument: a.str("inst", ""),
			Side:          Side(a.enum("side", map[string]int{"buy": 1, "sell": 2}, 0)),
			PosSide:       PosSide(a.enum("pos", map[string]int{"long": 1, "short": 2, "both": 3}, 0)),
			Qty:           a.dec("qty"),
			Price:         a.dec("price"),
			Leverage:      int32(a.int("lev", 10)),
			MarginMode:    MarginMode(a.enum("mm", map[string]int{"cross": 1, "isolated": 2}, 1)),
			Equity:        a.dec("equity"),
			Liquidation:   a.str("liq", "") == "true",
			Fee:           a.dec("fee"),
			VenueOrderID:  a.str("void", ""),
			ClientOrderID: a.str("coid", ""),
			// The venue's time: the entry's stamp less age (ms).
			EventTimeUnixNano: h.now + 1_000_000_000 - a.int("age", 0)*1_000_000,
		}
		f := cmd.(*TradeFill)
		if a.has("after") {
			f.PositionAfter = a.dec("after")
		} else { // a venue that agrees with the machine's tracking
			f.PositionAfter = trackedAfter(h.m, f)
		}
	case "result", "resolve":
		id := a.str("id", "")
		r := OrderResult{
			ClientOrderID: id,
			Status:        OrderStatus(a.enum("status", map[string]int{"filled": 2, "partial": 3, "rejected": 4}, 0)),
			FilledQty:     a.dec("qty"),
			AvgPrice:      a.dec("price"),
			Fee:           a.dec("fee"),
			Reason:        a.str("reason", ""),
		}
		if o, ok := h.m.Order(id); ok && !a.has("qty") && r.Status == OrderFilled {
			r.FilledQty = o.Qty
		}
		cmd = &OrderResults{Results: []OrderResult{r}}
		if name == "resolve" {
			cmd = &OrderResolve{Result: r}
		}
	case "quarantined":
		if err := a.done(); err != nil {
			return "", err
		}
		var b strings.Builder
		for _, q := range h.m.QuarantinedOrders() {
			fmt.Fprintf(&b, "quarantined %s: %s\n", q.ClientOrderID, q.Reason)
			renderOrder(&b, &q.OrderIntent)
		}
		if b.Len() == 0 {
			return "none\n", nil
		}
		return b.String(), nil
	case "fill-all":
		cmd = h.fillAll(a.dec("price"), a.dec("fee"))
	case "marks":
		var mp MarkPrices
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range a.kv {
				if !yield(k) {
					return
				}
			}
		})
		for _, k := range keys {
			mp.Prices = append(mp.Prices, MarkPrice{Instrument: k, Price: a.dec(k)})
		}
		cmd = &mp
	default:
		// Slot moves (freeze, export, import, ...): migrate_test.go.
		if out, ok, err := slotScenarioCmd(h, name, a); ok {
			return out, err
		}
		// Marks, profit share, stats and the leaderboard: settle_test.go.
		if out, ok, err := shareScenarioCmd(h, name, a); ok {
			return out, err
		}
		return "", fmt.Errorf("unknown command %q", name)
	}
	if err := a.done(); err != nil {
		return "", err
	}
	return renderResult(h.apply(cmd)), nil
}

var sideNames = [...]string{"?", "buy", "sell"}
var posNames = [...]string{"?", "long", "short", "both"}
var mmNames = [...]string{"?", "cross", "isolated"}
var statusNames = [...]string{"?", "active", "paused", "stopped", "ended"}
var traderStatusNames = [...]string{"none", "active", "paused", "exited", "rejected"}

func renderOrder(b *strings.Builder, o *OrderIntent) {
	eff := "open"
	if o.Effect == EffectClose {
		eff = "close"
	}
	fmt.Fprintf(b, "order %s copier=%d %s %s %s/%s qty=%s", o.ClientOrderID, o.Copier, o.Instrument,
		eff, sideNames[o.Side], posNames[o.PosSide], o.Qty)
	if o.LimitPrice != 0 {
		fmt.Fprintf(b, " limit=%s", o.LimitPrice)
	} else {
		b.WriteString(" market")
	}
	fmt.Fprintf(b, " lev=%d %s", o.Leverage, mmNames[o.MarginMode])
	if o.ReduceOnly {
		b.WriteString(" reduce-only")
	}
	if o.AccountMode != AccountModeDefault {
		fmt.Fprintf(b, " acct=%d", o.AccountMode)
	}
	if o.PosSide == Both {
		fmt.Fprintf(b, " attr=%s", posNames[o.AttrSide])
	}
	b.WriteString("\n")
}

func renderResult(r *Result) string {
	var b strings.Builder
	if r.Refusal != nil {
		fmt.Fprintf(&b, "refused %s\n", r.Refusal.Error())
	} else {
		b.WriteString("ok\n")
	}
	for i := range r.Orders {
		renderOrder(&b, &r.Orders[i])
	}
	for _, s := range r.Skips {
		fmt.Fprintf(&b, "skip copier=%d %s\n", s.Copier, s.Reason)
	}
	if r.Op == OpOrderResults || (r.Op == OpOrderResolve && r.Refusal == nil) {
		fmt.Fprintf(&b, "results applied=%d ignored=%d\n", r.ResultsApplied, r.ResultsIgnored)
	}
	for _, q := range r.Quarantined {
		fmt.Fprintf(&b, "quarantined %s: %s\n", q.ClientOrderID, q.Reason)
	}
	for _, e := range r.Settlements {
		renderSettlement(&b, &e)
	}
	return b.String()
}

func renderPos(b *strings.Builder, prefix string, p *Position) {
	fmt.Fprintf(b, "  %s %s/%s qty=%s avg=%s margin=%s", prefix, p.Instrument, posNames[p.Side], p.Qty, p.AvgEntry, p.Margin)
	if p.PendingOpen != 0 || p.PendingClose != 0 {
		fmt.Fprintf(b, " pending-open=%s pending-close=%s", p.PendingOpen, p.PendingClose)
	}
	b.WriteString("\n")
}

// renderState prints every trader's own positions and every follow's ledger.
func renderState(m *Machine) string {
	var b strings.Builder
	for _, id := range m.traderIDs() {
		t := m.traders[id]
		fmt.Fprintf(&b, "trader %d %s share=%d next-share=%d", id, traderStatusNames[t.Status], t.ShareBps, t.Config.ProfitShareBps)
		if t.Reason != "" {
			fmt.Fprintf(&b, " (%s)", t.Reason)
		}
		b.WriteString("\n")
		for _, p := range t.Positions {
			fmt.Fprintf(&b, "  own %s/%s qty=%s avg=%s\n", p.Instrument, posNames[p.Side], p.Qty, p.AvgEntry)
		}
		for _, f := range t.Follows {
			fmt.Fprintf(&b, " follow %d %s", f.Copier, statusNames[f.Status])
			if f.StopReason != "" {
				fmt.Fprintf(&b, " (%s)", f.StopReason)
			}
			fmt.Fprintf(&b, " margin-in-use=%s pnl=%s fees=%s pending=%d\n", f.MarginInUse, f.RealizedPnL, f.Fees, f.Pending)
			for i := range f.Positions {
				renderPos(&b, "pos", &f.Positions[i])
			}
			for i := range f.Detached {
				renderPos(&b, "detached", &f.Detached[i])
			}
		}
	}
	return b.String()
}
