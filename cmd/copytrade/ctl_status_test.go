package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bytedance/sonic"

	"github.com/copytrade/copytrade/tools/exchsim"
	"github.com/copytrade/copytrade/tools/testcluster"
)

// TestCtlStatusExitCodes: `ctl status` exits 0 when every group has a leader and every
// member answers, 1 when a member is unreachable or a group has no leader, 2 when
// nothing answers — and then prints no groups (not one phantom per probed group ID).
// --json carries the same verdict.
func TestCtlStatusExitCodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	c := testcluster.New(t, testcluster.Options{Groups: 1, Mode: exchsim.Strict})
	routerAddr := c.Router.Addr().String()
	status := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		all := append([]string{"--timeout", "5s"}, args...)
		code := runCtl(context.Background(), append(all, "status"), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	jsonStatus := func(args ...string) (int, statusReport) {
		t.Helper()
		code, out, errOut := status(append(args, "--json")...)
		var rep statusReport
		if out != "" {
			if err := sonic.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("status --json: %v\n%s%s", err, out, errOut)
			}
		}
		return code, rep
	}

	// Healthy: exit 0, in both renderings. (Polled: on a loaded machine the group may
	// be between leaders at any one instant, which status rightly calls degraded.)
	var code int
	var out, errOut string
	testcluster.WaitFor(t, 20*time.Second, 100*time.Millisecond, "status healthy", func() bool {
		code, out, errOut = status("--router", routerAddr)
		return code == 0 && strings.Contains(out, "health: healthy")
	})
	testcluster.WaitFor(t, 20*time.Second, 100*time.Millisecond, "status --json healthy", func() bool {
		code, rep := jsonStatus("--router", routerAddr)
		return code == 0 && rep.Health == healthHealthy && len(rep.Groups) == 1 && len(rep.Groups[0].Members) == 3
	})

	// No router answers: exit 2 and no groups at all.
	dead := testcluster.DeadAddr(t)
	code, out, errOut = status("--router", dead)
	if code != 2 || strings.Contains(out, "group") || !strings.Contains(errOut, "unreachable") {
		t.Fatalf("dead router: exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	if code, rep := jsonStatus("--router", dead); code != 2 || len(rep.Groups) != 0 {
		t.Fatalf("dead router --json: exit %d %+v", code, rep)
	}

	// A follower down: degraded, exit 1, naming it.
	leader := c.Leader(1)
	follower := (leader + 1) % 3
	c.Kill(1, follower)
	code, rep := jsonStatus("--router", routerAddr)
	if code != 1 || rep.Health != healthDegraded || !strings.Contains(strings.Join(rep.Problems, ";"), "unreachable") {
		t.Fatalf("follower down: exit %d %+v", code, rep)
	}
	if code, out, _ := status("--router", routerAddr); code != 1 || !strings.Contains(out, "health: degraded") {
		t.Fatalf("follower down (table): exit %d\n%s", code, out)
	}

	// The leader down too: the last member answers but the group has no leader: exit 1.
	c.Kill(1, leader)
	testcluster.WaitFor(t, 20*time.Second, 100*time.Millisecond, "status reports no leader", func() bool {
		code, rep := jsonStatus("--router", routerAddr)
		return code == 1 && strings.Contains(strings.Join(rep.Problems, ";"), "group 1 has no leader")
	})

	// Every member down, asked straight from the topology: unreachable, exit 2.
	c.Kill(1, 3-leader-follower)
	topo := filepath.Join(t.TempDir(), "topology.json")
	b, err := sonic.Marshal(c.Topo)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(topo, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, rep := jsonStatus("--topology", topo); code != 2 || rep.Health != healthUnreachable {
		t.Fatalf("every member down: exit %d %+v", code, rep)
	}
}
