package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cloudwego/kitex/client"

	gw "github.com/copytrade/copytrade/rpc/kitex_gen/gateway"
	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway/tradinggateway"
	"github.com/copytrade/copytrade/tools/exchsim"

	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// ctlFillCommands: submitting a lead trader's fill by hand (replays, tests) and reading
// the simulated venue's books (exchsim's audit RPCs).
func ctlFillCommands() []ctlCommand {
	return []ctlCommand{
		{path: "fill submit", summary: "submit one lead-trader fill with every fill v2 field (trading-system role); prints its outcome",
			setup: func(fs *flag.FlagSet) ctlAction {
				f := &ct.Fill{}
				fs.Int64Var(&f.Trader, "trader", 0, "the lead trader (required)")
				fs.Int64Var(&f.TradeId, "trade-id", 0, "the venue's trade ID, > 0 (required; dedup key with trader and instrument)")
				fs.StringVar(&f.Instrument, "instrument", "", "the instrument (required)")
				side := fs.String("side", "", "BUY or SELL (required)")
				posSide := fs.String("position-side", "", "LONG, SHORT (hedge-mode trader) or BOTH (one-way) (required)")
				fs.StringVar(&f.Qty, "qty", "", "filled quantity, > 0 (required)")
				fs.StringVar(&f.Price, "price", "", "fill price, > 0 (required)")
				lev := fs.Int("leverage", 1, "the trader's leverage, 1..200")
				margin := fs.String("margin-mode", "CROSS", "CROSS or ISOLATED")
				fs.StringVar(&f.Equity, "equity", "0", "the trader's equity after the fill (PROPORTIONAL copies divide by it)")
				fs.BoolVar(&f.Liquidation, "liquidation", false, "the trader was liquidated (copiers follow the liquidation policy)")
				fs.StringVar(&f.PositionAfter, "position-after", "", "the trader's position on instrument and side after the fill; signed net for BOTH (required)")
				fs.StringVar(&f.Fee, "fee", "0", "the trader's fee, >= 0")
				fs.StringVar(&f.VenueOrderId, "venue-order-id", "", "the venue's ID of the trader's order")
				fs.StringVar(&f.ClientOrderId, "client-order-id", "", "the trader's client order ID")
				eventTime := fs.String("event-time", "", "the venue's time of the fill: RFC 3339, Unix nanoseconds, or empty for now")
				wait := fs.String("wait", "ACKED", "COMMIT (orders planned) or ACKED (and every copier order answered)")
				timeoutMs := fs.Int("timeout-ms", 0, "the node's budget for the fill (0: its default)")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					var missing []string
					for _, req := range []struct {
						name string
						ok   bool
					}{{"trader", f.Trader != 0}, {"trade-id", f.TradeId != 0}, {"instrument", f.Instrument != ""}, {"side", *side != ""},
						{"position-side", *posSide != ""}, {"qty", f.Qty != ""}, {"price", f.Price != ""}, {"position-after", f.PositionAfter != ""}} {
						if !req.ok {
							missing = append(missing, "--"+req.name)
						}
					}
					if len(missing) > 0 {
						return nil, errUsage("fill submit: %s required", strings.Join(missing, ", "))
					}
					var err error
					if f.Side, err = ct.SideFromString(strings.ToUpper(*side)); err != nil {
						return nil, errUsage("--side: %q is not BUY or SELL", *side)
					}
					if f.PositionSide, err = ct.PositionSideFromString(strings.ToUpper(*posSide)); err != nil {
						return nil, errUsage("--position-side: %q is not LONG, SHORT or BOTH", *posSide)
					}
					if f.MarginMode, err = ct.MarginModeFromString(strings.ToUpper(*margin)); err != nil {
						return nil, errUsage("--margin-mode: %q is not CROSS or ISOLATED", *margin)
					}
					w, err := ct.WaitForFromString(strings.ToUpper(*wait))
					if err != nil {
						return nil, errUsage("--wait: %q is not COMMIT or ACKED", *wait)
					}
					f.Leverage = int32(*lev)
					if f.EventTimeNs, err = parseEventTime(*eventTime, time.Now()); err != nil {
						return nil, errUsage("--event-time: %v", err)
					}
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					resp, err := c.SubmitFill(ctx, &ct.SubmitFillRequest{Trader: f.Trader, Fill: f, Wait: w, TimeoutMs: int32(*timeoutMs)})
					if err != nil {
						return nil, err
					}
					o := resp.GetOutcome()
					if o.GetCode() != ct.ErrorCode_OK {
						return nil, &outcomeError{o}
					}
					return o, nil
				}
			}},
		{path: "venue accounts", args: []string{"account"}, summary: "exchsim: accounts' balances, equity and margin (--account, comma-separated)",
			setup: func(fs *flag.FlagSet) ctlAction {
				accts := fs.String("account", "", "account IDs, comma-separated (required)")
				return venueAction(func(ctx context.Context, c tradinggateway.Client) (any, error) {
					ids, err := accountList(*accts)
					if err != nil {
						return nil, err
					}
					out := make([]*gw.AccountSnapshotResponse, 0, len(ids))
					for _, id := range ids {
						s, err := c.AccountSnapshot(ctx, &gw.AccountSnapshotRequest{Account: id})
						if err != nil {
							return nil, fmt.Errorf("account %d: %w", id, err)
						}
						out = append(out, s)
					}
					return out, nil
				})
			}},
		{path: "venue positions", args: []string{"account"}, summary: "exchsim: accounts' open positions (--account, comma-separated)",
			setup: func(fs *flag.FlagSet) ctlAction {
				accts := fs.String("account", "", "account IDs, comma-separated (required)")
				return venueAction(func(ctx context.Context, c tradinggateway.Client) (any, error) {
					ids, err := accountList(*accts)
					if err != nil {
						return nil, err
					}
					out := []venuePosition{}
					for _, id := range ids {
						s, err := c.AccountSnapshot(ctx, &gw.AccountSnapshotRequest{Account: id})
						if err != nil {
							return nil, fmt.Errorf("account %d: %w", id, err)
						}
						for _, p := range s.GetPositions() {
							out = append(out, venuePosition{Account: id, Position: p})
						}
					}
					return out, nil
				})
			}},
		{path: "venue orders", args: []string{"id"}, summary: "exchsim: orders by client order ID (--id, comma-separated), as the venue executed them",
			setup: func(fs *flag.FlagSet) ctlAction {
				ids := fs.String("id", "", "client order IDs, comma-separated (required)")
				return venueAction(func(ctx context.Context, c tradinggateway.Client) (any, error) {
					list := splitList(*ids)
					if len(list) == 0 {
						return nil, errUsage("venue orders: --id is required")
					}
					resp, err := c.QueryOrders(ctx, &gw.QueryOrdersRequest{ClientOrderIds: list})
					if err != nil {
						return nil, err
					}
					return resp.GetOrders(), nil
				})
			}},
		{path: "venue order-counts", args: []string{"id"}, summary: "exchsim: orders created per client order ID (--id, comma-separated): 1 = exactly once",
			setup: func(fs *flag.FlagSet) ctlAction {
				ids := fs.String("id", "", "client order IDs, comma-separated (required)")
				return venueAction(func(ctx context.Context, c tradinggateway.Client) (any, error) {
					list := splitList(*ids)
					if len(list) == 0 {
						return nil, errUsage("venue order-counts: --id is required")
					}
					resp, err := c.OrderCounts(ctx, &gw.OrderCountsRequest{ClientOrderIds: list})
					if err != nil {
						return nil, err
					}
					out := make([]orderCount, len(list))
					for i, id := range list {
						out[i] = orderCount{ClientOrderID: id}
						if i < len(resp.GetCounts()) {
							out[i].Count = resp.GetCounts()[i]
						}
					}
					return out, nil
				})
			}},
	}
}

