package auth

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/bytedance/gopkg/cloud/metainfo"
	"github.com/cloudwego/kitex/pkg/endpoint"
	"github.com/cloudwego/kitex/pkg/kerrors"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/server"

	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/tlsconf"
)

// TokenKey is the Kitex metainfo key that carries the token: a transient value, so it
// travels one hop in TTHeader (client and server need the TTHeader transport; Kitex's
// default metainfo handlers do the rest). A router re-attaches its caller's token on
// each forwarded call (ForwardToken).
const TokenKey = "COPYTRADE_TOKEN"

// WithToken returns ctx with tok attached to every CopyTrade call made with it.
func WithToken(ctx context.Context, tok string) context.Context {
	return metainfo.WithValue(ctx, TokenKey, tok)
}

// tokenFrom is the token a server received.
func tokenFrom(ctx context.Context) string {
	v, _ := metainfo.GetValue(ctx, TokenKey)
	return v
}

type ctxKey struct{}

type caller struct {
	claims Claims
	token  string
}

// FromContext is the verified caller of the call being served.
func FromContext(ctx context.Context) (Claims, bool) {
	c, ok := ctx.Value(ctxKey{}).(*caller)
	if !ok {
		return Claims{}, false
	}
	return c.claims, true
}

// ForwardToken returns out with the token of the call in in (a server's context)
// attached, for a router to call a node on its caller's behalf. Without a verified
// caller, out is returned unchanged.
func ForwardToken(in, out context.Context) context.Context {
	if c, ok := in.Value(ctxKey{}).(*caller); ok {
		return WithToken(out, c.token)
	}
	return out
}

// Config configures a Guard.
type Config struct {
	// Keys are the HMAC keys accepted. Required.
	Keys *KeySet
	// Limits are per-identity rate limits by role kind ("trading-system", "admin",
	// "router", "account", KindUnauthenticated per peer address; "" for any other).
	// Empty: no limits (tests); serving commands use DefaultLimits or their flags.
	Limits map[string]Limit
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// Logger receives refusals at debug level; nil means slog.Default().
	Logger *slog.Logger
}

// Guard verifies tokens, authorizes calls and applies rate limits. One Guard serves
// every call of a process; SetKeys swaps the key set (key file reload).
type Guard struct {
	keys  atomic.Pointer[KeySet]
	lim   *Limiter
	now   func() time.Time
	log   *slog.Logger
	stats struct{ unauthenticated, forbidden, limited atomic.Int64 }
}

