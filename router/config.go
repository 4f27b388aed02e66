package router

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/copytrade/copytrade/rpc/auth"
	"github.com/copytrade/copytrade/rpc/tlsconf"
)

// Config configures a Router. Start from DefaultConfig.
type Config struct {
	// ListenAddr is the host:port the CopyTrade service is served on (port 0 picks one).
	ListenAddr string
	// HTTPAddr serves /metrics; empty: not served.
	HTTPAddr string
	// PprofAddr serves /debug/pprof/ on a listener of its own; empty (the default): no
	// profiles.
	PprofAddr string
	// TLS, when set, is the router's certificate (role router) and the deployment's CA:
	// it serves CopyTrade over mutual TLS and dials the nodes over mutual TLS, accepting
	// a member only if its certificate names the node the topology lists at that
	// address (tls.go).
	TLS *tlsconf.Store
	// Insecure allows serving without TLS on a non-loopback ListenAddr (development).
	Insecure bool
	// Guard checks every incoming call (token, rate limit, authorization); nil serves
	// without authentication (tests of routing only — never in production).
	Guard *auth.Guard
	// Key signs the router's own short-lived token (role router) for the calls it makes
	// by itself: GetSlotOwnership and GroupStatus. Forwarded calls carry their caller's
	// token. Zero: no token (nodes without authentication).
	Key auth.Key
	// RouterTokenTTL is the lifetime of the router's own tokens; they are re-minted at
	// half-life.
	RouterTokenTTL time.Duration

	// RequestTimeout is a forwarded call's budget when the caller's context has no
	// deadline. With one, the caller's deadline bounds every retry.
	RequestTimeout time.Duration
	// ConnectTimeout bounds dialling a member.
	ConnectTimeout time.Duration
	// RefreshInterval is how often the slot map is relearned from every group even when
	// nothing pointed at a change.
	RefreshInterval time.Duration
	// RefreshTimeout bounds one relearning of the slot map.
	RefreshTimeout time.Duration
	// BackoffBase is the first wait before retrying MOVING, a leaderless group or a dead
	// member; each retry doubles it, up to BackoffMax, with full jitter.
	BackoffBase time.Duration
	// BackoffMax caps the retry wait.
	BackoffMax time.Duration
	// MaxAttempts bounds the attempts of one forwarded call (leader hops, MOVED, MOVING
	// and member retries together), inside the deadline.
	MaxAttempts int
	// MemberDownTimeout is how long a member whose connection failed is tried last.
	MemberDownTimeout time.Duration

	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns LAN settings; the caller sets ListenAddr, Guard and Key.
func DefaultConfig() Config {
	return Config{
		ListenAddr:        "127.0.0.1:7300",
		RouterTokenTTL:    10 * time.Minute,
		RequestTimeout:    5 * time.Second,
		ConnectTimeout:    200 * time.Millisecond,
		RefreshInterval:   10 * time.Second,
		RefreshTimeout:    2 * time.Second,
		BackoffBase:       5 * time.Millisecond,
		BackoffMax:        200 * time.Millisecond,
		MaxAttempts:       64,
		MemberDownTimeout: 2 * time.Second,
	}
}

// Validate returns nil or an error listing every problem as a plain sentence.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if _, _, err := net.SplitHostPort(c.ListenAddr); err != nil {
		bad("ListenAddr must be host:port, got %q.", c.ListenAddr)
	} else if c.TLS == nil && !c.Insecure && !loopback(c.ListenAddr) {
		bad("ListenAddr %s is not a loopback address: serving there needs TLS (or Insecure, for development).", c.ListenAddr)
	}
	if c.HTTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			bad("HTTPAddr must be host:port, got %q.", c.HTTPAddr)
		}
	}
	if c.PprofAddr != "" {
		if _, _, err := net.SplitHostPort(c.PprofAddr); err != nil {
			bad("PprofAddr must be host:port, got %q.", c.PprofAddr)
		}
	}
	if c.Key.ID != "" && c.RouterTokenTTL < time.Second {
		bad("RouterTokenTTL must be >= 1s, got %s.", c.RouterTokenTTL)
	}
	if c.RequestTimeout <= 0 || c.ConnectTimeout <= 0 {
		bad("RequestTimeout and ConnectTimeout must be > 0.")
	}
	if c.RefreshInterval <= 0 || c.RefreshTimeout <= 0 {
		bad("RefreshInterval and RefreshTimeout must be > 0.")
	}
	if c.BackoffBase <= 0 || c.BackoffMax < c.BackoffBase {
		bad("BackoffBase must be > 0 and BackoffMax >= BackoffBase, got %s and %s.", c.BackoffBase, c.BackoffMax)
	}
	if c.MaxAttempts < 1 || c.MaxAttempts > 10000 {
		bad("MaxAttempts must be in 1..10000, got %d.", c.MaxAttempts)
	}
	if c.MemberDownTimeout < 0 {
		bad("MemberDownTimeout must be >= 0.")
	}
	return errors.Join(errs...)
}
