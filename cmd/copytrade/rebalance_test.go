package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRebalanceCommand runs `copytrade rebalance` against a dev cluster: a move, a rerun
// that finds it done, an abort that is refused because the move committed, and usage
// errors.
func TestRebalanceCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, _ := startSeededDev(ctx, t, 3, 4)
	state := filepath.Join(t.TempDir(), "state.json")
	rebalance := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		all := append([]string{"--router", c.RouterAddr(), "--token", c.AdminToken(), "--state", state, "--log-level", "warn"}, args...)
		code := runRebalance(ctx, all, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, out, errOut := rebalance("--slots", "0-99,200", "--from", "1", "--to", "2")
	if code != 0 {
		t.Fatalf("rebalance: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"frozen   group 1", "exported group 1", "imported group 2", "released group 1", "rebalance: moved migration=", "epoch=2 slots=0-99,200 from=1 to=2"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code, out, errOut := rebalance("--slots", "0-99,200", "--from", "1", "--to", "2"); code != 0 || !strings.Contains(out, "rebalance: moved") || strings.Contains(out, "frozen   group") {
		t.Errorf("rerun: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut := rebalance("--slots", "0-99,200", "--from", "1", "--to", "2", "--abort"); code != 0 || !strings.Contains(out, "abort was refused") {
		t.Errorf("abort after the move: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := rebalance("--slots", "0-9", "--from", "1", "--to", "1"); code != 2 || !strings.Contains(errOut, "the same group") {
		t.Errorf("same group: exit %d: %s", code, errOut)
	}
	if code, _, _ := rebalance("--from", "1", "--to", "2"); code != 2 {
		t.Errorf("no slots: exit %d", code)
	}
}
