package bench

import (
	"log/slog"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// TestSupervisorNoOrphans: children (and what they fork) are gone after StopAll, both
// when they stop on SIGTERM and when they ignore it; after a panic the deferred
// StopAll still runs.
func TestSupervisorNoOrphans(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	s := NewSupervisor(slog.New(slog.DiscardHandler), 300*time.Millisecond)
	polite, err := s.Start("polite", sh, []string{"-c", "sleep 60 & wait"}, "")
	if err != nil {
		t.Fatal(err)
	}
	stubborn, err := s.Start("stubborn", sh, []string{"-c", "trap '' TERM; sleep 60 & wait; sleep 60"}, "")
	if err != nil {
		t.Fatal(err)
	}
	pids := s.Pids()
	func() {
		defer func() { _ = recover() }()
		defer s.StopAll()
		panic("boom")
	}()
	for _, p := range []*Proc{polite, stubborn} {
		if !p.Exited() {
			t.Errorf("%s still running", p.Name)
		}
	}
	for _, pid := range pids {
		if ProcessAlive(pid) {
			t.Errorf("pid %d alive after StopAll", pid)
		}
	}
	// The grandchildren (sleep) were in the same process groups: gone too.
	for _, pid := range pids {
		var left []byte
		for try := 0; try < 40; try++ {
			left, _ = exec.Command("pgrep", "-g", itoa(pid), "-r", "R,S,D,T").Output()
			if len(left) == 0 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if len(left) > 0 {
			t.Errorf("process group %d still has live members: %s", pid, left)
		}
	}
	if _, err := s.Start("late", sh, []string{"-c", "true"}, ""); err == nil {
		t.Error("Start after StopAll succeeded")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
