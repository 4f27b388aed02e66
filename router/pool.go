package router

import (
	"fmt"
	"sync"
	"time"

	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
	"github.com/copytrade/copytrade/rpc/kitexopt"
)

// pool holds one Kitex client per member RPC address, created on first use. Each Kitex
// client keeps its own connection pool to its one address.
type pool struct {
	connectTimeout time.Duration

	mu      sync.Mutex
	clients map[string]copytrade.Client
	conns   []*kitexopt.Conns    // every client's connections, closed by close
	closed  bool                 // close ran: get refuses
	down    map[string]time.Time // address → when its connection last failed
}

func newPool(connectTimeout time.Duration) *pool {
	return &pool{connectTimeout: connectTimeout, clients: map[string]copytrade.Client{}, down: map[string]time.Time{}}
}

func (p *pool) get(addr string) (copytrade.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.clients[addr]; ok {
		return c, nil
	}
	if p.closed {
		return nil, fmt.Errorf("router: client for %s: %w", addr, ErrClosed)
	}
	conns := kitexopt.NewConns("copytrade")
	c, err := copytrade.NewClient("copytrade", append(kitexopt.Client(p.connectTimeout, addr), conns.Option())...)
	if err != nil {
		_ = conns.Close()
		return nil, fmt.Errorf("router: client for %s: %w", addr, err)
	}
	p.clients[addr] = c
	p.conns = append(p.conns, conns)
	return c, nil
}

// close closes every client's connections; get fails afterwards.
func (p *pool) close() {
	p.mu.Lock()
	conns := p.conns
	p.conns, p.clients, p.closed = nil, map[string]copytrade.Client{}, true
	p.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

func (p *pool) markDown(addr string) {
	p.mu.Lock()
	p.down[addr] = time.Now()
	p.mu.Unlock()
}

func (p *pool) markUp(addr string) {
	p.mu.Lock()
	delete(p.down, addr)
	p.mu.Unlock()
}

// isDown reports whether addr failed to connect within the last d.
func (p *pool) isDown(addr string, d time.Duration) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.down[addr]
	return ok && time.Since(t) < d
}