// outcomeError is a fill the node did not apply: printed like every other refusal.
type outcomeError struct{ o *ct.FillOutcome }

func (e *outcomeError) Error() string {
	return fmt.Sprintf("%s (%d): %s", e.o.GetCode(), int64(e.o.GetCode()), e.o.GetMessage())
}

type venuePosition struct {
	Account int64 `json:"account"`
	*gw.Position
}

type orderCount struct {
	ClientOrderID string `json:"client_order_id"`
	Count         int64  `json:"count"`
}

// venueAction runs fn against exchsim at --venue (env COPYTRADE_VENUE).
func venueAction(fn func(ctx context.Context, c tradinggateway.Client) (any, error)) ctlAction {
	return func(ctx context.Context, e *ctlEnv) (any, error) {
		addr := e.g.venue
		if addr == "" {
			return nil, errUsage("no venue address: pass --venue HOST:PORT (exchsim's), or set COPYTRADE_VENUE")
		}
		c, err := exchsim.NewClient(addr, append([]client.Option{client.WithRPCTimeout(e.g.timeout)}, dialTLS...)...)
		if err != nil {
			return nil, err
		}
		return fn(ctx, c)
	}
}

func accountList(s string) ([]int64, error) {
	parts := splitList(s)
	if len(parts) == 0 {
		return nil, errUsage("--account is required")
	}
	out := make([]int64, len(parts))
	for i, p := range parts {
		id, err := strconv.ParseInt(p, 10, 64)
		if err != nil || id <= 0 {
			return nil, errUsage("--account: %q is not an account ID", p)
		}
		out[i] = id
	}
	return out, nil
}

