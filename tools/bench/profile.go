package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// CPU profiles under load (Config.ProfileDir): while the measured window of a phase
// whose name starts with Config.ProfilePhases runs, the bench takes a CPU profile of
// group 1's leader, one follower, the router and exchsim from their
// /debug/pprof/profile and writes them as <dir>/<phase>-<role>.pprof. The profiler's
// own cost (a SIGPROF 100 times a second) is then part of the CPU figures of that
// window: compare CPU per order from runs without profiling.

// pprofTarget is a process to profile and where it serves pprof.
type pprofTarget struct{ role, addr string }

func (r *runner) profileTargets(leaderID string) []pprofTarget {
	var out []pprofTarget
	follower := false
	for _, n := range r.cluster.Groups[0].Nodes {
		switch {
		case n.PprofAddr == "":
		case n.ID == leaderID:
			out = append(out, pprofTarget{RoleLeader, n.PprofAddr})
		case !follower:
			follower = true
			out = append(out, pprofTarget{RoleFollower, n.PprofAddr})
		}
	}
	if a := r.cluster.RouterPprof; a != "" {
		out = append(out, pprofTarget{RoleRouter, a})
	}
	if a := r.cluster.ExchsimPprof; a != "" {
		out = append(out, pprofTarget{RoleExchsim, a})
	}
	return out
}

// profilePhase starts the profiles of phase name over the window [from, from+d) and
// returns a wait for them; nil when the phase is not profiled.
func (r *runner) profilePhase(ctx context.Context, name string, from time.Time, d time.Duration) (wait func()) {
	if r.cfg.ProfileDir == "" || !strings.HasPrefix(name, r.cfg.ProfilePhases) {
		return nil
	}
	secs := int(d / time.Second)
	if secs < 1 {
		return nil
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-time.After(time.Until(from)):
		case <-ctx.Done():
			return
		}
		leader := ""
		if st, err := r.groupStatus(ctx, r.cluster.Groups[0].ID); err == nil {
			leader = st.GetLeaderId()
		}
		base := strings.NewReplacer(" ", "-", "#", "", "/", "-").Replace(name)
		var each sync.WaitGroup
		for _, t := range r.profileTargets(leader) {
			each.Add(1)
			go func() {
				defer each.Done()
				path := filepath.Join(r.cfg.ProfileDir, base+"-"+t.role+".pprof")
				if err := fetchProfile(ctx, t.addr, secs, path); err != nil {
					r.log.Warn("profile", "process", t.role, "err", err)
				}
			}()
		}
		each.Wait()
	}()
	return wg.Wait
}

// fetchProfile writes a CPU profile of secs seconds from the pprof server at addr.
func fetchProfile(ctx context.Context, addr string, secs int, path string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs+30)*time.Second)
	defer cancel()
	u := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("bench: profile %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bench: profile %s: %s", u, resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("bench: profile %s: %w", u, err)
	}
	return f.Close()
}
