package loopport

import (
	"net"
	"strconv"
	"testing"
)

// TestReserveBelowEphemeralRange: the addresses are distinct loopback ports below the
// ephemeral range, and each can be bound once Reserve returns.
func TestReserveBelowEphemeralRange(t *testing.T) {
	const n = 40
	addrs, err := Reserve(n)
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != n {
		t.Fatalf("%d addresses, want %d", len(addrs), n)
	}
	hi := ephemeralLow()
	seen := map[string]bool{}
	for _, a := range addrs {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := strconv.Atoi(port)
		if host != "127.0.0.1" || p < lowest || p >= hi {
			t.Errorf("%s: want 127.0.0.1 and a port in [%d, %d)", a, lowest, hi)
		}
		if seen[a] {
			t.Errorf("%s reserved twice", a)
		}
		seen[a] = true
		l, err := net.Listen("tcp", a)
		if err != nil {
			t.Errorf("%s cannot be bound after Reserve: %v", a, err)
			continue
		}
		l.Close()
	}
}
