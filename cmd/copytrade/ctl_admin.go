package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/bytedance/sonic"

	"github.com/copytrade/copytrade/rpc/auth"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// migrationFlag declares --migration (also the positional argument).
func migrationFlag(fs *flag.FlagSet) *int64 {
	return fs.Int64("migration", 0, "the migration's ID (> 0)")
}

// slotCommand is a slot-migration step that takes only the migration ID.
func slotCommand(path, summary string, call func(ctx context.Context, e *ctlEnv, migration int64) (any, error)) ctlCommand {
	return ctlCommand{path: path, args: []string{"migration"}, summary: summary,
		setup: func(fs *flag.FlagSet) ctlAction {
			m := migrationFlag(fs)
			return func(ctx context.Context, e *ctlEnv) (any, error) { return call(ctx, e, *m) }
		}}
}

func ctlAdminCommands() []ctlCommand {
	return []ctlCommand{
		{path: "instrument upsert", args: []string{"symbol"}, summary: "list an instrument or change its grid and limits",
			setup: func(fs *flag.FlagSet) ctlAction {
				in := &ct.Instrument{}
				fs.StringVar(&in.Symbol, "symbol", "", "the instrument's symbol, e.g. BTCUSDT")
				fs.StringVar(&in.LotStep, "lot-step", "", "quantity grid (> 0)")
				fs.StringVar(&in.TickSize, "tick-size", "", "price grid (> 0)")
				fs.StringVar(&in.MinQty, "min-qty", "", "smallest order qty (>= lot step)")
				fs.StringVar(&in.MinNotional, "min-notional", "0", "smallest order notional")
				maxLev := fs.Int("max-leverage", 20, "highest leverage (1..200)")
				fs.Int64Var(&in.PriceBandBps, "price-band-bps", 0, "refuse lead fills priced further than this from the mark, bps (0: no band)")
				fs.StringVar(&in.MaxOrderQty, "max-order-qty", "", "refuse lead fills above this quantity (empty: no maximum)")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					in.MaxLeverage = int32(*maxLev)
					if in.MinQty == "" {
						in.MinQty = in.LotStep
					}
					return c.UpsertInstrument(ctx, &ct.UpsertInstrumentRequest{Instrument: in})
				}
			}},
		{path: "rules set", summary: "set the eligibility rules for lead-trader applications",
			setup: func(fs *flag.FlagSet) ctlAction {
				r := &ct.EligibilityRules{}
				fs.Int64Var(&r.MinWinRateBps, "min-win-rate-bps", 0, "minimum win rate, bps (0..10000)")
				fs.Int64Var(&r.MinRoiBps, "min-roi-bps", 0, "minimum ROI, bps")
				fs.Int64Var(&r.MinClosedTrades, "min-closed-trades", 0, "minimum closed trades")
				fs.StringVar(&r.MinEquity, "min-equity", "0", "minimum equity")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					return c.SetRules(ctx, &ct.SetRulesRequest{Rules: r})
				}
			}},
		{path: "settle", summary: "settle profit share for --period now (idempotent per period; a period settled refuses every lower one)",
			setup: func(fs *flag.FlagSet) ctlAction {
				period := fs.Int64("period", 0, "period number: days (daily) or weeks (weekly) since the Unix epoch, UTC; required unless --yes")
				yes := fs.Bool("yes", false, "without --period: settle the last completed daily period (yesterday, UTC)")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					if *period == 0 {
						day := time.Now().UTC().Unix()/86400 - 1
						if !*yes {
							return nil, errUsage("settle: --period is required: the last completed daily period is %d (%s, UTC), the last weekly one %d; "+
								"settling a period refuses every lower one forever. Pass --period N, or --yes to settle day %d",
								day, time.Unix(day*86400, 0).UTC().Format("2006-01-02"), time.Now().UTC().Unix()/(7*86400)-1, day)
						}
						*period = day
					}
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					return c.Settle(ctx, &ct.SettleRequest{Period: *period})
				}
			}},
		{path: "activity config", summary: "activity history retention and the consecutive-failure stop, on every group (0 = default)",
			setup: func(fs *flag.FlagSet) ctlAction {
				r := &ct.SetActivityConfigRequest{}
				keep := fs.Duration("keep", 0, "keep decisions this long (0: 30 days; at most 400 days)")
				perFollow := fs.Int("keep-per-follow", 0, "newest decisions kept per copier and trader (0: 200)")
				failures := fs.Int("max-consecutive-failures", 0, "failed opens in a row that pause a follow with CONSECUTIVE_FAILURES (0: 20)")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					r.KeepSeconds, r.KeepPerFollow, r.MaxConsecutiveFailures = int64(keep.Seconds()), int32(*perFollow), int32(*failures)
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					return c.SetActivityConfig(ctx, r)
				}
			}},
		{path: "orders resolve", summary: "apply the venue's true result to a QUARANTINED order (see orders --quarantined)",
			setup: func(fs *flag.FlagSet) ctlAction {
				r := &ct.ResolveOrderRequest{}
				fs.Int64Var(&r.Trader, "trader", 0, "the order's trader")
				fs.StringVar(&r.ClientOrderId, "id", "", "the client order ID")
				status := fs.String("status", "", "FILLED, PARTIALLY_FILLED or REJECTED, as the venue executed it")
				fs.StringVar(&r.FilledQty, "filled-qty", "0", "quantity the venue filled")
				fs.StringVar(&r.AvgPrice, "avg-price", "0", "average fill price")
				fs.StringVar(&r.Fee, "fee", "0", "fee charged (>= 0)")
				fs.StringVar(&r.Reason, "reason", "", "rejection reason (REJECTED)")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					s, err := ct.OrderStatusFromString(strings.ToUpper(*status))
					if err != nil {
						return nil, fmt.Errorf("--status: %w", err)
					}
					r.Status = s
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					return c.ResolveOrder(ctx, r)
				}
			}},
		{path: "slot freeze", summary: "migration step 1 (source leader): freeze slots for a move to --target-group",
			setup: func(fs *flag.FlagSet) ctlAction {
				m := migrationFlag(fs)
				slots := slotsFlag(fs, "slots", "slots to move: ranges and numbers, e.g. 0-99,4000")
				target := fs.Int("target-group", 0, "the group that receives the slots")
				epoch := fs.Int64("epoch", 0, "the slots' new epoch (> every current epoch of them)")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					return c.SlotFreeze(ctx, &ct.SlotFreezeRequest{Migration: *m, Slots: *slots, TargetGroup: int32(*target), Epoch: *epoch})
				}
			}},
		{path: "slot export", args: []string{"migration"}, summary: "migration step 2 (source leader): export the frozen slots to --out",
			setup: func(fs *flag.FlagSet) ctlAction {
				m := migrationFlag(fs)
				out := fs.String("out", "", "file to write the export to (JSON; required)")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					if *out == "" {
						return nil, errUsage("--out FILE is required")
					}
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					resp, err := c.SlotExport(ctx, &ct.SlotExportRequest{Migration: *m})
					if err != nil {
						return nil, err
					}
					data, err := sonic.Marshal(resp)
					if err != nil {
						return nil, fmt.Errorf("encode export: %w", err)
					}
					if err := os.WriteFile(*out, data, 0o600); err != nil {
						return nil, fmt.Errorf("write export: %w", err)
					}
					return &exportSummary{File: *out, Index: resp.Index, Migration: resp.Migration,
						Slots: formatSlots(resp.Slots), Epoch: resp.Epoch, Bytes: len(resp.Data), Checksum: uint64(resp.Checksum)}, nil
				}
			}},
		{path: "slot import", summary: "migration step 3 (target leader): import an export written by `slot export`",
			setup: func(fs *flag.FlagSet) ctlAction {
				in := fs.String("in", "", "the export file (required)")
				source := fs.Int("source-group", 0, "the group the slots come from")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					if *in == "" {
						return nil, errUsage("--in FILE is required")
					}
					data, err := os.ReadFile(*in)
					if err != nil {
						return nil, fmt.Errorf("read export: %w", err)
					}
					var ex ct.SlotExportResponse
					if err := sonic.Unmarshal(data, &ex); err != nil {
						return nil, fmt.Errorf("decode export %s: %w", *in, err)
					}
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					return c.SlotImport(ctx, &ct.SlotImportRequest{Migration: ex.Migration, SourceGroup: int32(*source),
						Slots: ex.Slots, Epoch: ex.Epoch, Data: ex.Data, Checksum: ex.Checksum})
				}
			}},
		slotCommand("slot release", "migration step 4 (source leader): hand the slots over; they answer MOVED from now on",
			func(ctx context.Context, e *ctlEnv, m int64) (any, error) {
				c, err := e.client()
				if err != nil {
					return nil, err
				}
				return c.SlotRelease(ctx, &ct.SlotReleaseRequest{Migration: m})
			}),
		slotCommand("slot abort", "abort a migration (target leader) before it was imported",
			func(ctx context.Context, e *ctlEnv, m int64) (any, error) {
				c, err := e.client()
				if err != nil {
					return nil, err
				}
				return c.SlotAbort(ctx, &ct.SlotAbortRequest{Migration: m})
			}),
		slotCommand("slot unfreeze", "after an abort (source leader): the slots serve again",
			func(ctx context.Context, e *ctlEnv, m int64) (any, error) {
				c, err := e.client()
				if err != nil {
					return nil, err
				}
				return c.SlotUnfreeze(ctx, &ct.SlotUnfreezeRequest{Migration: m})
			}),
		{path: "noop", summary: "commit a no-op on the group and report its timings (the Raft floor)",
			setup: func(fs *flag.FlagSet) ctlAction {
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					return c.Noop(ctx, &ct.NoopRequest{})
				}
			}},
		{path: "member add", args: []string{"id"}, summary: "add a voter to the group (call its leader with --node)",
			setup: func(fs *flag.FlagSet) ctlAction {
				r := &ct.AddMemberRequest{}
				fs.StringVar(&r.Id, "id", "", "the new member's raft server ID")
				fs.StringVar(&r.RaftAddr, "raft-addr", "", "its raft address host:port")
				fs.StringVar(&r.RpcAddr, "rpc-addr", "", "its CopyTrade address host:port")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					return c.AddMember(ctx, r)
				}
			}},
		{path: "member remove", args: []string{"id"}, summary: "remove a member from the group (call its leader with --node)",
			setup: func(fs *flag.FlagSet) ctlAction {
				id := fs.String("id", "", "the member's raft server ID")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					return c.RemoveMember(ctx, &ct.RemoveMemberRequest{Id: *id})
				}
			}},
		{path: "leader transfer", summary: "hand the group's leadership to --to (or any up-to-date voter)",
			setup: func(fs *flag.FlagSet) ctlAction {
				to := fs.String("to", "", "the member to hand over to (empty: any)")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					return c.TransferLeadership(ctx, &ct.TransferLeadershipRequest{ToId: *to})
				}
			}},
		{path: "keygen", summary: "write a new key file with one random 32-byte key (refuses to overwrite)",
			setup: func(fs *flag.FlagSet) ctlAction {
				out := fs.String("out", "", "the key file to create (required)")
				id := fs.String("id", "k1", "the key's ID (newest sorts last: k1, k2, ...)")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					if *out == "" {
						return nil, errUsage("--out FILE is required")
					}
					if _, err := os.Stat(*out); err == nil {
						return nil, fmt.Errorf("%s exists; not overwriting it", *out)
					}
					secret := make([]byte, 32)
					if _, err := rand.Read(secret); err != nil {
						return nil, fmt.Errorf("random secret: %w", err)
					}
					if err := auth.WriteKeyFile(*out, auth.Key{ID: *id, Secret: secret}); err != nil {
						return nil, err
					}
					return &keygenResult{File: *out, KeyID: *id}, nil
				}
			}},
		{path: "token", summary: "mint a token from a key file (no server is called)",
			setup: func(fs *flag.FlagSet) ctlAction {
				keys := fs.String("keys", os.Getenv("COPYTRADE_KEYS"), "the key file (env COPYTRADE_KEYS)")
				keyID := fs.String("key", "", "the key ID to sign with (default: the key file's active key)")
				identity := fs.String("identity", "", "who the token names; for --role account, the account ID")
				role := fs.String("role", "", "admin, trading-system, router, account (with --identity ID) or account:<id>")
				ttl := fs.Duration("ttl", 24*time.Hour, "how long the token is valid")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					return mintToken(*keys, *keyID, *identity, *role, *ttl)
				}
			}},
	}
}

