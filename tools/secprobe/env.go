package secprobe

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"time"

	"github.com/copytrade/copytrade/router"
	"github.com/copytrade/copytrade/rpc/auth"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/tlsconf"
	"github.com/copytrade/copytrade/shard"
	"github.com/copytrade/copytrade/tools/bench"
)

// Symbol is the instrument the probes trade.
const Symbol = "BTCUSDT"

// env is the cluster under attack and what the probes know of it.
type env struct {
	cl    *bench.Cluster
	sup   *bench.Supervisor
	key   auth.Key
	cli   *shard.Client // to the router, with a client certificate of role "client"
	admin context.Context
	// trader leads; victim follows it; attacker is an account that follows nobody.
	trader, victim, attacker int64
	tradeID                  int64 // the trader's fill, copied to the victim
}

func start(ctx context.Context, cfg Config, log *slog.Logger) (*env, error) {
	bcfg := bench.DefaultConfig()
	bcfg.TLS, bcfg.Groups, bcfg.ExchsimMode, bcfg.NoSync = true, 1, "strict", true
	sup := bench.NewSupervisor(log, 5*time.Second)
	cl, err := bench.StartCluster(ctx, &bcfg, cfg.Binary, cfg.Dir, sup, log)
	if err != nil {
		sup.StopAll()
		return nil, fmt.Errorf("secprobe: start cluster: %w", err)
	}
	e := &env{cl: cl, sup: sup, trader: 3_000_001, victim: 7_000_001, attacker: 7_000_002, tradeID: 1}
	if err := e.prepare(ctx); err != nil {
		e.stop()
		return nil, err
	}
	return e, nil
}

func (e *env) prepare(ctx context.Context) error {
	ks, err := auth.LoadKeys(filepath.Join(e.cl.Dir, "keys.json"))
	if err != nil {
		return fmt.Errorf("secprobe: %w", err)
	}
	e.key = ks.Active()
	if e.cli, err = shard.NewClient([]string{e.cl.RouterAddr}, e.cl.ClientTLS(tlsconf.RoleIdentity("client", "secprobe"))...); err != nil {
		return fmt.Errorf("secprobe: client: %w", err)
	}
	e.admin = auth.WithToken(context.Background(), e.cl.AdminToken)
	// Ready: a no-op commits in the group through the router.
	deadline := time.Now().Add(30 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(router.WithGroup(e.admin, 1), 2*time.Second)
		_, err := e.cli.Noop(cctx, &ct.NoopRequest{})
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("secprobe: cluster not ready: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cctx, cancel := context.WithTimeout(e.admin, 20*time.Second)
	defer cancel()
	if _, err := e.cli.UpsertInstrument(cctx, &ct.UpsertInstrumentRequest{Instrument: &ct.Instrument{
		Symbol: Symbol, LotStep: "0.001", TickSize: "0.1", MinQty: "0.001", MinNotional: "5", MaxLeverage: 125}}); err != nil {
		return fmt.Errorf("secprobe: seed instrument: %w", err)
	}
	if _, err := e.cli.ApplyTrader(cctx, &ct.ApplyTraderRequest{Trader: e.trader, Stats: &ct.ApplicantStats{Equity: "100000"},
		Config: &ct.TraderConfig{ProfitShareBps: 1000, MaxCopiers: 100}}); err != nil {
		return fmt.Errorf("secprobe: seed trader: %w", err)
	}
	vctx, vcancel := context.WithTimeout(e.account(e.victim), 20*time.Second)
	defer vcancel()
	if _, err := e.cli.Follow(vctx, &ct.FollowRequest{Trader: e.trader, Copier: e.victim, Settings: followSettings()}); err != nil {
		return fmt.Errorf("secprobe: seed follow: %w", err)
	}
	tctx, tcancel := context.WithTimeout(auth.WithToken(context.Background(), e.cl.FillToken), 20*time.Second)
	defer tcancel()
	if _, err := e.cli.SubmitFill(tctx, &ct.SubmitFillRequest{Trader: e.trader, Fill: openFill(e.trader, e.tradeID), Wait: ct.WaitFor_ACKED}); err != nil {
		return fmt.Errorf("secprobe: seed fill: %w", err)
	}
	return nil
}

func (e *env) stop() {
	if e.cli != nil {
		_ = e.cli.Close()
	}
	e.sup.StopAll()
}

// as is a context with a token for role and identity, valid for ttl from now.
func (e *env) as(role auth.Role, id string, ttl time.Duration) context.Context {
	tok, err := auth.Mint(e.key, id, role, ttl)
	if err != nil {
		panic(err) // the probes' own roles and identities are valid
	}
	return auth.WithToken(context.Background(), tok)
}

func (e *env) account(id int64) context.Context {
	return e.as(auth.AccountRole(id), strconv.FormatInt(id, 10), time.Hour)
}

// checkAlive counts a crash for every process that exited and for a group that no
// longer commits.
func (e *env) checkAlive(ctx context.Context, r *Report) {
	for _, pid := range e.cl.Pids() {
		if !bench.ProcessAlive(pid) {
			r.crash(fmt.Sprintf("process %d exited", pid))
		}
	}
	cctx, cancel := context.WithTimeout(router.WithGroup(e.admin, 1), 10*time.Second)
	defer cancel()
	var err error
	for cctx.Err() == nil {
		if _, err = e.cli.Noop(cctx, &ct.NoopRequest{}); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.crash(fmt.Sprintf("group 1 no longer commits: %v", err))
}

func followSettings() *ct.FollowSettings {
	return &ct.FollowSettings{
		Mode: ct.CopyMode_FIXED_AMOUNT, FixedMargin: "100", Allocation: "900000",
		LeveragePolicy: ct.LeveragePolicy_FOLLOW_TRADER, MarginPolicy: ct.MarginPolicy_FOLLOW_TRADER,
		PositionMode: ct.PositionMode_HEDGE,
	}
}

func openFill(trader, tradeID int64) *ct.Fill {
	return &ct.Fill{Trader: trader, TradeId: tradeID, Instrument: Symbol, Side: ct.Side_BUY,
		PositionSide: ct.PositionSide_LONG, Qty: "0.01", Price: "60000", Leverage: 10,
		MarginMode: ct.MarginMode_CROSS, Equity: "100000",
		// Fill contract v2: as if every earlier trade ID was this same open; venue time now.
		PositionAfter: fmt.Sprintf("%d.%02d", tradeID/100, tradeID%100), EventTimeNs: time.Now().UnixNano()}
}
