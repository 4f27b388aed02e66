// Package loopport reserves loopback TCP ports for processes that must know their
// addresses before they start (a raft group's members name each other's addresses in
// their configuration, so a member cannot simply bind port 0 and report it).
//
// The ports come from below the kernel's ephemeral range
// (/proc/sys/net/ipv4/ip_local_port_range): the kernel never hands those out by itself,
// neither to a listener on port 0 nor to an outgoing connection, so between the
// reservation and the child's bind only another process that picks the same number on
// purpose can take one. Picking "a free port" by listening on port 0 and closing it, as
// this code did before, hands the child a port from the very range every connection in
// the machine draws from; under a loaded test suite that lost the race a few times in a
// hundred runs ("bind: address already in use").
package loopport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// ErrNoPorts: not enough free ports below the ephemeral range.
var ErrNoPorts = errors.New("loopport: no free port below the ephemeral range")

// lowest is the bottom of the range ports are drawn from (above the well-known and
// most registered service ports).
const lowest = 10000

// Reserve returns n distinct free 127.0.0.1 addresses. Each was bound once (all at the
// same time, so they are distinct and were free) and released for the caller's
// children to bind.
func Reserve(n int) ([]string, error) {
	hi := ephemeralLow()
	if hi-lowest < 2*n {
		return nil, fmt.Errorf("%w: the ephemeral range starts at %d", ErrNoPorts, hi)
	}
	lns := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	out := make([]string, 0, n)
	for tries := 0; len(out) < n; tries++ {
		if tries > 100*n {
			return nil, fmt.Errorf("%w: %d of %d found", ErrNoPorts, len(out), n)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(lowest+rand.IntN(hi-lowest)))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue // taken: draw again
		}
		lns = append(lns, l)
		out = append(out, addr)
	}
	return out, nil
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's default,
// 32768, where the file cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if lo, err := strconv.Atoi(f[0]); err == nil && lo > lowest {
				return lo
			}
		}
	}
	return 32768
}

// Dead is a loopback address where nothing listens for as long as t runs: a
// socket bound there that never listens (and without SO_REUSEADDR, so no one
// else can bind the port) makes every connection attempt refused. (A port
// picked free and released could be taken by another process meanwhile.)
func Dead(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
}