// exportSummary is what `slot export` prints (the data goes to the file).
type exportSummary struct {
	File      string `json:"file"`
	Index     int64  `json:"index"`
	Migration int64  `json:"migration"`
	Slots     string `json:"slots"`
	Epoch     int64  `json:"epoch"`
	Bytes     int    `json:"bytes"`
	Checksum  uint64 `json:"checksum"`
}

// keygenResult is what `ctl keygen` prints.
type keygenResult struct {
	File  string `json:"file"`
	KeyID string `json:"key_id"`
}

// mintedToken is what `ctl token` prints.
type mintedToken struct {
	Token    string `json:"token"`
	Identity string `json:"identity"`
	Role     string `json:"role"`
	KeyID    string `json:"key_id"`
	Expiry   string `json:"expiry"`
}

// mintToken signs a token with a key file's key. For role "account" the identity is the
// account ID and the role becomes account:<id>.
func mintToken(keyFile, keyID, identity, role string, ttl time.Duration) (*mintedToken, error) {
	if keyFile == "" {
		return nil, errUsage("--keys FILE is required")
	}
	if identity == "" || role == "" {
		return nil, errUsage("--identity and --role are required")
	}
	if ttl <= 0 {
		return nil, errUsage("--ttl must be > 0")
	}
	if role == "account" {
		id, err := strconv.ParseInt(identity, 10, 64)
		if err != nil || id <= 0 {
			return nil, errUsage("--role account needs --identity to be the account ID (> 0), got %q", identity)
		}
		role = string(auth.AccountRole(id))
	} else if acct, ok := strings.CutPrefix(role, "account:"); ok && identity != acct {
		return nil, errUsage("--identity %q does not match role %s", identity, role)
	}
	r, err := auth.ParseRole(role)
	if err != nil {
		return nil, errUsage("%v", err)
	}
	ks, err := auth.LoadKeys(keyFile)
	if err != nil {
		return nil, err
	}
	key := ks.Active()
	if keyID != "" {
		k, ok := ks.Get(keyID)
		if !ok {
			return nil, fmt.Errorf("key %q is not in %s (it has %s)", keyID, keyFile, strings.Join(ks.IDs(), ", "))
		}
		key = k
	}
	exp := time.Now().Add(ttl)
	tok, err := auth.MintAt(key, identity, r, exp)
	if err != nil {
		return nil, err
	}
	return &mintedToken{Token: tok, Identity: identity, Role: string(r), KeyID: key.ID, Expiry: exp.UTC().Format(time.RFC3339)}, nil
}
