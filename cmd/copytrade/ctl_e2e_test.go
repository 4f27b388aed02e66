package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bytedance/sonic"

	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// TestCtlAgainstDevCluster drives `copytrade ctl` against a running dev cluster:
// status over both groups, trader and follow queries, a write, a refusal decoded with
// its code, and an account token that may touch only its own follows.
func TestCtlAgainstDevCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, pop := startSeededDev(ctx, t, 3, 4)
	follow := pop.Plan.Follows[0] // trader 1's first copier
	other := pop.Plan.Follows[len(pop.Plan.Follows)-1]

	ctl := func(token string, args ...string) (int, string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		all := append([]string{"--router", c.RouterAddr(), "--token", token, "--timeout", "10s"}, args...)
		code := runCtl(ctx, all, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	admin := c.AdminToken()

	code, out, errOut := ctl(admin, "status")
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"group 1  leader g1n", "group 2  leader g2n", "slots: 0-8191 OWNED epoch 1", "slots: 8192-16383 OWNED epoch 1", "Follower", "Leader"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if code, out, _ := ctl(admin, "--topology", c.TopologyFile(), "status", "--json"); code != 0 {
		t.Errorf("status --topology: exit %d", code)
	} else {
		var rep statusReport
		if err := sonic.Unmarshal([]byte(out), &rep); err != nil || len(rep.Groups) != 2 || len(rep.Groups[0].Members) != 3 {
			t.Errorf("status --json: %v\n%s", err, out)
		}
	}

	// Drain a follower of group 1 through the router: every member reports the mark, and
	// undrain clears it. No migration holds slots frozen.
	gst := c.Nodes(1)[0].Status()
	var follower string
	for _, m := range gst.GetMembers() {
		if !m.GetLeader() {
			follower = m.GetId()
		}
	}
	drainedIn := func() bool {
		t.Helper()
		code, out, errOut := ctl(admin, "--group", "1", "group", "--json")
		if code != 0 {
			t.Fatalf("group: exit %d: %s", code, errOut)
		}
		var st ct.GroupStatusResponse
		if err := sonic.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("group --json: %v\n%s", err, out)
		}
		for _, m := range st.GetMembers() {
			if m.GetId() == follower {
				return m.GetDrained()
			}
		}
		t.Fatalf("%s not in %s", follower, out)
		return false
	}
	if code, _, errOut := ctl(admin, "--group", "1", "node", "drain", follower); code != 0 {
		t.Fatalf("node drain: exit %d: %s", code, errOut)
	}
	waitFor(t, 5*time.Second, drainedIn, func() string { return follower + " never reported drained" })
	if code, _, errOut := ctl(admin, "--group", "1", "node", "undrain", follower); code != 0 {
		t.Errorf("node undrain: exit %d: %s", code, errOut)
	}
	waitFor(t, 5*time.Second, func() bool { return !drainedIn() }, func() string { return follower + " still drained" })
	if code, _, errOut := ctl(admin, "--group", "1", "node", "drain", "nobody"); code != 1 || !strings.Contains(errOut, "INVALID_ARGUMENT") {
		t.Errorf("drain of a non-member: exit %d: %s", code, errOut)
	}
	if code, out, errOut := ctl(admin, "migrations", "--json"); code != 0 || strings.TrimSpace(out) != "[]" {
		t.Errorf("migrations: exit %d: %s%s", code, out, errOut)
	}

	code, out, errOut = ctl(admin, "trader", "get", "1", "--json")
	if code != 0 {
		t.Fatalf("trader get: exit %d: %s", code, errOut)
	}
	var tr ct.Trader
	if err := sonic.Unmarshal([]byte(out), &tr); err != nil {
		t.Fatalf("trader get --json: %v\n%s", err, out)
	}
	if tr.Trader != 1 || tr.Status != ct.TraderStatus_ACTIVE || tr.Followers != 4 {
		t.Errorf("trader 1: %+v", tr)
	}
	if code, out, _ := ctl(admin, "trader", "get", "1"); code != 0 || !strings.Contains(out, "status") || !strings.Contains(out, "ACTIVE") {
		t.Errorf("trader get (table): exit %d\n%s", code, out)
	}

	// The leaderboard through the router: 3 traders with 4 copiers each, ties by ID.
	code, out, errOut = ctl(admin, "leaderboard", "--metric", "copiers", "--k", "2", "--json")
	if code != 0 {
		t.Fatalf("leaderboard: exit %d: %s", code, errOut)
	}
	var lb ct.LeaderboardResponse
	if err := sonic.Unmarshal([]byte(out), &lb); err != nil || len(lb.Rows) != 2 || lb.Rows[0].Trader != 1 || lb.Rows[1].Trader != 2 || lb.Rows[0].Copiers != 4 {
		t.Errorf("leaderboard --json: %v\n%s", err, out)
	}
	if code, _, errOut := ctl(admin, "leaderboard", "--metric", "karma"); code == 0 || !strings.Contains(errOut, "--metric") {
		t.Errorf("unknown metric: exit %d, stderr %q", code, errOut)
	}

	code, _, errOut = ctl(admin, "trader", "get", "999999")
	if code != 1 || !strings.Contains(errOut, "UNKNOWN_TRADER (1003): ") || strings.Count(errOut, "UNKNOWN_TRADER") != 1 {
		t.Errorf("unknown trader: exit %d, stderr %q", code, errOut)
	}

	// An account token from the key file: its own follow may be paused, another's not.
	copier := strconv.FormatInt(follow.Copier, 10)
	code, tok, errOut := ctl("", "token", "--keys", c.KeyFile(), "--identity", copier, "--role", "account")
	if code != 0 {
		t.Fatalf("token: %s", errOut)
	}
	tok = strings.TrimSpace(tok)
	if code, _, errOut := ctl(tok, "follow", "pause", "1", copier); code != 0 {
		t.Fatalf("own follow pause: exit %d: %s", code, errOut)
	}
	code, _, errOut = ctl(tok, "follow", "pause", strconv.FormatInt(other.Trader, 10), strconv.FormatInt(other.Copier, 10))
	if code != 1 || !strings.Contains(errOut, "FORBIDDEN (2006)") {
		t.Errorf("cross-account pause: exit %d, stderr %q", code, errOut)
	}
	code, out, errOut = ctl(tok, "follows", copier, "--json")
	if code != 0 {
		t.Fatalf("follows: exit %d: %s", code, errOut)
	}
	var fl ct.ListCopierFollowsResponse
	if err := sonic.Unmarshal([]byte(out), &fl); err != nil || len(fl.Follows) != 1 || fl.Follows[0].Status != ct.FollowStatus_PAUSED {
		t.Errorf("follows after pause: %v\n%s", err, out)
	}
	if code, out, errOut := ctl(tok, "positions", copier); code != 0 || !strings.Contains(out, "(none)") {
		t.Errorf("positions before any fill: exit %d: %s%s", code, out, errOut)
	}
	// follow update changes only what is named: the slippage band, not the mode.
	if code, _, errOut := ctl(tok, "follow", "update", "1", copier, "--slippage-bps", "42"); code != 0 {
		t.Fatalf("follow update: exit %d: %s", code, errOut)
	}
	_, out, _ = ctl(tok, "follows", copier, "--json")
	if err := sonic.Unmarshal([]byte(out), &fl); err != nil || fl.Follows[0].Settings.SlippageBps != 42 ||
		fl.Follows[0].Settings.Mode != follow.Settings.Mode || fl.Follows[0].Settings.Allocation != follow.Settings.Allocation {
		t.Errorf("after update: %v\n%s", err, out)
	}
}
