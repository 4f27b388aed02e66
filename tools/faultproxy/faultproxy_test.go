package faultproxy

import (
	"bufio"
	"context"
	"net"
	"testing"
	"time"
)

// echo serves line echo on loopback.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := c.Write([]byte(l)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func newProxy(t *testing.T) *Proxy {
	t.Helper()
	p, err := New("127.0.0.1:0", echo(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// roundTrip sends a line on c and waits up to wait for the echo.
func roundTrip(c net.Conn, r *bufio.Reader, wait time.Duration) (string, error) {
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return "", err
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	return r.ReadString('\n')
}

func dial(t *testing.T, p *Proxy) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

func TestForwardPartitionHeal(t *testing.T) {
	p := newProxy(t)
	c, r := dial(t, p)
	if got, err := roundTrip(c, r, 5*time.Second); err != nil || got != "ping\n" {
		t.Fatalf("healthy link: %q, %v", got, err)
	}
	p.Partition()
	if got, err := roundTrip(c, r, 200*time.Millisecond); err == nil {
		t.Fatalf("partitioned link answered %q", got)
	}
	c2, r2 := dial(t, p) // a new connection into the partition is silent too
	if got, err := roundTrip(c2, r2, 200*time.Millisecond); err == nil {
		t.Fatalf("new connection through a partition answered %q", got)
	}
	p.Heal()
	// The connections that lived through the partition are cut...
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.ReadString('\n'); err == nil {
		t.Fatal("a connection that lived through the partition was not cut")
	}
	// ...and a new one works.
	c3, r3 := dial(t, p)
	if got, err := roundTrip(c3, r3, 5*time.Second); err != nil || got != "ping\n" {
		t.Fatalf("healed link: %q, %v", got, err)
	}
	if st := p.Stats(); st.Dropped == 0 || st.Forwarded == 0 || st.Conns != 3 {
		t.Errorf("stats %+v: want drops, forwards and 3 connections", st)
	}
}

func TestOneWayLoss(t *testing.T) {
	for _, d := range []Dir{Up, Down} {
		p := newProxy(t)
		c, r := dial(t, p)
		p.Drop(d)
		if got, err := roundTrip(c, r, 200*time.Millisecond); err == nil {
			t.Fatalf("dir %d dropped, yet the echo came back: %q", d, got)
		}
		if p.Stats().Dropped == 0 {
			t.Errorf("dir %d: nothing counted as dropped", d)
		}
	}
}

func TestDelayKeepsOrder(t *testing.T) {
	p := newProxy(t)
	c, r := dial(t, p)
	p.SetDelay(50*time.Millisecond, 20*time.Millisecond)
	start := time.Now()
	for range 5 {
		if _, err := c.Write([]byte("a\nb\n")); err != nil {
			t.Fatal(err)
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i := range 10 {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		want := "a\n"
		if i%2 == 1 {
			want = "b\n"
		}
		if l != want {
			t.Fatalf("line %d: %q, want %q (order lost)", i, l, want)
		}
	}
	if el := time.Since(start); el < 100*time.Millisecond { // both directions delayed
		t.Fatalf("round trip took %s with 2×50ms of delay", el)
	}
}

func TestFlapEndsHealed(t *testing.T) {
	p := newProxy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if n := p.Flap(ctx, 20*time.Millisecond); n == 0 {
		t.Fatal("no partition while flapping")
	}
	if p.Partitioned() {
		t.Fatal("link left partitioned after flapping")
	}
	c, r := dial(t, p)
	if got, err := roundTrip(c, r, 5*time.Second); err != nil || got != "ping\n" {
		t.Fatalf("after flapping: %q, %v", got, err)
	}
}

// tagged serves line echo with tag before each line, to tell targets apart.
func tagged(t *testing.T, tag string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := c.Write([]byte(tag + l)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestSetTarget: without a target a connection is closed at once; SetTarget sends new
// connections to the new target and cuts the ones to the old target.
func TestSetTarget(t *testing.T) {
	p, err := New("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	c, r := dial(t, p)
	if got, err := roundTrip(c, r, 5*time.Second); err == nil {
		t.Fatalf("a proxy without a target answered %q", got)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("a proxy without a target held the connection open: %v", err)
	}

	p.SetTarget(tagged(t, "a:"))
	if p.Target() == "" {
		t.Fatal("Target is empty after SetTarget")
	}
	a, ra := dial(t, p)
	if got, err := roundTrip(a, ra, 5*time.Second); err != nil || got != "a:ping\n" {
		t.Fatalf("first target: %q, %v", got, err)
	}

	p.SetTarget(tagged(t, "b:"))
	if got, err := roundTrip(a, ra, 5*time.Second); err == nil {
		t.Fatalf("a connection to the old target lived on: %q", got)
	}
	b, rb := dial(t, p)
	if got, err := roundTrip(b, rb, 5*time.Second); err != nil || got != "b:ping\n" {
		t.Fatalf("second target: %q, %v", got, err)
	}

	p.SetTarget("")
	if got, err := roundTrip(b, rb, 5*time.Second); err == nil {
		t.Fatalf("a connection lived on after the target went away: %q", got)
	}
}
