package auth

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestRefusalsMetered: the guard's refusals are exported by reason, every reason from 0.
func TestRefusalsMetered(t *testing.T) {
	k, err := GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := NewKeySet(k)
	g, err := NewGuard(Config{Keys: ks})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(g.Collector())
	expect := func(un, fb, lim int) {
		t.Helper()
		want := `
# HELP copytrade_auth_refusals_total Calls refused by the token guard, by reason (unauthenticated, forbidden, rate_limited).
# TYPE copytrade_auth_refusals_total counter
copytrade_auth_refusals_total{reason="forbidden"} ` + strconv.Itoa(fb) + `
copytrade_auth_refusals_total{reason="rate_limited"} ` + strconv.Itoa(lim) + `
copytrade_auth_refusals_total{reason="unauthenticated"} ` + strconv.Itoa(un) + `
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "copytrade_auth_refusals_total"); err != nil {
			t.Fatal(err)
		}
	}
	expect(0, 0, 0)
	if _, err := g.Check(context.Background(), "GetTrader", nil); err == nil {
		t.Fatal("no token accepted")
	}
	tok, _ := Mint(k, "42", AccountRole(42), time.Minute)
	if _, err := g.Check(WithToken(context.Background(), tok), "Noop", nil); err == nil {
		t.Fatal("account called an admin method")
	}
	expect(1, 1, 0)
}