// NewGuard returns a Guard for cfg.
func NewGuard(cfg Config) (*Guard, error) {
	if cfg.Keys == nil {
		return nil, errors.New("auth: Guard needs a key set")
	}
	g := &Guard{now: cfg.Now, log: cfg.Logger}
	if g.now == nil {
		g.now = time.Now
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	lim, err := NewLimiter(cfg.Limits, g.now)
	if err != nil {
		return nil, err
	}
	g.lim = lim
	g.keys.Store(cfg.Keys)
	return g, nil
}

// SetKeys replaces the accepted keys (rotation without restart).
func (g *Guard) SetKeys(ks *KeySet) { g.keys.Store(ks) }

// Verify checks a token's signature and expiry.
func (g *Guard) Verify(tok string) (Claims, error) { return verify(g.keys.Load(), tok, g.now()) }

// Refusals counts refused calls by kind, for metrics.
func (g *Guard) Refusals() (unauthenticated, forbidden, limited int64) {
	return g.stats.unauthenticated.Load(), g.stats.forbidden.Load(), g.stats.limited.Load()
}

// Check runs the whole policy for one call: token, rate limit, authorization. The
// error is a CopyTrade business error (UNAUTHENTICATED, RATE_LIMITED, FORBIDDEN).
func (g *Guard) Check(ctx context.Context, method string, req any) (context.Context, error) {
	tok := tokenFrom(ctx)
	c, err := g.Verify(tok)
	if tok == "" {
		if cc, ok := certClaims(ctx); ok {
			// A service caller identified by its client certificate (mutual TLS). A
			// router forwards on its behalf with a short token minted for it with the
			// active key (the nodes hold the same keys).
			c = cc
			tok, err = MintAt(g.keys.Load().Active(), cc.Identity, cc.Role, g.now().Add(time.Minute))
		}
	}
	if err != nil {
		// A refused token costs the caller too: one bucket per peer address.
		if peer := peerHost(ctx); !g.lim.AllowUnauthenticated(peer) {
			g.stats.limited.Add(1)
			return ctx, convert.BizError(ct.ErrorCode_RATE_LIMITED,
				"auth: rate limited: too many calls without a valid token from "+peer+"; retry later", nil)
		}
		g.stats.unauthenticated.Add(1)
		g.log.Debug("call refused", "method", method, "err", err)
		return ctx, convert.BizError(ct.ErrorCode_UNAUTHENTICATED, err.Error(), nil)
	}
	if !g.lim.Allow(c) {
		g.stats.limited.Add(1)
		return ctx, convert.BizError(ct.ErrorCode_RATE_LIMITED,
			"auth: rate limited: "+string(c.Role)+" "+c.Identity+" exceeded its rate; retry later", nil)
	}
	if err := Authorize(c, method, req); err != nil {
		g.stats.forbidden.Add(1)
		g.log.Debug("call refused", "method", method, "identity", c.Identity, "role", c.Role, "err", err)
		return ctx, convert.BizError(ct.ErrorCode_FORBIDDEN, err.Error(), nil)
	}
	return context.WithValue(ctx, ctxKey{}, &caller{claims: c, token: tok}), nil
}

// CertRoles are the roles a client certificate may carry (copytrade://role/<role>/<name>):
// service callers. Accounts always authenticate with tokens.
var CertRoles = []Role{RoleTradingSystem, RoleAdmin, RoleRouter}

// certClaims are the claims of a caller identified by its verified client certificate.
func certClaims(ctx context.Context) (Claims, bool) {
	id, ok := tlsconf.PeerFrom(ctx)
	if !ok || id.IsNode() || id.Name == "" || len(id.Name) > MaxIdentityLen {
		return Claims{}, false
	}
	for _, r := range CertRoles {
		if Role(id.Role) == r {
			return Claims{Identity: id.Name, Role: r}, true
		}
	}
	return Claims{}, false
}

// peerHost is the address (without port) the call came from, as Kitex saw it; "" when
// unknown (all such calls share one bucket).
func peerHost(ctx context.Context) string {
	ri := rpcinfo.GetRPCInfo(ctx)
	if ri == nil || ri.From() == nil || ri.From().Address() == nil {
		return ""
	}
	a := ri.From().Address().String()
	if h, _, err := net.SplitHostPort(a); err == nil {
		return h
	}
	return a
}

// firstArg is implemented by Kitex's generated *Args structs.
type firstArg interface{ GetFirstArgument() interface{} }

// Middleware is the Kitex server middleware that runs Check before the handler. A
// refusal is answered as a business status error (the way Kitex answers a handler's),
// so clients see the code, not a transport error.
func (g *Guard) Middleware() endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req, resp interface{}) error {
			ri := rpcinfo.GetRPCInfo(ctx)
			var method string
			if ri != nil && ri.Invocation() != nil {
				method = ri.Invocation().MethodName()
			}
			var arg any = req
			if fa, ok := req.(firstArg); ok {
				arg = fa.GetFirstArgument()
			}
			ctx, err := g.Check(ctx, method, arg)
			if err != nil {
				if be, ok := kerrors.FromBizStatusError(err); ok && ri != nil {
					if setter, ok := ri.Invocation().(rpcinfo.InvocationSetter); ok {
						setter.SetBizStatusErr(be)
						return nil
					}
				}
				return err
			}
			return next(ctx, req, resp)
		}
	}
}

// ServerOption installs the middleware on a Kitex server.
func (g *Guard) ServerOption() server.Option { return server.WithMiddleware(g.Middleware()) }
