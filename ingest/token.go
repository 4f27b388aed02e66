package ingest

import (
	"context"
	"sync"
	"time"

	"github.com/copytrade/copytrade/rpc/auth"
)

// Tokens mints the ingest's own trading-system token (identity "ingest") with key and
// re-mints it at half-life; Auth adds it to a call's context (RouterBackend.Auth).
type Tokens struct {
	Key      auth.Key
	Identity string
	TTL      time.Duration

	mu  sync.Mutex
	tok string
	exp time.Time
}

// Auth returns ctx carrying a valid token; a token that cannot be minted leaves ctx
// without one (the group refuses UNAUTHENTICATED, which the ingest waits on).
func (t *Tokens) Auth(ctx context.Context) context.Context {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if t.tok == "" || now.After(t.exp.Add(-t.TTL/2)) {
		id := t.Identity
		if id == "" {
			id = "ingest"
		}
		tok, err := auth.Mint(t.Key, id, auth.RoleTradingSystem, t.TTL)
		if err != nil {
			return ctx
		}
		t.tok, t.exp = tok, now.Add(t.TTL)
	}
	return auth.WithToken(ctx, t.tok)
}
