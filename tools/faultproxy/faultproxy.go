// Package faultproxy is a TCP proxy a test controls, to put network faults on one link
// between real processes on loopback: a partition (both directions silent), one-way
// loss (one direction silent), a delay with jitter, and a flapping link. One Proxy is
// one directed link: the client dials Addr, the proxy dials the target.
//
// Faults are silences, as on a real network: bytes are read and dropped, connections
// are not closed, so the peers find out by their own timeouts. Healing a fault cuts the
// connections that lived through it (their byte streams lost data mid-message), so the
// peers reconnect on a clean stream at once. A delay keeps the byte order of each
// direction.
package faultproxy

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Dir is a direction of a link.
type Dir uint8

const (
	// Up is client → target (requests).
	Up Dir = iota
	// Down is target → client (responses).
	Down
)

// Stats counts bytes and connections since the proxy started.
type Stats struct {
	Conns     int64
	Forwarded int64 // bytes delivered
	Dropped   int64 // bytes read and dropped by a fault
}

// Proxy forwards connections from Addr to a target, with faults.
type Proxy struct {
	ln net.Listener

	mu     sync.Mutex
	target string // "": no target, connections are closed at once
	drop   [2]bool
	delay  time.Duration
	jitter time.Duration
	conns  map[*link]struct{}
	closed bool

	conns64, fwd, dropped atomic.Int64
	wg                    sync.WaitGroup
}

// New listens on listen ("127.0.0.1:0" for any free port) and forwards to target. An
// empty target is one not known yet (SetTarget sets it): until then every connection
// is closed as soon as it is accepted, as a refused one would be.
func New(listen, target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen %s: %w", listen, err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[*link]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the address clients dial instead of the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Target is the address the proxy forwards to ("" if none).
func (p *Proxy) Target() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.target
}

// SetTarget makes new connections go to target and cuts the ones to the old target:
// a process behind the proxy restarted on another port, or is down (""), so clients
// never reach whatever listens on a port it released. Faults stay as they are.
func (p *Proxy) SetTarget(target string) {
	p.mu.Lock()
	if target == p.target {
		p.mu.Unlock()
		return
	}
	p.target = target
	cut := make([]*link, 0, len(p.conns))
	for l := range p.conns {
		cut = append(cut, l)
	}
	p.mu.Unlock()
	for _, l := range cut {
		l.close()
	}
}

// Stats returns the counters.
func (p *Proxy) Stats() Stats {
	return Stats{Conns: p.conns64.Load(), Forwarded: p.fwd.Load(), Dropped: p.dropped.Load()}
}

// Partition silences both directions.
func (p *Proxy) Partition() { p.set(true, true) }

// Drop silences one direction (one-way loss) and leaves the other as it is.
func (p *Proxy) Drop(d Dir) {
	p.mu.Lock()
	up, down := p.drop[Up], p.drop[Down]
	p.mu.Unlock()
	if d == Up {
		up = true
	} else {
		down = true
	}
	p.set(up, down)
}

// Heal ends every silence; connections that lived through one are cut.
func (p *Proxy) Heal() { p.set(false, false) }

// Partitioned reports whether either direction is silenced.
func (p *Proxy) Partitioned() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.drop[Up] || p.drop[Down]
}

func (p *Proxy) set(up, down bool) {
	p.mu.Lock()
	was := p.drop[Up] || p.drop[Down]
	p.drop = [2]bool{up, down}
	var cut []*link
	if was && !up && !down {
		for l := range p.conns {
			cut = append(cut, l)
		}
	}
	p.mu.Unlock()
	for _, l := range cut {
		l.close()
	}
}

// SetDelay delays every chunk of both directions by d plus a uniform random part of
// jitter (0: none). Order within a direction is kept.
func (p *Proxy) SetDelay(d, jitter time.Duration) {
	p.mu.Lock()
	p.delay, p.jitter = d, jitter
	p.mu.Unlock()
}

