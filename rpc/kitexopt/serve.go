package kitexopt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/cloudwego/kitex/server"
)

// ErrStopTimeout means a server's Run did not return after its listener and every
// connection it accepted were closed: a Kitex bug or a handler that ignores its context.
var ErrStopTimeout = errors.New("kitexopt: server did not stop")

// runExitBound is how long Stop waits for Run to return once the listener and every
// accepted connection are closed (it returns at once in practice).
const runExitBound = 10 * time.Second

// Listener is a TCP listener that remembers the connections it accepted, so that a
// stop can close every one of them: Kitex's Go-net transport leaves idle pooled
// connections open after Stop, and a stopped (or "crashed") server must not answer a
// call on them.
type Listener struct {
	net.Listener

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool // closeConns ran: connections accepted later are closed at once
}

// Listen opens a tracked TCP listener on addr (host:port; port 0 picks a free port).
func Listen(addr string) (*Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &Listener{Listener: ln, conns: map[net.Conn]struct{}{}}, nil
}

// Accept accepts a connection and tracks it until it is closed.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, l: l}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		_ = c.Close()
		return nil, net.ErrClosed
	}
	l.conns[tc] = struct{}{}
	return tc, nil
}

// closeConns closes the listener and every connection it accepted that is still open.
func (l *Listener) closeConns() {
	_ = l.Listener.Close() // a second close returns net.ErrClosed: nothing else is touched
	l.mu.Lock()
	l.closed = true
	conns := l.conns
	l.conns = map[net.Conn]struct{}{}
	l.mu.Unlock()
	for c := range conns {
		_ = c.(*trackedConn).Conn.Close()
	}
}

// Open is the number of accepted connections not yet closed.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

type trackedConn struct {
	net.Conn
	l    *Listener
	once sync.Once
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return err
}

// Running is a Kitex server serving on its own Listener in the background. Stop and
// Kill are the only ways it ends (servers built with Server ignore signals), and
// both are safe at any time after Serve, even before Kitex's Run has built its
// transport, and more than once.
type Running struct {
	svr  server.Server
	ln   *Listener
	done chan error // Run's result

	once sync.Once
	err  error
}

// Serve runs svr, built with Server(ln, ...), in the background.
func Serve(svr server.Server, ln *Listener) *Running {
	r := &Running{svr: svr, ln: ln, done: make(chan error, 1)}
	go func() { r.done <- svr.Run() }()
	return r
}

// Addr is the address the server listens on.
func (r *Running) Addr() net.Addr { return r.ln.Addr() }

// Stop stops the server gracefully: no new connection is accepted, calls in flight get
// the server's exit wait to finish, then every connection still open is closed and
// Stop waits for Run to return. A Run that started after Stop ends at once (its
// listener is closed). The exit wait running out with idle pooled connections open
// is a clean stop.
func (r *Running) Stop() error { return r.stop(false) }

// Kill stops the server as a crash would: the listener and every accepted connection
// are closed first, so no call in flight is answered and no pooled connection can
// carry one more call, then Kitex is stopped and Run waited for.
func (r *Running) Kill() error { return r.stop(true) }

func (r *Running) stop(crash bool) error {
	r.once.Do(func() {
		if crash {
			r.ln.closeConns()
		}
		err := r.svr.Stop()
		if errors.Is(err, context.DeadlineExceeded) {
			err = nil // the exit wait ran out on idle connections: closed below
		}
		r.ln.closeConns()
		select {
		case runErr := <-r.done:
			if err == nil && runErr != nil && !errors.Is(runErr, net.ErrClosed) {
				err = runErr
			}
		case <-time.After(runExitBound):
			err = fmt.Errorf("%w: Run still running %s after its listener closed", ErrStopTimeout, runExitBound)
		}
		r.err = err
	})
	return r.err
}