// parseEventTime reads --event-time: "" = now, Unix nanoseconds, or RFC 3339.
func parseEventTime(v string, now time.Time) (int64, error) {
	if v == "" {
		return now.UnixNano(), nil
	}
	if ns, err := strconv.ParseInt(v, 10, 64); err == nil {
		if ns <= 0 {
			return 0, fmt.Errorf("%q: must be > 0", v)
		}
		return ns, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return 0, fmt.Errorf("%q is neither RFC 3339 nor Unix nanoseconds", v)
	}
	return t.UnixNano(), nil
}

// ctlInviteCommands: a trader's invite-only setting and invite codes.
func ctlInviteCommands() []ctlCommand {
	act := func(action ct.InviteAction, withCode bool, summary string) func(string) ctlCommand {
		return func(path string) ctlCommand {
			args := []string{"trader"}
			if withCode {
				args = append(args, "code")
			}
			return ctlCommand{path: path, args: args, summary: summary,
				setup: func(fs *flag.FlagSet) ctlAction {
					r := &ct.TraderInviteRequest{Action: action}
					fs.Int64Var(&r.Trader, "trader", 0, "the trader's account ID")
					if withCode {
						fs.StringVar(&r.Code, "code", "", "the invite code: 4..32 letters, digits, - or _ (issue: empty makes one)")
					}
					var ttl *time.Duration
					var uses *int
					if action == ct.InviteAction_ISSUE {
						ttl = fs.Duration("ttl", 0, "the code expires after this (0: never)")
						uses = fs.Int("max-uses", 0, "follows the code admits (0: unlimited)")
					}
					return func(ctx context.Context, e *ctlEnv) (any, error) {
						if action == ct.InviteAction_ISSUE {
							if r.Code == "" {
								r.Code = newInviteCode()
							}
							if *ttl > 0 {
								r.ExpiresAtUnixNano = time.Now().Add(*ttl).UnixNano()
							}
							r.MaxUses = int32(*uses)
						}
						c, err := e.client()
						if err != nil {
							return nil, err
						}
						resp, err := c.TraderInvite(ctx, r)
						if err != nil {
							return nil, err
						}
						if action == ct.InviteAction_ISSUE {
							return &issuedInvite{Code: r.Code, ExpiresAtUnixNano: r.ExpiresAtUnixNano, MaxUses: r.MaxUses, Index: resp.GetIndex()}, nil
						}
						return resp, nil
					}
				}}
		}
	}
	return []ctlCommand{
		act(ct.InviteAction_SET_PRIVATE, false, "make a trader invite-only: new follows need an invite code")("trader private"),
		act(ct.InviteAction_SET_PUBLIC, false, "let anyone follow a trader again (codes are kept)")("trader public"),
		act(ct.InviteAction_ISSUE, true, "issue an invite code (--ttl, --max-uses); prints the code")("trader invite issue"),
		act(ct.InviteAction_REVOKE, true, "revoke an invite code")("trader invite revoke"),
		{path: "trader invite list", args: []string{"trader"}, summary: "a trader's invite-only setting and invite codes",
			setup: func(fs *flag.FlagSet) ctlAction {
				trader := fs.Int64("trader", 0, "the trader's account ID")
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					c, err := e.client()
					if err != nil {
						return nil, err
					}
					return c.ListInvites(ctx, &ct.ListInvitesRequest{Trader: *trader, ReadOpts: e.readOpts()})
				}
			}},
	}
}

type issuedInvite struct {
	Code              string `json:"code"`
	ExpiresAtUnixNano int64  `json:"expires_at_unix_nano"`
	MaxUses           int32  `json:"max_uses"`
	Index             int64  `json:"index"`
}

// newInviteCode is 16 random base-32 characters.
func newInviteCode() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}