// Flap partitions and heals the link every period until ctx is done; it leaves the
// link healed and returns how many partitions it made.
func (p *Proxy) Flap(ctx context.Context, period time.Duration) int {
	n := 0
	t := time.NewTicker(period)
	defer t.Stop()
	defer p.Heal()
	for {
		select {
		case <-ctx.Done():
			return n
		case <-t.C:
		}
		if p.Partitioned() {
			p.Heal()
		} else {
			p.Partition()
			n++
		}
	}
}

// Close stops accepting and cuts every connection.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	ls := make([]*link, 0, len(p.conns))
	for l := range p.conns {
		ls = append(ls, l)
	}
	p.mu.Unlock()
	err := p.ln.Close()
	for _, l := range ls {
		l.close()
	}
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.conns64.Add(1)
		p.wg.Add(1)
		go p.serve(c)
	}
}

// link is one proxied connection.
type link struct {
	mu             sync.Mutex
	client, server net.Conn
	closed         bool
}

func (l *link) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	_ = l.client.Close()
	if l.server != nil {
		_ = l.server.Close()
	}
}

// setServer attaches the target's side; false (and s closed) if the link was cut
// meanwhile.
func (l *link) setServer(s net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		_ = s.Close()
		return false
	}
	l.server = s
	return true
}

func (p *Proxy) serve(c net.Conn) {
	defer p.wg.Done()
	l := &link{client: c}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = c.Close()
		return
	}
	p.conns[l] = struct{}{}
	partitioned, target := p.drop[Up], p.target
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, l)
		p.mu.Unlock()
		l.close()
	}()
	if partitioned {
		// A SYN into a partition: the client believes it connected, nothing answers.
		// Hold the connection silent until the link heals (then it is cut). Its bytes
		// are drops like any other: a test that set the fault before the proxy accepted
		// the connection counts them the same.
		_, _ = io.Copy(dropCounter{&p.dropped}, c)
		return
	}
	if target == "" {
		return // nothing behind the proxy: closed, as refused
	}
	s, err := net.DialTimeout("tcp", target, 2*time.Second)
	if err != nil {
		return
	}
	p.mu.Lock()
	stale := p.target != target // retargeted while dialling
	p.mu.Unlock()
	if stale || !l.setServer(s) {
		_ = s.Close()
		return
	}
	done := make(chan struct{}, 2)
	go func() { p.pump(Up, c, s); done <- struct{}{} }()
	go func() { p.pump(Down, s, c); done <- struct{}{} }()
	<-done
	l.close()
	<-done
}

// dropCounter discards what is written to it and counts it as dropped.
type dropCounter struct{ n *atomic.Int64 }

func (d dropCounter) Write(b []byte) (int, error) {
	d.n.Add(int64(len(b)))
	return len(b), nil
}

type chunk struct {
	b  []byte
	at time.Time
}

// pump copies src to dst in direction d, applying the proxy's faults to each chunk.
func (p *Proxy) pump(d Dir, src, dst net.Conn) {
	q := make(chan chunk, 256)
	go func() {
		defer close(q)
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				p.mu.Lock()
				drop, delay, jitter := p.drop[d], p.delay, p.jitter
				p.mu.Unlock()
				if drop {
					p.dropped.Add(int64(n))
				} else {
					if jitter > 0 {
						delay += time.Duration(rand.Int64N(int64(jitter)))
					}
					// A copy of the bytes read: a heartbeat costs its size, not 32 KB.
					q <- chunk{b: append([]byte(nil), buf[:n]...), at: time.Now().Add(delay)}
				}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range q {
		if w := time.Until(c.at); w > 0 {
			time.Sleep(w)
		}
		p.mu.Lock()
		drop := p.drop[d]
		p.mu.Unlock()
		if drop {
			p.dropped.Add(int64(len(c.b)))
			continue
		}
		if _, err := dst.Write(c.b); err != nil {
			_ = src.Close()
			for range q { // unblock the reader
			}
			return
		}
		p.fwd.Add(int64(len(c.b)))
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}
